// `normlab run <experiment>`: the seeds' studies as named, runnable, reported experiments.
import { Option, type Command } from 'commander';
import { resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { EXPERIMENTS } from '../experiments/registry.js';
import { runExperiment, resolveConfig } from '../experiments/runExperiment.js';
import { intArg, UsageError } from './args.js';
import { deviceFromFlag, deviceOption } from './device.js';

export function runCommand(program: Command, setCode: (c: number) => void): void {
  program
    .command('run')
    .description("run one of the seeds' experiments and write its runs and report.html")
    .argument('[experiment]', 'experiment name (see --list)')
    .option('--list', 'list the experiments with the seed and file each reproduces and a one-line description', false)
    .option('--full', "the seed's own configuration (default: quick mode on bundled data)", false)
    .addOption(new Option('--quick', 'quick mode on bundled data (the default; refused together with --full)').conflicts('full'))
    .option('--set <key=value>', 'override a configuration value (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--seeds <n>', 'number of seeds (repeats) per setting', intArg('--seeds', 1))
    .option('--workers <n>', 'parallel worker processes, each with a share of the cores', intArg('--workers', 1), 1)
    .option('--resume', 're-use finished runs and continue interrupted ones', false)
    .option('--out <dir>', 'parent folder of the experiment folder', 'runs')
    .option('--data-dir <dir>', 'folder with dataset files you already have')
    .addOption(deviceOption())
    .option('--show-config', 'print the resolved configuration and exit', false)
    .action(async (name: string | undefined, o: { list: boolean; full: boolean; set: string[]; seeds?: number; workers: number; resume: boolean; out: string; dataDir?: string; device?: string; showConfig: boolean }) => {
      if (o.list || name === undefined) {
        // Per experiment: its name, then the seed and the file(s) whose method it reproduces, then what it does.
        const w = Math.max(...EXPERIMENTS.map((e) => e.name.length));
        for (const e of EXPERIMENTS) {
          process.stdout.write(`${e.name.padEnd(w)}  seed ${e.seedDoc}: ${e.seedFile}\n${' '.repeat(w)}  ${e.description}\n`);
        }
        setCode(0);
        return;
      }
      if (o.workers > availableParallelism()) throw new UsageError(`--workers must be at most the number of cores (${availableParallelism()}), got ${o.workers}`);
      const mode = o.full ? 'full' : 'quick';
      let config;
      try {
        config = resolveConfig(name, { mode, sets: o.set, seeds: o.seeds });
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      if (o.showConfig) {
        process.stdout.write(JSON.stringify(config, null, 2) + '\n');
        setCode(0);
        return;
      }
      const device = await deviceFromFlag(o.device);
      const out = await runExperiment(name, {
        mode, sets: o.set, seeds: o.seeds, workers: o.workers, resume: o.resume, out: resolve(o.out), dataDir: o.dataDir, device,
        log: (l) => process.stderr.write(l + '\n'),
      });
      process.stdout.write(`${out.report}\n`);
      setCode(0);
    });
}
