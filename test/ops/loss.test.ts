import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { functional as F, tensor, Tensor, getNumThreads, setNumThreads } from '../../src/index.js';
import { loadFixtures, type FixtureCase } from '../helpers/fixtures.js';
import { checkOpCase, forEachIsaAndThreads } from '../helpers/opcases.js';
import { gradcheck } from '../helpers/gradcheck.js';
import type { Reduction } from '../../src/ops/loss.js';

function run(c: FixtureCase, x: Tensor[]): Tensor {
  const p = c.params;
  const target = c.tensors.target === undefined ? undefined : Int32Array.from(c.tensors.target.data);
  const opts = {
    labelSmoothing: p.labelSmoothing as number | undefined,
    ignoreIndex: p.ignoreIndex as number | undefined,
    reduction: p.reduction as Reduction | undefined,
  };
  switch (p.op) {
    case 'crossEntropy': return F.crossEntropy(x[0], target!, opts);
    case 'nllLoss': return F.nllLoss(x[0], target!, opts);
    case 'mseLoss': return F.mseLoss(x[0], x[1]);
    case 'bceWithLogits': return F.bceWithLogits(x[0], x[1]);
    default: throw new Error(`unknown op ${String(p.op)}`);
  }
}

const cases = loadFixtures('loss');

describe('losses against PyTorch fixtures', () => {
  forEachIsaAndThreads(() => {
    for (const c of cases) it(`matches ${c.name}`, () => checkOpCase(c, (x) => run(c, x)));
  });
});

function rnd(n: number, seed: number, lo = -2, hi = 2): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return lo + ((s >>> 8) / 16777216) * (hi - lo);
  });
}

/** Float64 cross-entropy, PyTorch 1.13 smoothing: (1 - eps) * nll + eps * mean_c(-logp_c), mean over valid rows. */
function crossEntropyRef(N: number, C: number, t: number[], eps: number, ignore: number) {
  return ([x]: Float64Array[]): Float64Array => {
    let sum = 0;
    let valid = 0;
    for (let i = 0; i < N; i++) {
      if (t[i] === ignore) continue;
      const row = Array.from(x.subarray(i * C, (i + 1) * C));
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
      const nll = lse - row[t[i]];
      const smooth = row.reduce((a, v) => a + (lse - v), 0) / C;
      sum += (1 - eps) * nll + eps * smooth;
      valid++;
    }
    return Float64Array.of(sum / valid);
  };
}

describe('loss gradients against float64 finite differences', () => {
  const t = [0, 3, 1, 3, 2];
  for (const [eps, ignore] of [[0, -100], [0.1, -100], [0.2, 3]]) {
    it(`checks crossEntropy with labelSmoothing ${eps} and ignoreIndex ${ignore}`, () => {
      gradcheck('crossEntropy', ([x]) => F.crossEntropy(x, t, { labelSmoothing: eps, ignoreIndex: ignore }), crossEntropyRef(5, 4, t, eps, ignore), [
        { data: rnd(20, 3), shape: [5, 4] },
      ]);
    });
  }
  it('checks crossEntropy for batch 1', () => {
    gradcheck('crossEntropy', ([x]) => F.crossEntropy(x, [2]), crossEntropyRef(1, 3, [2], 0, -100), [{ data: rnd(3, 4), shape: [1, 3] }]);
  });
  it('checks nllLoss', () => {
    gradcheck('nllLoss', ([x]) => F.nllLoss(x, t), ([x]) => Float64Array.of(-t.reduce((a, c, i) => a + x[i * 4 + c], 0) / t.length), [
      { data: rnd(20, 5), shape: [5, 4] },
    ]);
  });
  it('checks mseLoss for both arguments', () => {
    gradcheck('mseLoss', ([a, b]) => F.mseLoss(a, b), ([a, b]) => Float64Array.of(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0) / a.length), [
      { data: rnd(12, 6), shape: [3, 4] },
      { data: rnd(12, 7), shape: [3, 4] },
    ]);
  });
  it('checks bceWithLogits for logits and targets', () => {
    const ref = ([x, y]: Float64Array[]): Float64Array =>
      Float64Array.of(x.reduce((s, v, i) => s + Math.max(v, 0) - v * y[i] + Math.log1p(Math.exp(-Math.abs(v))), 0) / x.length);
    gradcheck('bceWithLogits', ([x, y]) => F.bceWithLogits(x, y), ref, [
      { data: rnd(12, 8, -4, 4), shape: [3, 4] },
      { data: rnd(12, 9, 0, 1), shape: [3, 4] },
    ]);
  });
});

