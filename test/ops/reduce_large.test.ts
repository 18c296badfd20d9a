// Reductions and softmax on seeded inputs of up to 1e7 elements (with 1e4 offsets) against
// PyTorch's float32 results and float64 references, on every ISA path with 1 and 2 threads;
// results must be bitwise identical for 1 and 2 threads.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { functional as F, Tensor } from '../../src/index.js';
import { getNumThreads, setNumThreads } from '../../src/backend/index.js';
import { loadFixtures, type FixtureCase } from '../helpers/fixtures.js';
import { forEachIsaAndThreads } from '../helpers/opcases.js';
import { assertClose } from '../helpers/assert.js';
import { seededUniform } from '../helpers/seeded.js';

const cases = loadFixtures('reduce_large');
const inputs = new Map<string, Float32Array>();

function input(c: FixtureCase): Tensor {
  const p = c.params as { input: string; shape: number[]; seed: number; scale: number; offset: number };
  const key = `${p.input}/${p.seed}/${p.shape.join('x')}`;
  let data = inputs.get(key);
  if (data === undefined) {
    data = seededUniform(p.shape.reduce((a, b) => a * b, 1), p.seed, p.scale, p.offset);
    inputs.set(key, data);
  }
  return new Tensor(data, p.shape);
}

function run(c: FixtureCase, x: Tensor): Tensor {
  const op = c.params.op as string;
  const dims = (c.params.dims as number | number[] | null) ?? undefined;
  switch (op) {
    case 'sum': return F.sum(x, dims);
    case 'mean': return F.mean(x, dims);
    case 'var': return F.variance(x, dims);
    case 'std': return F.std(x, dims);
    case 'amax': case 'max': return F.max(x, dims);
    case 'amin': case 'min': return F.min(x, dims);
    case 'softmax': return F.softmax(x, -1);
    case 'logSoftmax': return F.logSoftmax(x, -1);
    default: throw new Error(`unknown op ${op}`);
  }
}

/** Float64 softmax (or log-softmax) of each row of x viewed as [rows, cols]. */
function softmaxRef(x: Float32Array, cols: number, log: boolean): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / cols; r++) {
    let m = -Infinity;
    for (let i = 0; i < cols; i++) m = Math.max(m, x[r * cols + i]);
    let s = 0;
    for (let i = 0; i < cols; i++) s += Math.exp(x[r * cols + i] - m);
    for (let i = 0; i < cols; i++) {
      const d = x[r * cols + i] - m;
      y[r * cols + i] = log ? d - Math.log(s) : Math.exp(d) / s;
    }
  }
  return y;
}

const tol = { rtol: 1e-5, atol: 0 };
// Input "c" has zero mean: a row sum near 0 has relative error up to eps * sum|x| / |sum x| in any
// float32 summation (PyTorch's own result is off by 1.5e-3 relative on one row), so those cases
// are held to 1e-5 of the largest output instead.
const cancelling = { rtol: 1e-5, atol: 0, scaleToMax: true };

describe('reductions and softmax on seeded inputs up to 1e7 elements against PyTorch', () => {
  forEachIsaAndThreads(() => {
    for (const c of cases) {
      it(`matches ${c.name} at 1e-5 relative`, () => {
        const x = input(c);
        const out = run(c, x);
        assert.deepEqual(out.shape, c.tensors.out.shape);
        const t = c.params.input === 'c' && c.params.op !== 'max' && c.params.op !== 'var' ? cancelling : tol;
        assertClose(out.buffer, c.tensors.out.data, `${c.name} vs PyTorch float32`, t);
        if (c.tensors.ref !== undefined) assertClose(out.buffer, c.tensors.ref.data, `${c.name} vs float64`, t);
        if (c.tensors.idx !== undefined) {
          // The arg position of torch.max(x, dim): the gradient lands there.
          const xs = new Tensor(x.buffer, x.shape, { requiresGrad: true });
          const o = run(c, xs);
          o.backward(new Tensor(new Float32Array(o.size).fill(1), o.shape));
          const d = c.params.dims as number;
          const stride = x.shape.slice(d + 1).reduce((a, b) => a * b, 1);
          const outer = x.shape.slice(0, d).reduce((a, b) => a * b, 1);
          const g = xs.grad!.buffer;
          const idx = new Float32Array(o.size);
          for (let k = 0; k < o.size; k++) {
            const base = Math.floor(k / stride) * x.shape[d] * stride + (k % stride);
            for (let r = 0; r < x.shape[d]; r++) if (g[base + r * stride] === 1) idx[k] = r;
          }
          assert.equal(outer * stride, o.size);
          assert.deepEqual([...idx], [...c.tensors.idx.data], `${c.name}: arg positions`);
        }
      });
    }
  });
});

