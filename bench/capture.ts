// Cost of capturing activation statistics: the inputs of every normalization layer of the small
// MNIST CNN over the 10,000 bundled digits, against the plain forward pass over the same batches
// (issue goal: < 2x). No PyTorch counterpart: the seed's scripts collect raw activations in
// Python lists, which is not a like-for-like measure.
import { models, noGrad, setNumThreads } from '../src/index.js';
import { loadBundledMnistAll } from '../src/data/bundled.js';
import { DataLoader } from '../src/data/loader.js';
import { captureLayerInputs, normLayers } from '../src/analysis/capture.js';
import { report } from './common.js';

export function main(): void {
  const ds = loadBundledMnistAll();
  for (const threads of [1, 2]) {
    setNumThreads(threads);
    const model = models.createModel('fbn-mnist', { norm: 'bn' }).eval();
    const loader = new DataLoader(ds, { batchSize: 500 });
    const batches = [...loader.batches()];
    const plain = (): number => {
      const t0 = performance.now();
      noGrad(() => {
        for (const b of batches) model.call(b.x);
      });
      return performance.now() - t0;
    };
    const capture = (): number => {
      const t0 = performance.now();
      captureLayerInputs(model, normLayers, batches);
      return performance.now() - t0;
    };
    plain();
    capture();
    const p: number[] = [];
    const c: number[] = [];
    for (let r = 0; r < 5; r++) {
      p.push(plain());
      c.push(capture());
    }
    p.sort((a, b) => a - b);
    c.sort((a, b) => a - b);
    const line = report('capture norm-layer input statistics, 10k MNIST, fbn-mnist', threads, c[2], undefined, { plain_forward_ms: Math.round(p[2] * 10) / 10, capture_over_plain: Math.round((c[2] / p[2]) * 100) / 100 });
    void line;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
