// NormSpec: the typed, discriminated configuration of a normalization layer, one member per kind
// of nn.norm with exactly the options that kind uses. Configurations from outside the type
// system (JSON, command lines) are checked against the same option table at runtime:
// checkNormSpec for objects, parseNormSettings for `key=value` strings.
import type { NormActivation } from '../../ops/more_norms.js';

export const NORM_KINDS = [
  'bn', 'fbn', 'brn', 'gn', 'ln', 'in', 'none',
  'lazybn', 'frozenbn', 'rms', 'ln2d', 'lrn', 'frn', 'evob0', 'evos0', 'bnact', 'gnact',
] as const;

export type NormKind = (typeof NORM_KINDS)[number];

/** Options of the BatchNorm family (BN's running statistics and affine). */
export interface BnSpecOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Running-statistics factor, PyTorch convention (default 0.1); null: cumulative moving average. */
  momentum?: number | null;
  /** Learnable γ and β (default true). */
  affine?: boolean;
  /** Keep running mean/variance for evaluation (default true). */
  trackRunningStats?: boolean;
  /** Initial γ (seed 001's scale-init BN); <= 0 or absent means 1. */
  bnWeight?: number;
}

/** 'bn': BatchNorm1d / 2d / 3d by dims. */
export interface BnSpec extends BnSpecOptions { kind: 'bn' }
/** 'lazybn': LazyBatchNorm1d / 2d / 3d (channels from the first input). */
export interface LazyBnSpec extends BnSpecOptions { kind: 'lazybn' }
/** 'bnact': BatchNormAct2d, BN followed by an activation. */
export interface BnActSpec extends BnSpecOptions {
  kind: 'bnact';
  /** Activation after the norm (default 'relu'). */
  act?: NormActivation;
}

/** 'fbn': FilteredBatchNorm1d / 2d (seed 000's Filtered BN). */
export interface FbnSpec extends BnSpecOptions {
  kind: 'fbn';
  /** T: the statistics keep the values with |x − μ0| / σ0 < T; > 0 (default 4). */
  threshold?: number;
  /** Statistics in evaluation: 'running' (default, as BN) or 'batch' (the filtered statistics of each batch). */
  evalMode?: 'running' | 'batch';
  /** One mean/variance pooled over all features, in every layer. */
  pooled?: boolean;
  /** Pool the statistics of the 1-D layers only (seed 000's 1-D layer); 2-D layers stay per channel. */
  pooled1d?: boolean;
}

/** 'brn': BatchRenorm1d / 2d (Ioffe 2017). */
export interface BrnSpec extends Omit<BnSpecOptions, 'trackRunningStats'> {
  kind: 'brn';
  /** r = clip(σ_B / σ, 1/rMax, rMax) (default 3). */
  rMax?: number;
  /** d = clip((μ_B − μ) / σ, −dMax, dMax) (default 5). */
  dMax?: number;
  /** Training steps with r = 1, d = 0 before renormalization starts (default 0). */
  warmupSteps?: number;
  /** Factor of the renorm statistics update, PyTorch convention (default 0.01). */
  renormMomentum?: number;
}

/** Options of the per-sample norms: eps and a per-channel affine. */
export interface AffineSpecOptions {
  /** Added to the variance or mean square (default 1e-5 for 'gn', 'gnact', 'ln'; 1e-6 for 'rms', 'ln2d'). */
  eps?: number;
  /** Learnable per-channel γ and β (default true). */
  affine?: boolean;
}

/** 'gn': GroupNorm(groups, C). */
export interface GnSpec extends AffineSpecOptions {
  kind: 'gn';
  /** Number of groups; divides the channels. */
  groups: number;
}
/** 'gnact': GroupNormAct, GroupNorm followed by an activation. */
export interface GnActSpec extends AffineSpecOptions {
  kind: 'gnact';
  /** Number of groups; divides the channels. */
  groups: number;
  /** Activation after the norm (default 'relu'). */
  act?: NormActivation;
}
/** 'ln': GroupNorm(1, C), LayerNorm statistics over (C, *) with a per-channel affine. */
export interface LnSpec extends AffineSpecOptions { kind: 'ln' }
/** 'rms': RmsNorm2d (RMSNorm([C]) on 1-D inputs). */
export interface RmsSpec extends AffineSpecOptions { kind: 'rms' }
/** 'ln2d': LayerNorm2d over the channels per position (LayerNorm([C]) on 1-D inputs). */
export interface Ln2dSpec extends AffineSpecOptions { kind: 'ln2d' }

