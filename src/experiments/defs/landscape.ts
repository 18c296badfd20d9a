// Seed 000 (mnist_loss_test.py, vgg_loss_landscape.py): loss and gradient-norm landscapes of
// BN and FBN models around their trained weights, in filter-normalized random directions
// (Li et al. 2018). The seed's landscape script never passes its threshold to the FBN layers;
// here each FBN model uses the configured threshold.
import type { Experiment, RunRecord, SgdRunConfig } from '../experiment.js';
import type { DatasetName } from '../../data/load.js';
import { lossLandscape, linspace, type LandscapeResult } from '../../analysis/landscape.js';
import { renderReport } from '../render.js';
import { FBN_DEFAULTS, fbnSpec, fbnVariantNote } from '../fbnSpec.js';
import type { ChartSpec } from '../reportSpec.js';

export interface LandscapeConfig extends SgdRunConfig {
  dataset: string;
  network: string;
  threshold: number;
  dims: number;
  points: number;
  span: number;
  evalBatches: number;
  fbnPooled1d: boolean;
  fbnEvalMode: string;
}

const full: LandscapeConfig = {
  dataset: 'mnist', network: 'fbn-mnist', threshold: 4, epochs: 3, batchSize: 256, lr: 0.01, momentum: 0.5, trainLimit: 0, testLimit: 0,
  dims: 2, points: 21, span: 1, evalBatches: 4, ...FBN_DEFAULTS,
};

export const landscape: Experiment<LandscapeConfig> = {
  name: 'landscape',
  seedDoc: '000',
  seedFile: 'MNIST/mnist_loss_test.py, ImageNet/vgg_loss_landscape.py',
  description: 'loss and gradient-norm landscapes (filter-normalized directions) of BN and FBN models',
  full,
  quick: { ...full, dataset: 'mnist-bundled', epochs: 1, batchSize: 64, lr: 0.05, momentum: 0.9, trainLimit: 600, testLimit: 128, dims: 2, points: 5, evalBatches: 1 },
  runs(c) {
    const base = {
      dataset: c.dataset as DatasetName, network: c.network, epochs: c.epochs, batchSize: c.batchSize, optimizer: 'sgd' as const, lr: c.lr,
      momentum: c.momentum, trainLimit: c.trainLimit, testLimit: c.testLimit,
    };
    const extra = { dims: c.dims, points: c.points, span: c.span, evalBatches: c.evalBatches };
    return [
      { group: 'BN', seed: 1, train: { ...base, norm: 'bn' as const }, extra },
      { group: `FBN T=${c.threshold}`, seed: 1, train: { ...base, norm: fbnSpec('landscape', c.threshold, c) }, extra },
    ];
  },
  analyze(spec, ctx) {
    const batches = [];
    for (const b of ctx.evalLoader(ctx.data.test, 128).batches()) {
      batches.push(b);
      if (batches.length >= Number(spec.extra.evalBatches)) break;
    }
    const span = Number(spec.extra.span);
    const grid = linspace(-span, span, Number(spec.extra.points));
    const result = lossLandscape(ctx.model, batches, { dims: Number(spec.extra.dims) === 2 ? 2 : 1, alphas: grid, seed: 1 });
    return { landscape: result };
  },
  report(c: LandscapeConfig, records: RunRecord[], outDir: string) {
    const charts: ChartSpec[] = [];
    for (const r of records) {
      const l = (r.analysis?.landscape ?? null) as LandscapeResult | null;
      if (l === null) continue;
      if (l.betas !== undefined && l.betas.length > 1) {
        charts.push({ kind: 'contour', title: `${r.spec.group}: loss landscape`, xLabel: 'α (direction 1)', yLabel: 'β (direction 2)', valueLabel: 'loss', xs: l.alphas, ys: l.betas, values: l.loss });
        if (l.gradNorm) charts.push({ kind: 'contour', title: `${r.spec.group}: gradient-norm landscape`, xLabel: 'α', yLabel: 'β', valueLabel: '‖∇L‖', xs: l.alphas, ys: l.betas, values: l.gradNorm });
      }
    }
    const mid = (l: LandscapeResult): number => Math.floor((l.betas?.length ?? 1) / 2);
    const withL = records.filter((r) => r.analysis?.landscape);
    charts.push({
      kind: 'lines', title: 'Loss along direction 1 (β = 0)', xLabel: 'α', yLabel: 'loss',
      series: withL.map((r) => { const l = r.analysis!.landscape as LandscapeResult; return { label: r.spec.group, x: l.alphas, y: l.loss[mid(l)] }; }),
    });
    charts.push({
      kind: 'lines', title: 'Gradient norm along direction 1 (β = 0)', xLabel: 'α', yLabel: '‖∇L‖',
      series: withL.map((r) => { const l = r.analysis!.landscape as LandscapeResult; return { label: r.spec.group, x: l.alphas, y: (l.gradNorm ?? l.loss)[mid(l)] }; }),
    });
    return renderReport(outDir, {
      title: 'landscape: loss and gradient landscapes of BN and FBN',
      subtitle: `${c.network} on ${c.dataset}, seed 000`,
      notes: [
        `Both models are trained ${c.epochs} epoch(s) with the same seed; the landscape is evaluated on ${c.evalBatches} fixed test batch(es) in eval mode on a ${c.points}×${c.dims === 2 ? c.points : 1} grid over [−${c.span}, ${c.span}] along filter-normalized Gaussian directions (Li et al. 2018; biases and norm parameters get no direction).`,
        'Difference from the seed: its landscape script builds FBN layers without passing its threshold; here FBN uses T = ' + c.threshold + '.',
        fbnVariantNote(c),
        'A flatter, smaller gradient-norm basin around α = β = 0 is what seed 000 reports for FBN.',
      ],
      config: c,
      tables: [{
        title: 'Loss at the trained weights and at the grid corners',
        columns: ['model', 'loss at 0', 'max loss on grid', 'max ‖∇L‖ on grid'],
        rows: withL.map((r) => {
          const l = r.analysis!.landscape as LandscapeResult;
          const flat = l.loss.flat();
          const g = (l.gradNorm ?? []).flat();
          const m = mid(l);
          return [r.spec.group, l.loss[m][Math.floor(l.alphas.length / 2)].toFixed(4), Math.max(...flat).toFixed(4), g.length > 0 ? Math.max(...g).toFixed(4) : 'n/a'];
        }),
      }],
      charts,
      grids: [],
    });
  },
};