describe('softmax of a 1e7-element tensor', () => {
  const shape = [2442, 4096];
  const x = seededUniform(shape[0] * shape[1], 11, 30, 1e4);
  for (const log of [false, true]) {
    it(`matches a float64 ${log ? 'log-softmax' : 'softmax'} at 1e-5 relative`, () => {
      const t = new Tensor(x, shape);
      const y = log ? F.logSoftmax(t, -1) : F.softmax(t, -1);
      assertClose(y.buffer, softmaxRef(x, shape[1], log), log ? 'logSoftmax' : 'softmax', { rtol: 1e-5, atol: 1e-30 });
    });
  }
});

describe('cross-entropy on 1000-class rows', () => {
  forEachIsaAndThreads(() => {
    it('matches a float64 loss and gradient with label smoothing at 1e-5 relative', () => {
      const [N, C, eps] = [37, 1000, 0.1];
      const x = seededUniform(N * C, 41, 6, 1e4);
      const target = Int32Array.from({ length: N }, (_, i) => (i * 389) % C);
      const logits = new Tensor(x.slice(), [N, C], { requiresGrad: true });
      const loss = F.crossEntropy(logits, target, { labelSmoothing: eps });
      loss.backward();
      // loss = mean_i [lse_i - (1 - eps) x[i, t_i] - eps mean_c x[i, c]];
      // grad = (softmax - (1 - eps) onehot - eps / C) / N.
      let ref = 0;
      const g = new Float64Array(N * C);
      for (let i = 0; i < N; i++) {
        let m = -Infinity;
        for (let c = 0; c < C; c++) m = Math.max(m, x[i * C + c]);
        let s = 0;
        let sx = 0;
        for (let c = 0; c < C; c++) {
          s += Math.exp(x[i * C + c] - m);
          sx += x[i * C + c];
        }
        const lse = m + Math.log(s);
        ref += lse - (1 - eps) * x[i * C + target[i]] - (eps * sx) / C;
        for (let c = 0; c < C; c++) g[i * C + c] = (Math.exp(x[i * C + c] - lse) - eps / C - (c === target[i] ? 1 - eps : 0)) / N;
      }
      assertClose(loss.buffer, [ref / N], 'loss', { rtol: 1e-5, atol: 0 });
      assertClose(logits.grad!.buffer, g, 'gradient', { rtol: 1e-5, atol: 1e-9 });
    });
  });
});

describe('thread-count independence', () => {
  const nt0 = getNumThreads();
  after(() => setNumThreads(nt0));
  const specs: [string, number[], (x: Tensor) => Tensor][] = [
    ['sum()', [10, 100, 100, 100], (x) => F.sum(x)],
    ['sum([0, 2, 3])', [10, 100, 100, 100], (x) => F.sum(x, [0, 2, 3])],
    ['var()', [10, 100, 100, 100], (x) => F.variance(x)],
    ['mean(1)', [128, 64, 32, 32], (x) => F.mean(x, 1)],
    ['max(1)', [128, 64, 32, 32], (x) => F.max(x, 1)],
    ['sum(0) of [156250, 64]', [156250, 64], (x) => F.sum(x, 0)],
    ['std([0, 1]) of [1000, 37, 11]', [1000, 37, 11], (x) => F.std(x, [0, 1])],
    ['softmax of [4096, 1024]', [4096, 1024], (x) => F.softmax(x, -1)],
  ];
  for (const [name, shape, op] of specs) {
    it(`gives bitwise identical ${name} for 1 and 2 threads`, () => {
      const x = new Tensor(seededUniform(shape.reduce((a, b) => a * b, 1), 21, 2, 1e4), shape);
      setNumThreads(1);
      const one = op(x).buffer;
      setNumThreads(2);
      // A copy of the input (another buffer, possibly another alignment) must give the same bits.
      const two = op(new Tensor(x.buffer.slice(), shape)).buffer;
      assert.ok(Buffer.from(one.buffer, one.byteOffset, one.byteLength).equals(Buffer.from(two.buffer, two.byteOffset, two.byteLength)), name);
    });
  }
});