/** 'in': InstanceNorm1d / 2d / 3d. */
export interface InSpec {
  kind: 'in';
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Running-statistics factor (default 0.1), used with trackRunningStats. */
  momentum?: number | null;
  /** Learnable γ and β (default false, as PyTorch). */
  affine?: boolean;
  /** Keep running statistics for evaluation (default false, as PyTorch). */
  trackRunningStats?: boolean;
}

/** 'frozenbn': FrozenBatchNorm2d (fixed statistics and affine). */
export interface FrozenBnSpec {
  kind: 'frozenbn';
  /** Added to the variance (default 1e-5). */
  eps?: number;
}
/** 'frn': FilterResponseNormTlu2d. */
export interface FrnSpec {
  kind: 'frn';
  /** Added to the mean square (default 1e-5). */
  eps?: number;
}
/** 'evob0': EvoNorm2dB0. */
export interface EvoB0Spec {
  kind: 'evob0';
  /** Added to the variances (default 1e-3). */
  eps?: number;
  /** Running-variance factor (default 0.1); null is taken as the default. */
  momentum?: number | null;
}
/** 'evos0': EvoNorm2dS0. */
export interface EvoS0Spec {
  kind: 'evos0';
  /** Added to the group variance (default 1e-5). */
  eps?: number;
  /** Number of groups (default 32). */
  groups?: number;
}
/** 'lrn': LocalResponseNorm(size) across channels. */
export interface LrnSpec {
  kind: 'lrn';
  /** Channels in the window (default 5). */
  size?: number;
  /** Scale of the squared sum (default 1e-4). */
  alpha?: number;
  /** Exponent (default 0.75). */
  beta?: number;
  /** Additive constant (default 1). */
  k?: number;
}
/** 'none': no normalization (Identity). */
export interface NoneSpec { kind: 'none' }

/** The configuration of one normalization layer: `kind` and the options that kind uses. */
export type NormSpec =
  | BnSpec | LazyBnSpec | BnActSpec | FbnSpec | BrnSpec
  | GnSpec | GnActSpec | LnSpec | RmsSpec | Ln2dSpec | InSpec
  | FrozenBnSpec | FrnSpec | EvoB0Spec | EvoS0Spec | LrnSpec | NoneSpec;

/** The member of NormSpec for one kind. */
export type NormSpecOf<K extends NormKind> = Extract<NormSpec, { kind: K }>;

/** How one option's value is checked and, from a command line, parsed. */
export type OptionRule =
  | { type: 'number'; required?: boolean; integer?: boolean; min?: number; minExclusive?: boolean; max?: number; nullable?: boolean }
  | { type: 'boolean' }
  | { type: 'enum'; values: readonly string[] };

type OptionTable = { [K in NormKind]: { [P in Exclude<keyof NormSpecOf<K>, 'kind'>]-?: OptionRule } };

const eps: OptionRule = { type: 'number', min: 0 };
const momentum: OptionRule = { type: 'number', min: 0, max: 1, nullable: true };
const bool: OptionRule = { type: 'boolean' };
const bnWeight: OptionRule = { type: 'number' };
const act: OptionRule = { type: 'enum', values: ['relu', 'sigmoid', 'tanh', 'identity'] satisfies NormActivation[] };
const groups = (required: boolean): OptionRule => ({ type: 'number', required, integer: true, min: 1 });
const bnOptions = { eps, momentum, affine: bool, trackRunningStats: bool, bnWeight };
const affineOptions = { eps, affine: bool };

/**
 * The options each kind takes, in the order they are listed in messages. The mapped type makes
 * the compiler check that every kind lists exactly the keys of its NormSpec member.
 */
