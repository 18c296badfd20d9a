// Seed 000, section 4.1: BN vs Filtered BN on MNIST with the small CNN (mnist_train.py) and
// with LeNet-5 (mnist_lenet5_test.py): batch 256, 3 epochs, SGD lr 0.01 momentum 0.5, repeats.
import type { Experiment, RunRecord, SgdRunConfig } from '../experiment.js';
import type { DatasetName } from '../../data/load.js';
import { curves, finalTable, significanceTable } from '../compare.js';
import { renderReport } from '../render.js';
import { FBN_DEFAULTS, fbnSpec, fbnVariantNote } from '../fbnSpec.js';
import { instrumentCharts, preciseBnTable } from '../instruments.js';

export interface FbnCompareConfig extends SgdRunConfig {
  dataset: string;
  threshold: number;
  seeds: number;
  fbnPooled1d: boolean;
  fbnEvalMode: string;
}

function fbnCompare(name: string, network: 'fbn-mnist' | 'lenet5', seedFile: string, description: string, fullSeeds: number): Experiment<FbnCompareConfig> {
  const full: FbnCompareConfig = { dataset: 'mnist', epochs: 3, batchSize: 256, lr: 0.01, momentum: 0.5, threshold: 4, seeds: fullSeeds, trainLimit: 0, testLimit: 0, ...FBN_DEFAULTS };
  return {
    name,
    seedDoc: '000',
    seedFile,
    description,
    full,
    instruments: true,
    quick: { ...full, dataset: 'mnist-bundled', epochs: 2, batchSize: 64, lr: 0.05, momentum: 0.9, seeds: 2, trainLimit: 1000, testLimit: 400 },
    runs(c) {
      const base = {
        dataset: c.dataset as DatasetName, network, epochs: c.epochs, batchSize: c.batchSize, optimizer: 'sgd' as const, lr: c.lr,
        momentum: c.momentum, trainLimit: c.trainLimit, testLimit: c.testLimit,
      };
      const out = [];
      for (let s = 1; s <= c.seeds; s++) {
        out.push({ group: 'BN', seed: s, train: { ...base, norm: 'bn' as const }, extra: {} });
        out.push({ group: `FBN T=${c.threshold}`, seed: s, train: { ...base, norm: fbnSpec(name, c.threshold, c) }, extra: {} });
      }
      return out;
    },
    report(c: FbnCompareConfig, records: RunRecord[], outDir: string) {
      return renderReport(outDir, {
        title: `${name}: Batch Norm vs Filtered Batch Norm (T = ${c.threshold})`,
        subtitle: `${network === 'lenet5' ? 'LeNet-5' : 'small MNIST CNN'} on ${c.dataset}, seed 000 (Filtered Batch Normalization, ICPR 2020)`,
        notes: [
          `Each network is trained ${c.seeds} times per normalization (MD5-derived seeds 1..${c.seeds}), ${c.epochs} epochs, batch ${c.batchSize}, SGD lr ${c.lr} momentum ${c.momentum}.`,
          'FBN computes the mean and unbiased variance, keeps the elements with |z| < T and normalizes every element with the statistics of the kept ones.',
          fbnVariantNote(c),
          'The significance test asks whether FBN beats BN on final test accuracy, pairing runs by seed (one-sided paired t-test, p ≤ 0.05).',
        ],
        config: c,
        tables: [finalTable(records), significanceTable(records, 'BN'), ...[preciseBnTable(records)].filter((t) => t !== null)],
        charts: [
          curves(records, 'test_acc', 'Test accuracy per epoch (mean ± std over seeds)', 'test accuracy'),
          curves(records, 'train_loss', 'Training loss per epoch', 'train loss'),
          ...instrumentCharts(records),
        ],
        grids: [],
      });
    },
  };
}

export const fbnMnist = fbnCompare('fbn-mnist', 'fbn-mnist', 'MNIST/mnist_train.py', 'small MNIST CNN, BN vs FBN (T = 4), batch 256, 3 epochs, 10 repeats, paired t-test', 10);
export const fbnLenet5 = fbnCompare('fbn-lenet5', 'lenet5', 'MNIST/mnist_lenet5_test.py', 'LeNet-5 with BN vs FBN after every layer, batch 256, 3 epochs', 5);
