// The `normlab` command. Each subcommand parses its flags with commander; unknown flags and
// bad values exit with code 2 and a message naming the flag.
import { Command, CommanderError } from 'commander';
import { UsageError } from './args.js';
import { trainCommand } from './train.js';
import { demoCommand } from './demo.js';
import { runCommand } from './run.js';
import { interopCommands } from './interop.js';
import { sweepCommand } from './sweep.js';
import { importCommand } from './import.js';
import { serveCommand } from './serve.js';
import { devicesCommand } from './device.js';

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
  devicesCommand(program, (c) => (code = c));
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
