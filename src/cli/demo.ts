// `normlab demo` (also `npm start`): the small MNIST CNN of seed 000 trained for one epoch with
// BatchNorm, Filtered BatchNorm (T = 4) and no normalization on the bundled offline digits,
// then a comparison table.
import type { Command } from 'commander';
import { runTraining } from '../train/run.js';
import type { NormSpec } from '../models/index.js';
import { intArg, threadsArg } from './main.js';

export function demoCommand(program: Command, setCode: (c: number) => void): void {
  program
    .command('demo')
    .description('train the small MNIST CNN with BN, FBN and no normalization on the bundled digits and compare')
    .option('--epochs <n>', 'epochs per model', intArg('--epochs', 1), 1)
    .option('--threads <n>', 'native threads (0: all cores)', threadsArg('--threads'), 0)
    .option('--seed <n>', 'seed', intArg('--seed', 0), 1)
    .action(async (o: { epochs: number; threads: number; seed: number }) => {
      const variants: [string, NormSpec][] = [
        ['BatchNorm', 'bn'],
        ['Filtered BatchNorm (T=4)', { kind: 'fbn', threshold: 4 }],
        ['no normalization', 'none'],
      ];
      const rows: string[][] = [];
      process.stdout.write(`normlab demo: small MNIST CNN (seed 000), bundled digits (8000 train / 2000 test), ${o.epochs} epoch(s) each\n`);
      for (const [label, norm] of variants) {
        process.stdout.write(`\n== ${label}\n`);
        const t0 = Date.now();
        const { result } = await runTraining(
          { dataset: 'mnist-bundled', network: 'fbn-mnist', norm, epochs: o.epochs, batchSize: 64, optimizer: 'sgd', lr: 0.01, momentum: 0.5, seed: o.seed, threads: o.threads },
          { progress: 'auto', checkpoints: false },
        );
        const f = result.final;
        rows.push([label, (100 * f.train_acc).toFixed(2) + '%', f.train_loss.toFixed(4), (100 * (f.test_acc ?? 0)).toFixed(2) + '%', f.test_loss!.toFixed(4), ((Date.now() - t0) / 1000).toFixed(1) + 's']);
      }
      const head = ['normalization', 'train acc', 'train loss', 'test acc', 'test loss', 'time'];
      const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
      const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
      process.stdout.write('\n' + line(head) + '\n' + widths.map((w) => '-'.repeat(w)).join('  ') + '\n' + rows.map(line).join('\n') + '\n');
      setCode(0);
    });
}
