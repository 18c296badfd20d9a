// Seed 000, section 2 (activations/plot_activation_distributions*.py, plot_outlier_images.py):
// the distribution of every normalization layer's input in a trained VGG-BN and ResNet-18 —
// quantiles, kurtosis, the share of values beyond 3σ — and the images behind the most extreme
// activations of the most heavy-tailed channel.
import type { Experiment, RunRecord, SgdRunConfig } from '../experiment.js';
import type { DatasetName } from '../../data/load.js';
import { captureLayerInputs, normLayers } from '../../analysis/capture.js';
import { findOutlierImages } from '../../analysis/outliers.js';
import { renderReport } from '../render.js';
import type { ChartSpec, ImageGridSpec, TableSpec } from '../reportSpec.js';

export interface ActivationStatsConfig extends SgdRunConfig {
  dataset: string;
  networks: string[];
  imageSize: number;
  /** Test batches whose activations are summarised. */
  statBatches: number;
  /** Outlier threshold in standard deviations of the chosen channel. */
  outlierSigma: number;
  outliers: number;
}

const full: ActivationStatsConfig = {
  dataset: 'cifar10', networks: ['vgg11', 'resnet18'], epochs: 10, batchSize: 128, lr: 0.05, momentum: 0.9, trainLimit: 0, testLimit: 0, imageSize: 0,
  statBatches: 40, outlierSigma: 6, outliers: 12,
};

interface LayerRow {
  layer: string;
  type: string;
  channels: number;
  summary: { mean: number; std: number; min: number; max: number; p1: number; q1: number; median: number; q3: number; p99: number; kurtosis: number; beyondK: number };
  standardized: { min: number; max: number; p1: number; q1: number; median: number; q3: number; p99: number; kurtosis: number; beyondK: number };
}