describe('mseLoss and bceWithLogits reductions', () => {
  const mseRef = (mode: string) => ([a, b]: Float64Array[]): Float64Array => {
    const per = Float64Array.from(a, (v, i) => (v - b[i]) ** 2);
    return mode === 'none' ? per : Float64Array.of(per.reduce((s, v) => s + v, 0));
  };
  const bceRef = (mode: string) => ([x, y]: Float64Array[]): Float64Array => {
    const per = Float64Array.from(x, (v, i) => Math.max(v, 0) - v * y[i] + Math.log1p(Math.exp(-Math.abs(v))));
    return mode === 'none' ? per : Float64Array.of(per.reduce((s, v) => s + v, 0));
  };
  for (const mode of ['sum', 'none'] as const) {
    it(`checks mseLoss with reduction '${mode}' against float64 finite differences`, () => {
      gradcheck('mseLoss', ([a, b]) => F.mseLoss(a, b, { reduction: mode }), mseRef(mode), [
        { data: rnd(12, 16), shape: [3, 4] },
        { data: rnd(12, 17), shape: [3, 4] },
      ]);
    });
    it(`checks bceWithLogits with reduction '${mode}' against float64 finite differences`, () => {
      gradcheck('bceWithLogits', ([x, y]) => F.bceWithLogits(x, y, { reduction: mode }), bceRef(mode), [
        { data: rnd(12, 18, -4, 4), shape: [3, 4] },
        { data: rnd(12, 19, 0, 1), shape: [3, 4] },
      ]);
    });
  }

  it('gives the per-element values PyTorch gives for reduction none', () => {
    // torch: F.mse_loss([1, 2], [0, 4], reduction='none') = [1, 4];
    // F.binary_cross_entropy_with_logits([0, 2], [1, 0], reduction='none') = [0.6931, 2.1269].
    assert.deepEqual([...F.mseLoss(tensor([1, 2]), tensor([0, 4]), { reduction: 'none' }).data()], [1, 4]);
    const b = F.bceWithLogits(tensor([0, 2]), tensor([1, 0]), { reduction: 'none' }).data();
    assert.ok(Math.abs(b[0] - Math.LN2) < 1e-6 && Math.abs(b[1] - 2.126928) < 1e-6, `got ${[...b]}`);
    assert.equal(F.mseLoss(tensor([1, 2]), tensor([0, 4]), { reduction: 'sum' }).item(), 5);
  });

  it('rejects an unknown reduction by name', () => {
    const a = tensor([1, 2]);
    // @ts-expect-error: checked at run time for JavaScript callers.
    assert.throws(() => F.mseLoss(a, a, { reduction: 'avg' }), /mseLoss: reduction must be 'mean', 'sum' or 'none', got 'avg'/);
  });
});

describe('crossEntropy targets', () => {
  const logits = tensor(Float32Array.from([1, 2, 3, 0, -1, 4]), [2, 3]);
  it('accepts Int32Array, number[] and Tensor targets alike', () => {
    const a = F.crossEntropy(logits, Int32Array.from([2, 1])).item();
    assert.equal(F.crossEntropy(logits, [2, 1]).item(), a);
    assert.equal(F.crossEntropy(logits, tensor([2, 1])).item(), a);
  });
  it('gives NaN when every row is ignored, as PyTorch', () => {
    assert.ok(Number.isNaN(F.crossEntropy(logits, [1, 1], { ignoreIndex: 1 }).item()));
  });
  it('gives bitwise the same loss and gradient on 1 and 2 threads', () => {
    const data = rnd(512 * 37, 10);
    const tt = Array.from({ length: 512 }, (_, i) => (i * 7) % 37);
    const nt0 = getNumThreads();
    try {
      const results = [1, 2].map((n) => {
        setNumThreads(n);
        const x = new Tensor(data.slice(), [512, 37], { requiresGrad: true });
        const l = F.crossEntropy(x, tt, { labelSmoothing: 0.1 });
        l.backward();
        return { loss: l.item(), grad: x.grad!.data() };
      });
      assert.equal(results[0].loss, results[1].loss);
      assert.deepEqual(results[0].grad, results[1].grad);
    } finally {
      setNumThreads(nt0);
    }
  });
});

describe('loss errors', () => {
  const logits = tensor(new Float32Array(6), [2, 3]);
  it('rejects a non-integer target', () => {
    assert.throws(() => F.crossEntropy(logits, [0, 1.5]), /crossEntropy: target\[1\] = 1.5 is not an integer class index/);
    assert.throws(() => F.nllLoss(logits, tensor([0.25, 1])), /nllLoss: target\[0\] = 0.25 is not an integer class index/);
  });
  it('rejects a target out of range, naming the index and value', () => {
    assert.throws(() => F.crossEntropy(logits, [0, 3]), /crossEntropy: target\[1\] = 3 is out of range \[0, 3\)/);
    assert.throws(() => F.crossEntropy(logits, Int32Array.from([-1, 0])), /crossEntropy: target\[0\] = -1 is out of range \[0, 3\)/);
  });
  it('rejects a batch size mismatch', () => {
    assert.throws(() => F.crossEntropy(logits, [0, 1, 2]), /crossEntropy: target has 3 entries but logits have batch size 2/);
  });
  it('rejects logits that are not [N, C]', () => {
    assert.throws(() => F.crossEntropy(tensor(new Float32Array(3), [3]), [0]), /crossEntropy: logits must have rank 2, got rank 1 \(shape \[3\]\)/);
    assert.throws(() => F.crossEntropy(tensor(new Float32Array(12), [2, 3, 2]), [0, 1]), /crossEntropy: logits must have rank 2, got rank 3/);
  });
  it('rejects a target tensor of the wrong rank', () => {
    assert.throws(() => F.crossEntropy(logits, tensor(new Float32Array(2), [2, 1])), /crossEntropy: target must have rank 1, got rank 2/);
  });
  it('rejects mseLoss and bceWithLogits arguments of different shapes', () => {
    assert.throws(() => F.mseLoss(logits, tensor(new Float32Array(3), [3])), /mseLoss: target must have shape \[2, 3\], got \[3\]/);
    assert.throws(() => F.bceWithLogits(logits, tensor(new Float32Array(6), [3, 2])), /bceWithLogits: target must have shape \[2, 3\], got \[3, 2\]/);
  });
  it('rejects labelSmoothing outside [0, 1]', () => {
    assert.throws(() => F.crossEntropy(logits, [0, 1], { labelSmoothing: 1.5 }), /crossEntropy: labelSmoothing must be in \[0, 1\], got 1.5/);
  });
});