export const NORM_OPTIONS: OptionTable = {
  bn: bnOptions,
  lazybn: bnOptions,
  bnact: { ...bnOptions, act },
  fbn: {
    threshold: { type: 'number', min: 0, minExclusive: true },
    ...bnOptions,
    evalMode: { type: 'enum', values: ['running', 'batch'] },
    pooled: bool,
    pooled1d: bool,
  },
  brn: {
    eps, momentum, affine: bool, bnWeight,
    rMax: { type: 'number', min: 1 },
    dMax: { type: 'number', min: 0 },
    warmupSteps: { type: 'number', integer: true, min: 0 },
    renormMomentum: { type: 'number', min: 0, max: 1 },
  },
  gn: { groups: groups(true), ...affineOptions },
  gnact: { groups: groups(true), ...affineOptions, act },
  ln: affineOptions,
  rms: affineOptions,
  ln2d: affineOptions,
  in: { eps, momentum, affine: bool, trackRunningStats: bool },
  frozenbn: { eps },
  frn: { eps },
  evob0: { eps, momentum },
  evos0: { eps, groups: groups(false) },
  lrn: {
    size: { type: 'number', integer: true, min: 1 },
    alpha: { type: 'number' },
    beta: { type: 'number' },
    k: { type: 'number' },
  },
  none: {},
};

/** The option names `kind` takes. */
export function normOptionNames(kind: NormKind): string[] {
  return Object.keys(NORM_OPTIONS[kind]);
}

/** True when `kind` takes the option `key`. */
export function takesOption(kind: NormKind, key: string): boolean {
  return Object.hasOwn(NORM_OPTIONS[kind], key);
}

function isNormKind(k: unknown): k is NormKind {
  return typeof k === 'string' && (NORM_KINDS as readonly string[]).includes(k);
}

function describe(rule: OptionRule): string {
  if (rule.type === 'boolean') return 'true or false';
  if (rule.type === 'enum') return `one of ${rule.values.map((v) => `'${v}'`).join(', ')}`;
  const what = rule.integer ? 'an integer' : 'a number';
  const bounds: string[] = [];
  if (rule.min !== undefined) bounds.push(`${rule.minExclusive ? '>' : '>='} ${rule.min}`);
  if (rule.max !== undefined) bounds.push(`<= ${rule.max}`);
  return `${what}${bounds.length > 0 ? ` ${bounds.join(' and ')}` : ''}${rule.nullable ? ' (or null)' : ''}`;
}

/** The problem with `v` as a value of `rule`, or null when it fits. */
function valueProblem(rule: OptionRule, v: unknown): string | null {
  const ok = ((): boolean => {
    if (rule.type === 'boolean') return typeof v === 'boolean';
    if (rule.type === 'enum') return typeof v === 'string' && rule.values.includes(v);
    if (v === null) return rule.nullable === true;
    if (typeof v !== 'number' || !Number.isFinite(v)) return false;
    if (rule.integer && !Number.isInteger(v)) return false;
    if (rule.min !== undefined && (rule.minExclusive ? v <= rule.min : v < rule.min)) return false;
    return rule.max === undefined || v <= rule.max;
  })();
  return ok ? null : `expected ${describe(rule)}`;
}

/** Edit distance (insertions, deletions, substitutions, swaps of adjacent letters) between two strings. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidate closest to `name` by edit distance, case ignored, when it is a plausible
 * misspelling (distance at most a third of the longer name, and at least 1 allowed);
 * otherwise null.
 */
export function closestName(name: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== null && bestD <= Math.max(1, Math.floor(Math.max(name.length, best.length) / 3)) ? best : null;
}

/** "; did you mean 'x'?" for a misspelt name, or ''. */
export function suggestion(name: string, candidates: readonly string[]): string {
  const c = closestName(name, candidates);
  return c === null ? '' : `; did you mean '${c}'?`;
}

function unknownOption(where: string, key: string, kind: NormKind): string {
  const allowed = normOptionNames(kind);
  return (
    `${where}: unknown option '${key}' for norm kind '${kind}'${suggestion(key, allowed)} ` +
    `(kind '${kind}' takes ${allowed.length === 0 ? 'no options' : allowed.join(', ')})`
  );
}

