// Seed 000 (alexnet_small_large_compare.py): how far batch statistics fall from the population
// statistics of the same layer as the batch shrinks, for BN's batch mean/variance and for FBN's
// filtered mean/variance at several thresholds, on a trained network.
import type { Experiment, RunRecord, SgdRunConfig } from '../experiment.js';
import type { DatasetName } from '../../data/load.js';
import { batchStatsComparison, type BatchStatsResult } from '../../analysis/batchStats.js';
import { renderReport } from '../render.js';
import type { ChartSpec, TableSpec } from '../reportSpec.js';

export interface BatchStatsConfig extends SgdRunConfig {
  dataset: string;
  network: string;
  layers: string[];
  batchSizes: number[];
  thresholds: number[];
  repeats: number;
  maxSamples: number;
}

const full: BatchStatsConfig = {
  dataset: 'mnist', network: 'lenet5', layers: ['features.1', 'features.5', 'classifier.1'], epochs: 3, batchSize: 256, lr: 0.01, momentum: 0.5,
  trainLimit: 0, testLimit: 0, batchSizes: [2, 4, 8, 16, 32, 64, 128, 256, 512], thresholds: [1, 2, 3, 4], repeats: 20, maxSamples: 5000,
};

export const batchStats: Experiment<BatchStatsConfig> = {
  name: 'batch-stats',
  seedDoc: '000',
  seedFile: 'CIFAR/alexnet_small_large_compare.py',
  description: 'batch-statistics error vs batch size (2..512), BN batch stats vs FBN filtered stats at several thresholds',
  full,
  quick: { ...full, dataset: 'mnist-bundled', epochs: 1, batchSize: 64, lr: 0.05, momentum: 0.9, trainLimit: 800, testLimit: 300, layers: ['features.1', 'classifier.1'], batchSizes: [2, 8, 32, 128], thresholds: [2, 3], repeats: 5, maxSamples: 300 },
  runs(c) {
    return [{
      group: `${c.network} (BN)`,
      seed: 1,
      train: {
        dataset: c.dataset as DatasetName, network: c.network, norm: 'bn' as const, epochs: c.epochs, batchSize: c.batchSize, optimizer: 'sgd' as const,
        lr: c.lr, momentum: c.momentum, trainLimit: c.trainLimit, testLimit: c.testLimit,
      },
      extra: { layers: c.layers, batchSizes: c.batchSizes, thresholds: c.thresholds, repeats: c.repeats, maxSamples: c.maxSamples },
    }];
  },
  analyze(spec, ctx) {
    const layers = spec.extra.layers as string[];
    const results = layers.map((layer) =>
      batchStatsComparison(ctx.model, layer, ctx.evalLoader(ctx.data.test, 256).batches(), {
        batchSizes: spec.extra.batchSizes as number[], thresholds: spec.extra.thresholds as number[], repeats: Number(spec.extra.repeats),
        maxSamples: Number(spec.extra.maxSamples), seed: 0,
      }));
    return { results: results.map(({ population: _p, ...rest }) => rest) };
  },
  report(c: BatchStatsConfig, records: RunRecord[], outDir: string) {
    const charts: ChartSpec[] = [];
    const tables: TableSpec[] = [];
    for (const r of records) {
      for (const res of (r.analysis?.results ?? []) as Omit<BatchStatsResult, 'population'>[]) {
        for (const [key, label] of [['meanErr', 'mean error |μ_b − μ|/σ'], ['varErr', 'variance error |σ²_b − σ²|/σ²']] as const) {
          charts.push({
            kind: 'lines', title: `${res.layer}: ${label} vs batch size`, xLabel: 'batch size', yLabel: label, logX: true,
            series: [
              { label: 'BN batch statistics', x: res.batchSizes, y: res.bn[key] },
              ...Object.entries(res.fbn).map(([t, curve]) => ({ label: `FBN T=${t}`, x: res.batchSizes, y: curve[key] })),
            ],
          });
        }
        tables.push({
          title: `${res.layer} (input ${res.sampleShape.join('×')}, ${res.samples} samples): errors at each batch size`,
          columns: ['batch size', 'BN mean err', 'BN var err', ...Object.keys(res.fbn).flatMap((t) => [`FBN T=${t} mean err`, `FBN T=${t} var err`, `T=${t} kept %`])],
          rows: res.batchSizes.map((b, i) => [
            b, res.bn.meanErr[i].toFixed(4), res.bn.varErr[i].toFixed(4),
            ...Object.values(res.fbn).flatMap((f) => [f.meanErr[i].toFixed(4), f.varErr[i].toFixed(4), (100 * f.keptFraction[i]).toFixed(2)]),
          ]),
        });
      }
    }
    return renderReport(outDir, {
      title: 'batch-stats: batch statistics vs population statistics',
      subtitle: `${c.network} trained with BN on ${c.dataset}, seed 000`,
      notes: [
        `After training, the inputs of layers ${c.layers.join(', ')} are captured over up to ${c.maxSamples} test samples; population mean and variance are taken over all of them. For each batch size, ${c.repeats} random batches give BN's batch statistics and FBN's filtered statistics, compared with the population per channel.`,
        'Errors are averaged over channels and batches: |μ_b − μ_pop|/σ_pop and |σ²_b − σ²_pop|/σ²_pop. FBN trades a small bias (it drops the tails) for robustness to outliers.',
      ],
      config: c,
      tables,
      charts,
      grids: [],
    });
  },
};
