// `normlab demo` (also `npm start`): seed 000's LeNet-5 (a norm layer after every conv and hidden
// fc) trained with BatchNorm, Filtered BatchNorm (T = 4) and no normalization on the bundled
// offline digits, then what motivates FBN: the inputs of the trained BN model's norm layers have
// heavy tails (values further out than as many Gaussian values would reach), and those come from
// a few images. Writes the three run directories and runs/demo/report.html (curves,
// per-layer quantiles, the tail histogram, the outlier gallery), then prints a reading of the
// numbers and three commands to try next.
import type { Command } from 'commander';
import { existsSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { runTraining, type RunOutput } from '../train/run.js';
import type { NormSpec } from '../models/index.js';
import { captureLayerInputs, normLayers } from '../analysis/capture.js';
import { findOutlierImages } from '../analysis/outliers.js';
import { liveTensorboardHooks } from '../report/liveTensorboard.js';
import { intArg, threadsArg } from './args.js';
import { deviceFromFlag, deviceOption } from './device.js';

const VARIANTS: { dir: string; label: string; norm: NormSpec }[] = [
  { dir: 'bn', label: 'BatchNorm', norm: 'bn' },
  { dir: 'fbn', label: 'Filtered BatchNorm (T=4)', norm: { kind: 'fbn', threshold: 4 } },
  { dir: 'none', label: 'no normalization', norm: 'none' },
];

/** How far out the BN inputs reach, and the images behind the most extreme channel. */
async function outlierAnalysis(bn: RunOutput, sigma: number) {
  const batches = () => bn.evalLoader(bn.data.test, 250).batches();
  const stats = captureLayerInputs(bn.model, normLayers, batches());
  const layers = stats.names().map((name) => {
    const s = stats.get(name);
    return { name, z: s.summary({ standardized: true }), raw: s.summary() };
  });
  let best = { layer: '', channel: 0, z: -Infinity, mean: 0, std: 1, count: 0 };
  for (const name of stats.names()) {
    const s = stats.get(name);
    for (let ch = 0; ch < s.channels; ch++) {
      const cs = s.channelSummary(ch);
      if (cs.std > 0 && (cs.max - cs.mean) / cs.std > best.z) best = { layer: name, channel: ch, z: (cs.max - cs.mean) / cs.std, mean: cs.mean, std: cs.std, count: cs.count };
    }
  }
  const threshold = best.mean + sigma * best.std;
  const images = findOutlierImages(bn.model, batches(), { layer: best.layer, channel: best.channel, threshold, k: 12, site: 'input' });
  const { histogramChart, quantileBoxChart } = await import('../report/charts.js');
  const heavy = stats.get(best.layer);
  return {
    layers,
    best: { ...best, threshold },
    images,
    charts: [
      {
        title: 'quantiles',
        spec: quantileBoxChart(
          layers.map((l) => ({ layer: l.name, min: l.z.min, p1: l.z.p1, q1: l.z.q1, median: l.z.median, q3: l.z.q3, p99: l.z.p99, max: l.z.max })),
          'BN inputs per layer, standardized per channel (whiskers P1-P99, triangles min/max)',
        ),
      },
      { title: 'tail', spec: histogramChart(heavy.histogram(60, { standardized: true }), `${best.layer} inputs, standardized: log counts show the tail`, { logCounts: true, xTitle: 'z (standard deviations)' }) },
    ],
  };
}

export function demoCommand(program: Command, setCode: (c: number) => void): void {
  program
    .command('demo')
    .description('train LeNet-5 with BN, FBN and no normalization on the bundled digits, show the activation outliers FBN filters, write runs/demo/report.html')
    .option('--epochs <n>', 'epochs per model', intArg('--epochs', 1), 2)
    .option('--threads <n>', 'native threads (0: all cores)', threadsArg('--threads'), 0)
    .option('--seed <n>', 'seed', intArg('--seed', 0), 1)
    .option('--out <dir>', 'folder of the three runs and report.html', 'runs/demo')
    .addOption(deviceOption())
    .action(async (o: { epochs: number; threads: number; seed: number; out: string; device?: string }) => {
      const device = await deviceFromFlag(o.device);
      const out = resolve(o.out);
      process.stdout.write(`normlab demo: LeNet-5 with a norm layer after every conv and fc (seed 000), bundled digits (8000 train / 2000 test), ${o.epochs} epoch(s) each, batch 64, SGD lr 0.01\n`);
      const outputs: RunOutput[] = [];
      const rows: string[][] = [];
      for (const v of VARIANTS) {
        process.stdout.write(`\n== ${v.label}\n`);
        const dir = join(out, v.dir);
        // The demo's own run folders are replaced on every run (a resumed demo would compare stale runs).
        if (existsSync(join(dir, 'config.json'))) rmSync(dir, { recursive: true, force: true });
        const t0 = Date.now();
        const tb = liveTensorboardHooks(dir);
        const r = await runTraining(
          { dataset: 'mnist-bundled', network: 'lenet5', norm: v.norm, epochs: o.epochs, batchSize: 64, optimizer: 'sgd', lr: 0.01, momentum: 0.5, seed: o.seed, threads: o.threads, label: v.label },
          { outDir: dir, device, progress: 'auto', checkpoints: false, onStart: tb.onStart, onEpoch: tb.onEpoch },
        );
        tb.close();
        outputs.push(r);
        const f = r.result.final;
        rows.push([v.label, (100 * f.train_acc).toFixed(2) + '%', f.train_loss.toFixed(4), (100 * (f.test_acc ?? 0)).toFixed(2) + '%', f.test_loss!.toFixed(4), ((Date.now() - t0) / 1000).toFixed(1) + 's']);
      }
      const head = ['normalization', 'train acc', 'train loss', 'test acc', 'test loss', 'time'];
      const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
      const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
      process.stdout.write('\n' + line(head) + '\n' + widths.map((w) => '-'.repeat(w)).join('  ') + '\n' + rows.map(line).join('\n') + '\n');

      const T = 4;
      // The activation statistics and the outlier search read values synchronously: on the CPU.
      await outputs[0].model.toAsync('cpu');
      const a = await outlierAnalysis(outputs[0], T);
      const acc = outputs.map((r) => r.result.final.test_acc ?? 0);
      const pp = (x: number): string => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)} pp`;
      const beyond = a.layers.reduce((s, l) => s + l.z.beyondK * l.z.count, 0) / a.layers.reduce((s, l) => s + l.z.count, 0);
      const maxZ = Math.max(...a.layers.map((l) => l.z.max));
      const n = a.layers.find((l) => l.z.max === maxZ)!.z.count;
      // The expected largest of n standard normal values: √(2 ln n) − (ln ln n + ln 4π) / (2√(2 ln n)).
      const gaussMax = Math.sqrt(2 * Math.log(n)) - (Math.log(Math.log(n)) + Math.log(4 * Math.PI)) / (2 * Math.sqrt(2 * Math.log(n)));
      const reading = [
        `Normalizing helps: BN ${(100 * acc[0]).toFixed(1)}% vs ${(100 * acc[2]).toFixed(1)}% without normalization (${pp(acc[0] - acc[2])}) after ${o.epochs} epoch(s) at the same learning rate; FBN, which leaves values beyond ${T}σ out of its batch statistics, ${pp(acc[1] - acc[0])} vs BN (one seed: differences under ~1 pp are noise).`,
        `Why FBN exists: BN's inputs reach ${maxZ.toFixed(1)}σ, where ${n.toLocaleString('en-US')} Gaussian values would stop near ${gaussMax.toFixed(1)}σ; the digits behind the largest (${a.best.layer}, channel ${a.best.channel}) are the report's outlier gallery.`,
      ];

      const { buildRunReport } = await import('../report/html.js');
      const reportFile = join(out, 'report.html');
      await buildRunReport(VARIANTS.map((v) => join(out, v.dir)), reportFile, {
        title: 'normlab demo: BatchNorm vs Filtered BatchNorm vs no normalization',
        charts: a.charts,
        images: [{
          title: `Test digits whose ${a.best.layer} input in channel ${a.best.channel} exceeds ${T}σ (${a.best.threshold.toFixed(2)}), largest first`,
          cells: a.images.map((im) => ({ image: im.image, shape: im.imageShape, caption: `#${im.index}: ${((im.value - a.best.mean) / a.best.std).toFixed(1)}σ` })),
          scale: 3,
        }],
        lead: reading,
        notes: [
          `Statistics: the inputs of every BatchNorm layer of the BN model on the ${outputs[0].data.test.n} test digits, each channel standardized by its own mean and std; ${(100 * beyond).toFixed(3)}% of them lie beyond 3σ (a Gaussian: 0.27%).`,
          'Filtered BN (seed 000, arXiv 2010.08251) computes the batch mean and variance from the values within T standard deviations, so a few extreme activations do not shift the normalization of the whole batch; at inference it is the same as BN.',
        ],
      });
      const shown = (p: string): string => (relative(process.cwd(), p).startsWith('..') ? p : relative(process.cwd(), p));
      process.stdout.write(`\nreport: ${shown(reportFile)}\n\n${reading.join('\n')}\n\nnext:\n`);
      const next = [
        ['normlab train --network lenet5 --norm fbn --threshold 2 --epochs 3 --out runs/fbn-t2', 'a stricter filter, longer'],
        [`normlab serve ${shown(resolve(out, '..'))}`, 'live curves of every run, side by side'],
        ['normlab run fbn-lenet5', "seed 000's LeNet-5 BN vs FBN experiment"],
      ];
      const width = Math.max(...next.map(([c]) => c.length));
      process.stdout.write(next.map(([c, why]) => `  ${c.padEnd(width)}   # ${why}\n`).join(''));
      setCode(0);
    });
}
