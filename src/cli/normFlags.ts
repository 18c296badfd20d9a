// The command-line form of a NormSpec: --norm <kind>, its dedicated flags --threshold (fbn) and
// --groups (gn, gnact, evos0), and --set key=value for any other option of the kind. Parsed
// once, into the NormSpec a run's config.json stores.
import type { Command } from 'commander';
import { parseNormSettings, takesOption, normOptionNames, type NormKind } from '../nn/norm/spec.js';
import type { NormSpec } from '../models/norm.js';

/** Flags with a dedicated option, and the NormSpec key each sets. */
const DEDICATED = ['threshold', 'groups'] as const;

/** Collects repeated `--set key=value` flags. */
export function collectSets(v: string, acc: string[]): string[] {
  return [...acc, v];
}

/**
 * The NormSpec of the parsed flags `o` of `cmd` (undefined when `--norm` is absent and
 * optional). As before --set existed: a kind that takes a threshold or groups gets the value of
 * --threshold / --groups (their defaults included), and a kind with no option set is stored as
 * the bare kind ('bn'), so config.json of a run without --set is what it always was.
 * `redirect` maps option keys that a command sets through another flag to the message for
 * `--set key=…` (train's bnWeight belongs to --bn-weight, which also sets the parameter groups).
 * Throws a RangeError naming the flag, the kind, the allowed keys (and the closest one to an
 * unknown key), or the expected and actual value.
 */
export function normSpecFromFlags(o: Record<string, unknown>, cmd: Command, redirect: Record<string, string> = {}): NormSpec | undefined {
  const kind = o.norm as NormKind | undefined;
  const sets = (o.set as string[] | undefined) ?? [];
  for (const s of sets) {
    const key = s.slice(0, Math.max(0, s.indexOf('='))).trim();
    if (Object.hasOwn(redirect, key)) throw new RangeError(`--set ${s}: ${redirect[key]}`);
  }
  const given = (key: string): boolean => cmd.getOptionValueSource(key) === 'cli';
  if (kind === undefined) {
    if (sets.length > 0) throw new RangeError(`--set ${sets[0]}: --set sets an option of the --norm layer; pass --norm <kind> too`);
    for (const key of DEDICATED) if (given(key)) throw new RangeError(`--${key} sets an option of the --norm layer; pass --norm <kind> too`);
    return undefined;
  }
  const base: Record<string, unknown> = {};
  for (const key of DEDICATED) {
    if (!takesOption(kind, key)) {
      if (given(key)) {
        const allowed = normOptionNames(kind);
        throw new RangeError(`--${key} ${String(o[key])}: --norm ${kind} takes no ${key} (its keys: ${allowed.length === 0 ? 'none' : allowed.join(', ')})`);
      }
      continue;
    }
    const set = sets.find((s) => s.slice(0, Math.max(0, s.indexOf('='))).trim() === key);
    if (given(key) && set !== undefined) throw new RangeError(`--${key} ${String(o[key])} and --set ${set} both set the ${key} of --norm ${kind}: give one`);
    base[key] = o[key];
  }
  const spec = parseNormSettings(kind, sets, base);
  return Object.keys(spec).length === 1 ? spec.kind : spec;
}
