// Seed 000, section 4.2 (alexnet_batchnorm_double.py): AlexNet with BN vs FBN on CIFAR-10
// resized to 224×224. The seed's script never passed the norm layers' γ and β to its optimizer,
// so they stayed at 1 and 0; here they are trained, as the method intends.
import type { Experiment, RunRecord, SgdRunConfig } from '../experiment.js';
import type { DatasetName } from '../../data/load.js';
import { curves, finalTable, significanceTable, timeBars } from '../compare.js';
import { renderReport } from '../render.js';
import { checkNormSpec } from '../../nn/norm/spec.js';

export interface AlexnetConfig extends SgdRunConfig {
  dataset: string;
  imageSize: number;
  threshold: number;
  seeds: number;
  /** Write checkpoints (AlexNet's are 230 MB each; quick mode skips them). */
  checkpoints: boolean;
}

const full: AlexnetConfig = { dataset: 'cifar10', imageSize: 224, epochs: 10, batchSize: 64, lr: 0.01, momentum: 0.9, threshold: 4, seeds: 3, trainLimit: 0, testLimit: 0, checkpoints: true };

export const fbnAlexnet: Experiment<AlexnetConfig> = {
  name: 'fbn-alexnet',
  seedDoc: '000',
  seedFile: 'CIFAR/alexnet_batchnorm_double.py',
  description: 'AlexNet on CIFAR-10 at 224x224, BN vs FBN, with gamma and beta trained (the seed forgot to)',
  full,
  quick: { ...full, dataset: 'mnist-bundled', imageSize: 64, epochs: 1, batchSize: 32, lr: 0.01, seeds: 1, trainLimit: 64, testLimit: 32, checkpoints: false },
  runs(c) {
    const base = {
      dataset: c.dataset as DatasetName, network: 'alexnet', imageSize: c.imageSize, epochs: c.epochs, batchSize: c.batchSize, optimizer: 'sgd' as const,
      lr: c.lr, momentum: c.momentum, trainLimit: c.trainLimit, testLimit: c.testLimit,
    };
    const out = [];
    for (let s = 1; s <= c.seeds; s++) {
      out.push({ group: 'BN', seed: s, train: { ...base, norm: 'bn' as const }, extra: { checkpoints: c.checkpoints } });
      out.push({ group: `FBN T=${c.threshold}`, seed: s, train: { ...base, norm: checkNormSpec({ kind: 'fbn', threshold: c.threshold }, 'fbn-alexnet') }, extra: { checkpoints: c.checkpoints } });
    }
    return out;
  },
  report(c: AlexnetConfig, records: RunRecord[], outDir: string) {
    return renderReport(outDir, {
      title: 'fbn-alexnet: AlexNet with BN vs Filtered BN',
      subtitle: `${c.dataset} resized to ${c.imageSize}×${c.imageSize}, seed 000`,
      notes: [
        'Difference from the seed: alexnet_batchnorm_double.py built its optimizer before inserting the normalization layers, so their γ and β were never trained (they stayed 1 and 0). Here γ and β are trained like every other parameter.',
        `${c.seeds} seed(s) per normalization, ${c.epochs} epoch(s), batch ${c.batchSize}, SGD lr ${c.lr} momentum ${c.momentum}.`,
      ],
      config: c,
      tables: [finalTable(records), significanceTable(records, 'BN')],
      charts: [curves(records, 'test_acc', 'Test accuracy per epoch', 'test accuracy'), timeBars(records)],
      grids: [],
    });
  },
};