export const activationStats: Experiment<ActivationStatsConfig> = {
  name: 'activation-stats',
  seedDoc: '000',
  seedFile: 'activations/plot_activation_distributions_resnet.py, plot_activation_distributionvgg.py, plot_outlier_images.py',
  description: 'distribution statistics of every norm layer input of a trained VGG-BN and ResNet-18, box plots, outlier images',
  full,
  quick: { ...full, dataset: 'mnist-bundled', epochs: 1, batchSize: 32, trainLimit: 64, testLimit: 32, imageSize: 32, statBatches: 1, outlierSigma: 3, outliers: 6 },
  runs(c) {
    return c.networks.map((network) => ({
      group: network,
      seed: 1,
      train: {
        dataset: c.dataset as DatasetName, network, norm: 'bn' as const, epochs: c.epochs, batchSize: c.batchSize, optimizer: 'sgd' as const, lr: c.lr,
        momentum: c.momentum, trainLimit: c.trainLimit, testLimit: c.testLimit, imageSize: c.imageSize,
      },
      extra: { statBatches: c.statBatches, outlierSigma: c.outlierSigma, outliers: c.outliers },
    }));
  },
  analyze(spec, ctx) {
    const loader = () => ctx.evalLoader(ctx.data.test).batches();
    const stats = captureLayerInputs(ctx.model, normLayers, loader(), { maxBatches: Number(spec.extra.statBatches) });
    const modules = new Map(ctx.model.namedModules());
    const layers: LayerRow[] = stats.names().map((name) => {
      const s = stats.get(name);
      const a = s.summary();
      const z = s.summary({ standardized: true });
      return {
        layer: name, type: modules.get(name)?.constructor.name ?? '', channels: s.channels,
        summary: { mean: a.mean, std: a.std, min: a.min, max: a.max, p1: a.p1, q1: a.q1, median: a.median, q3: a.q3, p99: a.p99, kurtosis: a.kurtosis, beyondK: a.beyondK },
        standardized: { min: z.min, max: z.max, p1: z.p1, q1: z.q1, median: z.median, q3: z.q3, p99: z.p99, kurtosis: z.kurtosis, beyondK: z.beyondK },
      };
    });
    // The most heavy-tailed channel: the largest (max − mean)/std over every layer and channel.
    let best = { layer: '', channel: 0, z: -Infinity, mean: 0, std: 1 };
    for (const name of stats.names()) {
      const s = stats.get(name);
      for (let ch = 0; ch < s.channels; ch++) {
        const cs = s.channelSummary(ch);
        if (cs.std > 0 && (cs.max - cs.mean) / cs.std > best.z) best = { layer: name, channel: ch, z: (cs.max - cs.mean) / cs.std, mean: cs.mean, std: cs.std };
      }
    }
    const threshold = best.mean + Number(spec.extra.outlierSigma) * best.std;
    const outliers = best.layer === '' ? [] : findOutlierImages(ctx.model, loader(), { layer: best.layer, channel: best.channel, threshold, k: Number(spec.extra.outliers), site: 'input' });
    return {
      layers,
      extreme: { ...best, threshold },
      outliers: outliers.map((o) => ({ index: o.index, value: o.value, imageShape: o.imageShape, image: Array.from(o.image, (v) => Math.round(v * 1e4) / 1e4) })),
    };
  },
  report(c: ActivationStatsConfig, records: RunRecord[], outDir: string) {
    const charts: ChartSpec[] = [];
    const tables: TableSpec[] = [];
    const grids: ImageGridSpec[] = [];
    for (const r of records) {
      const a = r.analysis as unknown as { layers: LayerRow[]; extreme: { layer: string; channel: number; z: number; threshold: number }; outliers: { index: number; value: number; imageShape: number[]; image: number[] }[] };
      charts.push({
        kind: 'boxes', title: `${r.spec.group}: norm-layer inputs, standardized per channel (P1, Q1, median, Q3, P99; whiskers to min/max)`, yLabel: 'z',
        boxes: a.layers.map((l) => ({ label: l.layer, min: l.standardized.min, p1: l.standardized.p1, q1: l.standardized.q1, median: l.standardized.median, q3: l.standardized.q3, p99: l.standardized.p99, max: l.standardized.max })),
      });
      tables.push({
        title: `${r.spec.group}: per-layer statistics of the normalization layers' inputs`,
        columns: ['layer', 'channels', 'mean', 'std', 'min', 'max', 'max z', 'excess kurtosis (z)', 'beyond 3σ %'],
        rows: a.layers.map((l) => [l.layer, l.channels, l.summary.mean.toFixed(3), l.summary.std.toFixed(3), l.summary.min.toFixed(2), l.summary.max.toFixed(2), l.standardized.max.toFixed(1), l.standardized.kurtosis.toFixed(2), (100 * l.standardized.beyondK).toFixed(3)]),
        note: 'A Gaussian has excess kurtosis 0 and 0.27% of its values beyond 3σ; heavier tails are what Filtered BN is built for.',
      });
      grids.push({
        title: `${r.spec.group}: test images whose activation in ${a.extreme.layer} channel ${a.extreme.channel} exceeds ${a.extreme.threshold.toFixed(2)} (${c.outlierSigma}σ; that channel's max is ${a.extreme.z.toFixed(1)}σ)`,
        images: a.outliers.map((o) => ({ data: o.image, channels: o.imageShape[0], height: o.imageShape[1], width: o.imageShape[2], caption: `#${o.index}: ${o.value.toFixed(2)}` })),
      });
    }
    return renderReport(outDir, {
      title: 'activation-stats: are normalization-layer inputs Gaussian?',
      subtitle: `${c.networks.join(' and ')} trained on ${c.dataset}, seed 000 section 2`,
      notes: [
        `Each network is trained ${c.epochs} epoch(s); then the inputs of every normalization layer are summarised over ${c.statBatches} test batches with streaming statistics (quantiles from per-channel histograms with a stated error bound).`,
        'Box plots use values standardized per channel (each channel by its own mean and std, as seed 000 does for ResNet), so layers with different scales are comparable.',
        'Seed 000 shows vgg19_bn layer 51, channel 91 at threshold 14 on ImageNet; here the channel is chosen automatically as the one with the most extreme standardized maximum.',
      ],
      config: c,
      tables,
      charts,
      grids,
    });
  },
};
