// Seed 000, mnist_batchsize.py: Filtered BN across batch sizes and thresholds, BN as baseline.
import type { Experiment, ExperimentConfig, RunRecord } from '../experiment.js';
import type { DatasetName } from '../../data/load.js';
import { finalTable, groupsOf } from '../compare.js';
import { mean } from '../reportSpec.js';
import { renderReport } from '../render.js';
import { FBN_DEFAULTS, fbnSpec, fbnVariantNote } from '../fbnSpec.js';

export interface BatchSweepConfig extends ExperimentConfig {
  dataset: string;
  network: string;
  epochs: number;
  batchSizes: number[];
  thresholds: number[];
  lr: number;
  momentum: number;
  seeds: number;
  trainLimit: number;
  testLimit: number;
  fbnPooled1d: boolean;
  fbnEvalMode: string;
}

const full: BatchSweepConfig = {
  dataset: 'mnist', network: 'fbn-mnist', epochs: 3, batchSizes: [256, 128, 64, 32, 16, 8], thresholds: [2, 3, 4, 5], lr: 0.01, momentum: 0.5,
  seeds: 10, trainLimit: 0, testLimit: 0, ...FBN_DEFAULTS,
};

const label = (bs: number, t: number | null): string => (t === null ? `bs=${bs} BN` : `bs=${bs} FBN T=${t}`);

export const fbnBatchSweep: Experiment<BatchSweepConfig> = {
  name: 'fbn-batch-sweep',
  seedDoc: '000',
  seedFile: 'MNIST/mnist_batchsize.py',
  description: 'batch sizes 256..8 x thresholds 2..5 with BN as baseline; heat maps of accuracy and FBN - BN',
  full,
  quick: { ...full, dataset: 'mnist-bundled', epochs: 1, batchSizes: [64, 16], thresholds: [2, 4], lr: 0.05, momentum: 0.9, seeds: 1, trainLimit: 600, testLimit: 300 },
  runs(c) {
    const out = [];
    for (let s = 1; s <= c.seeds; s++) {
      for (const bs of c.batchSizes) {
        const base = {
          dataset: c.dataset as DatasetName, network: c.network, epochs: c.epochs, batchSize: bs, optimizer: 'sgd' as const, lr: c.lr,
          momentum: c.momentum, trainLimit: c.trainLimit, testLimit: c.testLimit,
        };
        out.push({ group: label(bs, null), seed: s, train: { ...base, norm: 'bn' as const }, extra: { batchSize: bs, threshold: 0 } });
        for (const t of c.thresholds) {
          out.push({ group: label(bs, t), seed: s, train: { ...base, norm: fbnSpec('fbn-batch-sweep', t, c) }, extra: { batchSize: bs, threshold: t } });
        }
      }
    }
    return out;
  },
  report(c: BatchSweepConfig, records: RunRecord[], outDir: string) {
    const groups = groupsOf(records);
    const acc = (bs: number, t: number | null): number | null => {
      const rs = groups.get(label(bs, t));
      return rs === undefined ? null : 100 * mean(rs.map((r) => Number(r.results.final.test_acc)));
    };
    const accValues = c.thresholds.map((t) => c.batchSizes.map((bs) => acc(bs, t)));
    const diffValues = c.thresholds.map((t) => c.batchSizes.map((bs) => {
      const f = acc(bs, t);
      const b = acc(bs, null);
      return f === null || b === null ? null : f - b;
    }));
    return renderReport(outDir, {
      title: 'fbn-batch-sweep: Filtered BN across batch sizes and thresholds',
      subtitle: `${c.network} on ${c.dataset}, seed 000 (mnist_batchsize.py)`,
      notes: [
        `Every cell is the mean final test accuracy over ${c.seeds} seed(s); ${c.epochs} epoch(s), SGD lr ${c.lr} momentum ${c.momentum}.`,
        'The second heat map is FBN minus BN at the same batch size, in percentage points: positive cells are where filtering helps.',
        fbnVariantNote(c),
      ],
      config: c,
      tables: [
        {
          title: 'BN baseline per batch size (test accuracy %)',
          columns: ['batch size', 'BN test acc %'],
          rows: c.batchSizes.map((bs) => [bs, acc(bs, null)?.toFixed(2) ?? 'n/a']),
        },
        finalTable(records),
      ],
      charts: [
        { kind: 'heatmap', title: 'FBN test accuracy (%)', xLabel: 'batch size', yLabel: 'threshold T', x: c.batchSizes, y: c.thresholds, values: accValues, valueLabel: 'accuracy %' },
        { kind: 'heatmap', title: 'FBN − BN test accuracy (percentage points)', xLabel: 'batch size', yLabel: 'threshold T', x: c.batchSizes, y: c.thresholds, values: diffValues, valueLabel: 'difference (pp)' },
      ],
      grids: [],
    });
  },
};
