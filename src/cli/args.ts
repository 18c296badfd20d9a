// Flag parsers and the usage error shared by the subcommands of `normlab` (src/cli/main.ts): a
// parser throws commander's InvalidArgumentError, which commander reports naming the flag; a
// UsageError thrown after parsing makes main() print its message and exit with code 2.
import { availableParallelism } from 'node:os';
import { InvalidArgumentError, Option } from 'commander';

/** A bad flag value found after parsing (exit code 2). */
export class UsageError extends Error {}

export function intArg(name: string, min = 0): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got '${v}'`);
    return n;
  };
}

/** A native thread count: 0 (all cores) up to the cores of this machine. */
export function threadsArg(name: string, min = 0): (v: string) => number {
  const max = availableParallelism();
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min}${min === 0 ? ' (all cores)' : ''} to ${max} (the cores of this machine), got '${v}'`);
    }
    return n;
  };
}

/** A number > 0. */
export function positiveArg(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a number > 0, got '${v}'`);
    return n;
  };
}

export function numArg(name: string, min = -Infinity): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min) throw new InvalidArgumentError(`${name} must be a number >= ${min}, got '${v}'`);
    return n;
  };
}

export function choice(flags: string, description: string, choices: readonly string[], def?: string): Option {
  const o = new Option(flags, description).choices(choices as string[]);
  return def === undefined ? o : o.default(def);
}

/** A comma-separated list of finite numbers. */
export function listArg(name: string): (v: string) => number[] {
  return (v) => {
    const xs = v.split(',').map((t) => Number(t.trim()));
    if (v.trim() === '' || xs.some((x) => !Number.isFinite(x))) throw new InvalidArgumentError(`${name} must be comma-separated numbers, got '${v}'`);
    return xs;
  };
}