function kindProblem(where: string, kind: unknown): string {
  return `${where}: kind must be one of ${NORM_KINDS.map((k) => `'${k}'`).join(', ')}, got ${typeof kind === 'string' ? `'${kind}'` : String(kind)}${typeof kind === 'string' ? suggestion(kind, NORM_KINDS) : ''}`;
}

/**
 * Checks that `value` is a NormSpec: an object whose `kind` is a norm kind, with only the
 * options that kind takes, each of its type and range, and the required ones present. Errors
 * start with `where` and name the option, the kind, the expected and the actual value; an
 * unknown option lists the allowed ones and the closest match.
 */
export function checkNormSpec(value: unknown, where = 'NormSpec'): NormSpec {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${where}: a norm spec must be an object { kind, ...options }, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  const spec = value as Record<string, unknown>;
  if (!isNormKind(spec.kind)) throw new RangeError(kindProblem(where, spec.kind));
  const kind = spec.kind;
  const rules = NORM_OPTIONS[kind] as Record<string, OptionRule>;
  for (const [key, v] of Object.entries(spec)) {
    if (key === 'kind' || v === undefined) continue;
    if (!Object.hasOwn(rules, key)) throw new RangeError(unknownOption(where, key, kind));
    const problem = valueProblem(rules[key], v);
    if (problem !== null) throw new RangeError(`${where}: option '${key}' of norm kind '${kind}': ${problem}, got ${JSON.stringify(v) ?? String(v)}`);
  }
  for (const [key, rule] of Object.entries(rules)) {
    if (rule.type === 'number' && rule.required && spec[key] === undefined) {
      throw new RangeError(`${where}: norm kind '${kind}' requires option '${key}' (${describe(rule)})`);
    }
  }
  return spec as unknown as NormSpec;
}

function parseValue(rule: OptionRule, raw: string): unknown {
  const s = raw.trim();
  if (rule.type === 'boolean') return s === 'true' ? true : s === 'false' ? false : raw;
  if (rule.type === 'enum') return s;
  if (rule.type === 'number' && rule.nullable && s === 'null') return null;
  return s === '' ? raw : Number(s);
}

/**
 * Builds the NormSpec of `kind` from command-line settings: `base` (values of dedicated flags,
 * e.g. { threshold: 4 }) overridden by each `key=value` of `sets`. Values are parsed by the
 * option's type (numbers, true/false, names; 'null' for a nullable momentum). Errors name
 * `flag` and the setting, the kind (as `kindFlag kind`), the allowed keys with the closest
 * match for an unknown one, and the expected and actual value.
 */
export function parseNormSettings(kind: NormKind, sets: readonly string[], base: Record<string, unknown> = {}, flag = '--set', kindFlag = '--norm'): NormSpec {
  if (!isNormKind(kind)) throw new RangeError(kindProblem(kindFlag, kind));
  const rules = NORM_OPTIONS[kind] as Record<string, OptionRule>;
  const allowed = Object.keys(rules);
  const spec: Record<string, unknown> = { kind };
  for (const [k, v] of Object.entries(base)) if (v !== undefined && Object.hasOwn(rules, k)) spec[k] = v;
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new RangeError(`${flag} expects key=value, got '${s}'`);
    const key = s.slice(0, eq).trim();
    const raw = s.slice(eq + 1);
    if (!Object.hasOwn(rules, key)) {
      throw new RangeError(
        `${flag} ${s}: unknown key '${key}' for ${kindFlag} ${kind}${suggestion(key, allowed)} ` +
          `(${kindFlag} ${kind} takes ${allowed.length === 0 ? 'no keys' : allowed.join(', ')})`,
      );
    }
    const v = parseValue(rules[key], raw);
    const problem = valueProblem(rules[key], v);
    if (problem !== null) throw new RangeError(`${flag} ${s}: ${key} of ${kindFlag} ${kind}: ${problem}, got '${raw}'`);
    spec[key] = v;
  }
  for (const [key, rule] of Object.entries(rules)) {
    if (rule.type === 'number' && rule.required && spec[key] === undefined) {
      throw new RangeError(`${kindFlag} ${kind} requires ${flag} ${key}=<${describe(rule)}>`);
    }
  }
  return spec as unknown as NormSpec;
}
