// Seed 002: the 7-block MNIST network with BN + L1, LayerNorm and GroupNorm(2), with dropout;
// learning curves, a final table and galleries of misclassified test digits.
import type { Experiment, RunRecord, SgdRunConfig } from '../experiment.js';
import type { DatasetName } from '../../data/load.js';
import { curves, finalTable } from '../compare.js';
import { renderReport } from '../render.js';
import { findMisclassified } from '../../analysis/misclassified.js';
import type { ImageGridSpec } from '../reportSpec.js';

export interface MnistNormsConfig extends SgdRunConfig {
  dataset: string;
  l1: number;
  dropout: number;
  seeds: number;
  gallery: number;
}

const full: MnistNormsConfig = { dataset: 'mnist', epochs: 15, batchSize: 128, lr: 0.01, momentum: 0.9, l1: 1e-3, dropout: 0.05, seeds: 1, trainLimit: 0, testLimit: 0, gallery: 10 };

export const mnistNorms: Experiment<MnistNormsConfig> = {
  name: 'mnist-norms',
  seedDoc: '002',
  seedFile: 'README (Net, batch_norm(), the L1 loss)',
  description: 'MNIST 7-block CNN: BN + L1 vs LayerNorm vs GroupNorm(2) with dropout; curves, table, misclassified galleries',
  full,
  quick: { ...full, dataset: 'mnist-bundled', epochs: 2, batchSize: 64, lr: 0.05, trainLimit: 1000, testLimit: 300, gallery: 6 },
  runs(c) {
    const base = {
      dataset: c.dataset as DatasetName, network: 'seed002', epochs: c.epochs, batchSize: c.batchSize, optimizer: 'sgd' as const, lr: c.lr,
      momentum: c.momentum, trainLimit: c.trainLimit, testLimit: c.testLimit, dropout: c.dropout,
    };
    const out = [];
    for (let s = 1; s <= c.seeds; s++) {
      out.push({ group: 'BN + L1', seed: s, train: { ...base, norm: 'bn' as const, l1: c.l1 }, extra: { gallery: c.gallery } });
      out.push({ group: 'LayerNorm', seed: s, train: { ...base, norm: 'ln' as const }, extra: { gallery: c.gallery } });
      out.push({ group: 'GroupNorm(2)', seed: s, train: { ...base, norm: { kind: 'gn' as const, groups: 2 } }, extra: { gallery: c.gallery } });
    }
    return out;
  },
  analyze(spec, ctx) {
    const k = Number(spec.extra.gallery);
    const samples = findMisclassified(ctx.model, ctx.evalLoader(ctx.data.test).batches(), { k });
    return { misclassified: samples.map((m) => ({ ...m, image: Array.from(m.image, (v) => Math.round(v * 1e4) / 1e4) })) };
  },
  report(c: MnistNormsConfig, records: RunRecord[], outDir: string) {
    const grids: ImageGridSpec[] = records
      .filter((r) => r.spec.seed === 1)
      .map((r) => {
        const mis = (r.analysis?.misclassified ?? []) as { index: number; predicted: number; label: number; probability: number; image: number[]; imageShape: number[] }[];
        return {
          title: `Misclassified test digits: ${r.spec.group}`,
          images: mis.map((m) => ({ data: m.image, channels: m.imageShape[0], height: m.imageShape[1], width: m.imageShape[2], caption: `#${m.index}: predicted ${m.predicted} (${(100 * m.probability).toFixed(0)}%), true ${m.label}` })),
        };
      });
    return renderReport(outDir, {
      title: 'mnist-norms: BN + L1, LayerNorm and GroupNorm on MNIST',
      subtitle: `seed 002's 7-block network on ${c.dataset}`,
      notes: [
        `Each network: ${c.epochs} epoch(s), batch ${c.batchSize}, SGD lr ${c.lr} momentum ${c.momentum}, dropout ${c.dropout}. BN + L1 adds ${c.l1}·Σ|w| over every parameter named 'weight' (BN γ included), as the seed does (its 10e-4).`,
        "LayerNorm is GroupNorm(1, C), as the seed builds it; GroupNorm uses 2 groups. The seed's unused convblock7 is left out.",
      ],
      config: c,
      tables: [finalTable(records)],
      charts: [
        curves(records, 'test_acc', 'Test accuracy per epoch', 'test accuracy'),
        curves(records, 'train_acc', 'Training accuracy per epoch', 'train accuracy'),
        curves(records, 'test_loss', 'Test loss per epoch', 'test loss'),
      ],
      grids,
    });
  },
};
