// The `normlab` command. Each subcommand parses its flags with commander; unknown flags and
// bad values exit with code 2 and a message naming the flag.
import { availableParallelism } from 'node:os';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { trainCommand } from './train.js';
import { demoCommand } from './demo.js';
import { runCommand } from './run.js';
import { interopCommands } from './interop.js';
import { sweepCommand } from './sweep.js';
import { importCommand } from './import.js';
import { serveCommand } from './serve.js';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('normlab')
    .description('normalization layers for deep networks: train, compare and report')
    .exitOverride()
    // Subcommands own the options after their name (`sweep status <id> --redis` is status's --redis).
    .enablePositionalOptions()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError(false);
  let code = 0;
  trainCommand(program, (c) => (code = c));
  demoCommand(program, (c) => (code = c));
  runCommand(program, (c) => (code = c));
  interopCommands(program, (c) => (code = c));
  // `normlab report` parses its own flags (src/report/html.ts); vega loads only when it runs.
  program
    .command('report')
    .description('compare run directories side by side in one self-contained report.html')
    .helpOption(false)
    .allowUnknownOption(true)
    .argument('[args...]')
    .action(async (args: string[]) => {
      const { reportCommand } = await import('../report/html.js');
      code = await reportCommand(args);
    });
  sweepCommand(program, (c) => (code = c));
  importCommand(program, (c) => (code = c));
  serveCommand(program, (c) => (code = c));
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return 2;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`normlab: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  return code;
}

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
