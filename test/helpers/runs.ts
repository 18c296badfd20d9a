// Synthetic run directories in the trainer's format (config.json, metrics.jsonl, results.json),
// for report tests and the browser test.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EpochMetrics, TrainResult } from '../../src/io/metrics.js';

/** Writes a run whose test accuracy climbs to finalAcc over `epochs` epochs; returns its directory. */
export function writeRun(root: string, name: string, config: Record<string, unknown>, finalAcc: number, epochs = 4): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const history: EpochMetrics[] = [];
  for (let e = 1; e <= epochs; e++) {
    const acc = finalAcc - 0.3 / e + 0.3 / epochs;
    history.push({ epoch: e, lr: 0.1, train_loss: 1.5 / e, train_acc: Math.min(1, acc + 0.02), val_loss: 1.6 / e, val_acc: acc - 0.01, test_loss: 1.6 / e + 0.01, test_acc: acc, seconds: 2 + e / 10, samples_per_sec: 500 });
  }
  const final = history[epochs - 1];
  const results: TrainResult = { epochs, best_epoch: epochs, best_metric: final.val_acc!, best_metric_name: 'val_acc', test_acc_at_best: final.test_acc, final, history, total_seconds: history.reduce((a, h) => a + h.seconds, 0) };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  writeFileSync(join(dir, 'metrics.jsonl'), history.map((h) => JSON.stringify(h)).join('\n') + '\n');
  writeFileSync(join(dir, 'results.json'), JSON.stringify(results));
  return dir;
}

/** Seed 001's README accuracies as two groups of five seeds (base: bn, new: bn_c100). */
export function writeSeed001Runs(root: string): string[] {
  const base = [91.0, 92.7, 92.2, 90.1, 91.5];
  const next = [91.7, 93.4, 92.2, 90.0, 91.9];
  return [
    ...base.map((a, s) => writeRun(root, `bn-seed${s}`, { label: 'bn', seed: s, model: 'resnet18', bnWeight: 1 }, a / 100)),
    ...next.map((a, s) => writeRun(root, `bn_c100-seed${s}`, { label: 'bn_c100', seed: s, model: 'resnet18', bnWeight: 0.1, c: 100 }, a / 100)),
  ];
}
