// Seed 001 ("Revisiting Batch Norm Initialization", ECCV 2022): ResNet on CIFAR with the BN
// scale γ initialised to 0.1 and its learning rate divided by c = 100 (no weight decay on 1-D
// parameters), optionally with BN as input normalization, against the standard initialisation.
// 45k/5k stratified train/validation split drawn with seed 0, runs with seeds 1…15 (the seed's
// README: "We used [1, 15] for our work with 0 to create the validation set"), MD5-derived,
// cosine schedule, one-sided paired t-test per setting; the table follows the seed's README.
import type { Experiment, RunRecord, SgdRunConfig } from '../experiment.js';
import type { DatasetName } from '../../data/load.js';
import { curves, finalTable, groupsOf, significanceTable } from '../compare.js';
import { mean, pct, std } from '../reportSpec.js';
import { renderReport } from '../render.js';
import { instrumentCharts, preciseBnTable } from '../instruments.js';

export interface BnInitConfig extends SgdRunConfig {
  dataset: string;
  network: string;
  weightDecay: number;
  bnWeight: number;
  c: number;
  seeds: number;
  valSplit: number;
  imageSize: number;
  inputNormVariant: boolean;
}

const full: BnInitConfig = {
  dataset: 'cifar10', network: 'resnet18', epochs: 180, batchSize: 128, lr: 0.1, momentum: 0.9, weightDecay: 1e-4, bnWeight: 0.1, c: 100, seeds: 15,
  valSplit: 5000, trainLimit: 0, testLimit: 0, imageSize: 0, inputNormVariant: true,
};

export const BASELINE = 'baseline';

export const bnInit: Experiment<BnInitConfig> = {
  name: 'bn-init',
  seedDoc: '001',
  seedFile: 'train.py (with networks.py, batch_norm.py, weight_decay_and_learning_rate.py, seeds.py, t_test.py)',
  description: 'ResNet on CIFAR: baseline vs gamma init 0.1 with lr/c (c = 100), and BN input normalization; MD5 seeds 1-15 (seed 0 draws the validation split), paired t-tests',
  full,
  instruments: true,
  quick: { ...full, dataset: 'mnist-bundled', epochs: 1, batchSize: 32, lr: 0.05, seeds: 2, valSplit: 16, trainLimit: 64, testLimit: 32, imageSize: 16 },
  runs(c) {
    const base = {
      dataset: c.dataset as DatasetName, network: c.network, epochs: c.epochs, batchSize: c.batchSize, optimizer: 'sgd' as const, lr: c.lr,
      momentum: c.momentum, weightDecay: c.weightDecay, scheduler: 'cos' as const, valSplit: c.valSplit, trainLimit: c.trainLimit,
      testLimit: c.testLimit, imageSize: c.imageSize, augment: c.dataset.startsWith('cifar') ? ('crop-flip' as const) : ('none' as const), norm: 'bn' as const,
    };
    const out = [];
    for (let s = 1; s <= c.seeds; s++) {
      // The baseline runs through seed 001's parameter groups too (γ = 1, c = 1: biases and norm
      // γ/β without weight decay, one lr), so it differs from the method only in γ's init and lr / c.
      out.push({ group: BASELINE, seed: s, train: { ...base, bnWeight: 1, c: 1, inputNorm: 'dataset' as const }, extra: {} });
      out.push({ group: `γ=${c.bnWeight}, c=${c.c}`, seed: s, train: { ...base, bnWeight: c.bnWeight, c: c.c, inputNorm: 'dataset' as const }, extra: {} });
      if (c.inputNormVariant) {
        out.push({ group: `γ=${c.bnWeight}, c=${c.c}, BN input norm`, seed: s, train: { ...base, bnWeight: c.bnWeight, c: c.c, inputNorm: 'bn' as const }, extra: {} });
      }
    }
    return out;
  },
  report(c: BnInitConfig, records: RunRecord[], outDir: string) {
    const groups = groupsOf(records);
    const baseRuns = groups.get(BASELINE) ?? [];
    const readme = {
      title: "Results in the form of the seed's README (test accuracy %, per seed and mean ± std)",
      columns: ['setting', ...Array.from({ length: c.seeds }, (_, i) => `seed ${i + 1}`), 'mean ± std'],
      rows: [...groups].map(([g, rs]) => {
        const accs = rs.map((r) => 100 * Number(r.results.final.test_acc));
        return [g, ...rs.map((r) => pct(Number(r.results.final.test_acc), 1)), `${mean(accs).toFixed(2)} ± ${std(accs).toFixed(2)}`];
      }),
    };
    return renderReport(outDir, {
      title: 'bn-init: Revisiting Batch Norm Initialization',
      subtitle: `${c.network} on ${c.dataset}, seed 001 (ECCV 2022)`,
      notes: [
        `Settings: baseline (γ = 1, c = 1) vs γ initialised to ${c.bnWeight} with the BN-γ learning rate divided by c = ${c.c}${c.inputNormVariant ? ', and the same with an affine BN as input normalization (γ = 0.58·bnWeight, β frozen) instead of dataset mean/std' : ''}.`,
        'Every setting, the baseline included, uses seed 001\'s parameter groups (weight_decay_and_learning_rate.py): conv and linear weights get the weight decay, biases and BN β no weight decay, BN γ no weight decay and lr / c.',
        `${c.seeds} MD5-derived seeds; validation split of ${c.valSplit} training images fixed by md5(0); SGD lr ${c.lr} momentum ${c.momentum} weight decay ${c.weightDecay}, cosine schedule over ${c.epochs} epoch(s), batch ${c.batchSize}.`,
        `Significance as in t_test.py: one-sided paired t-test of each setting against the baseline on test accuracy; the baseline has ${baseRuns.length} run(s).`,
      ],
      config: c,
      tables: [readme, significanceTable(records, BASELINE), finalTable(records), ...[preciseBnTable(records)].filter((t) => t !== null)],
      charts: [
        curves(records, 'test_acc', 'Test accuracy per epoch', 'test accuracy'), curves(records, 'val_acc', 'Validation accuracy per epoch', 'validation accuracy'),
        ...instrumentCharts(records),
      ],
      grids: [],
    });
  },
};
