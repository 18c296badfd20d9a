import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { functional as F, tensor, Tensor, getNumThreads, setNumThreads } from '../../src/index.js';
import { loadFixtures, type FixtureCase } from '../helpers/fixtures.js';
import { checkOpCase, forEachIsaAndThreads } from '../helpers/opcases.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { assertClose } from '../helpers/assert.js';
import { ensureSecondDevice, forEachDevice, runsCpuKernels } from '../helpers/device.js';
import { checkOpCaseOn } from '../helpers/device_cases.js';
import type { Reduction, Target } from '../../src/ops/loss.js';

/** Runs the case's loss; `asTarget` turns the fixture's class indices into the target argument. */
function run(c: FixtureCase, x: Tensor[], asTarget: (classes: Int32Array) => Target = (classes) => classes): Tensor {
  const p = c.params;
  const target = c.tensors.target === undefined ? undefined : asTarget(Int32Array.from(c.tensors.target.data));
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

forEachDevice('losses against PyTorch fixtures', (device, tools) => {
  for (const c of cases) {
    it(`matches ${c.name}`, () => checkOpCaseOn(c, tools, (x) => run(c, x)));
    if (c.tensors.target !== undefined) {
      it(`matches ${c.name} with the target as a tensor on the device`, () =>
        checkOpCaseOn(c, tools, (x) => run(c, x, (classes) => tools.t(Float32Array.from(classes), [classes.length]))));
    }
  }
});

/**
 * Float64 loss terms and their derivatives for inputs a [5, 4] and b (classes [5] or values
 * [5, 4]): one term per row (class losses, ignoreIndex 2, smoothing 0.1) or per element.
 */
const termRefs = {
  crossEntropy(a: Float32Array, t: Float32Array) {
    const eps = 0.1;
    return Array.from(t, (ti, i) => {
      const row = Array.from(a.subarray(i * 4, i * 4 + 4));
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
      const loss = (1 - eps) * (lse - row[ti]) + (eps * row.reduce((s, v) => s + lse - v, 0)) / 4;
      return { ignored: ti === 2, loss, da: row.map((v, c) => Math.exp(v - lse) - ((1 - eps) * (c === ti ? 1 : 0) + eps / 4)), db: [] as number[] };
    });
  },
  nllLoss(a: Float32Array, t: Float32Array) {
    return Array.from(t, (ti, i) => ({ ignored: ti === 2, loss: -a[i * 4 + ti], da: [0, 1, 2, 3].map((c) => (c === ti ? -1 : 0)), db: [] as number[] }));
  },
  mseLoss(a: Float32Array, b: Float32Array) {
    return Array.from(a, (v, i) => ({ ignored: false, loss: (v - b[i]) ** 2, da: [2 * (v - b[i])], db: [-2 * (v - b[i])] }));
  },
  bceWithLogits(a: Float32Array, b: Float32Array) {
    return Array.from(a, (v, i) => ({
      ignored: false, loss: Math.max(v, 0) - v * b[i] + Math.log1p(Math.exp(-Math.abs(v))), da: [1 / (1 + Math.exp(-v)) - b[i]], db: [-v],
    }));
  },
};

/** The reduced loss and the gradients of both inputs, from the terms and the upstream gradient g. */
function reduceRef(terms: ReturnType<(typeof termRefs)['mseLoss']>, reduction: Reduction, g: Float32Array) {
  const counted = terms.filter((x) => !x.ignored).length;
  const scale = (i: number): number => (terms[i].ignored ? 0 : reduction === 'none' ? g[i] : reduction === 'sum' ? g[0] : g[0] / counted);
  const losses = terms.map((x) => (x.ignored ? 0 : x.loss));
  const total = losses.reduce((s, v) => s + v, 0);
  return {
    loss: reduction === 'none' ? losses : [reduction === 'sum' ? total : total / counted],
    ga: terms.flatMap((x, i) => x.da.map((d) => d * scale(i))),
    gb: terms.flatMap((x, i) => x.db.map((d) => d * scale(i))),
  };
}

forEachDevice('loss reductions', (device, { t, read }) => {
  const losses = {
    crossEntropy: (a: Tensor, b: Tensor, reduction: Reduction) => F.crossEntropy(a, b, { reduction, labelSmoothing: 0.1, ignoreIndex: 2 }),
    nllLoss: (a: Tensor, b: Tensor, reduction: Reduction) => F.nllLoss(a, b, { reduction, ignoreIndex: 2 }),
    mseLoss: (a: Tensor, b: Tensor, reduction: Reduction) => F.mseLoss(a, b, { reduction }),
    bceWithLogits: (a: Tensor, b: Tensor, reduction: Reduction) => F.bceWithLogits(a, b, { reduction }),
  };
  for (const name of Object.keys(losses) as (keyof typeof losses)[]) {
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      it(`gives ${name} with reduction '${reduction}' and its gradients as a float64 reference does`, async () => {
        const classes = name === 'crossEntropy' || name === 'nllLoss';
        const a = rnd(20, 21);
        const b = classes ? Float32Array.from([0, 2, 3, 1, 2]) : rnd(20, 22, 0, 1);
        const x = t(a, [5, 4], true);
        const y = t(b, classes ? [5] : [5, 4], !classes);
        const l = losses[name](x, y, reduction);
        const g = rnd(l.size, 23);
        l.backward(t(g, l.shape));
        const ref = reduceRef(termRefs[name](a, b), reduction, g);
        const tol = { rtol: 1e-5, atol: 1e-6 };
        assertClose(await read(l), ref.loss, `${name} ${reduction} loss`, tol);
        assertClose(await read(x.grad!), ref.ga, `${name} ${reduction} input gradient`, tol);
        if (!classes) assertClose(await read(y.grad!), ref.gb, `${name} ${reduction} target gradient`, tol);
      });
    }
  }
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

  it('rejects an unknown reduction by name', () => {
    const a = tensor([1, 2]);
    // @ts-expect-error: checked at run time for JavaScript callers.
    assert.throws(() => F.mseLoss(a, a, { reduction: 'avg' }), /mseLoss: reduction must be 'mean', 'sum' or 'none', got 'avg'/);
  });
});

forEachDevice('per-element losses', (device, { t, read }) => {
  it('gives the per-element values PyTorch gives for reduction none', async () => {
    // torch: F.mse_loss([1, 2], [0, 4], reduction='none') = [1, 4];
    // F.binary_cross_entropy_with_logits([0, 2], [1, 0], reduction='none') = [0.6931, 2.1269].
    assert.deepEqual([...(await read(F.mseLoss(t([1, 2]), t([0, 4]), { reduction: 'none' })))], [1, 4]);
    const b = await read(F.bceWithLogits(t([0, 2]), t([1, 0]), { reduction: 'none' }));
    assert.ok(Math.abs(b[0] - Math.LN2) < 1e-6 && Math.abs(b[1] - 2.126928) < 1e-6, `got ${[...b]}`);
    assert.equal(await F.mseLoss(t([1, 2]), t([0, 4]), { reduction: 'sum' }).itemAsync(), 5);
  });
});

forEachDevice('crossEntropy targets', (device, { t }) => {
  const logits = (): Tensor => t(Float32Array.from([1, 2, 3, 0, -1, 4]), [2, 3]);
  it('accepts Int32Array, number[] and Tensor targets alike', async () => {
    const a = await F.crossEntropy(logits(), Int32Array.from([2, 1])).itemAsync();
    assert.equal(await F.crossEntropy(logits(), [2, 1]).itemAsync(), a);
    assert.equal(await F.crossEntropy(logits(), t([2, 1])).itemAsync(), a);
  });
  it('gives NaN when every row is ignored, as PyTorch', async () => {
    assert.ok(Number.isNaN(await F.crossEntropy(logits(), [1, 1], { ignoreIndex: 1 }).itemAsync()));
  });
});

describe('crossEntropy on the CPU thread pool', () => {
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

forEachDevice('losses over no counted row', (_device, { t, read }) => {
  it('gives 0 for sum and NaN for mean when every target is ignored, as PyTorch', async () => {
    const logits = t([1, 2, 3, 4], [2, 2]);
    const ignored = t([-100, -100]);
    assert.equal((await read(F.crossEntropy(logits, ignored, { reduction: 'sum' })))[0], 0);
    assert.ok(Number.isNaN((await read(F.crossEntropy(logits, ignored, { reduction: 'mean' })))[0]));
    assert.equal((await read(F.nllLoss(logits, ignored, { reduction: 'sum' })))[0], 0);
    assert.ok(Number.isNaN((await read(F.nllLoss(logits, ignored, { reduction: 'mean' })))[0]));
  });
});

forEachDevice('loss errors', (device, { t }) => {
  const logits = t(new Float32Array(6), [2, 3]);
  // A target tensor is checked where it lives: on the CPU at the call, on a GPU by a kernel whose
  // finding the next read reports (the values are not on the host before that).
  const rejectsTarget = async (loss: () => Tensor, message: RegExp): Promise<void> => {
    if (runsCpuKernels(device)) assert.throws(loss, message);
    else await assert.rejects(async () => loss().read(), message);
  };
  it('rejects a non-integer target', async () => {
    assert.throws(() => F.crossEntropy(logits, [0, 1.5]), /crossEntropy: target\[1\] = 1.5 is not an integer class index/);
    await rejectsTarget(() => F.nllLoss(logits, t([0.25, 1])), /nllLoss: target\[0\] = 0.25 is not an integer class index/);
  });
  it('rejects a target tensor holding a class out of range', async () => {
    await rejectsTarget(() => F.crossEntropy(logits, t([0, 3])), /crossEntropy: target\[1\] = 3 is out of range \[0, 3\)/);
  });
  it('rejects input and target on different devices, naming the op and both devices', () => {
    const other = device === 'cpu' ? ensureSecondDevice() : 'cpu';
    const onOther = (data: number[], shape: number[]): Tensor => tensor(data, shape, { device: other });
    assert.throws(() => F.mseLoss(t([1, 2]), onOther([1, 2], [2])), new RegExp(`mseLoss: expected all tensors on one device, but found tensors on '${device}' and '${other}'`));
    assert.throws(() => F.bceWithLogits(t([1, 2]), onOther([1, 0], [2])), /bceWithLogits: expected all tensors on one device/);
    assert.throws(() => F.crossEntropy(logits, onOther([0, 1], [2])), /crossEntropy: expected all tensors on one device/);
  });
  it('rejects a target out of range, naming the index and value', () => {
    assert.throws(() => F.crossEntropy(logits, [0, 3]), /crossEntropy: target\[1\] = 3 is out of range \[0, 3\)/);
    assert.throws(() => F.crossEntropy(logits, Int32Array.from([-1, 0])), /crossEntropy: target\[0\] = -1 is out of range \[0, 3\)/);
  });
  it('rejects a batch size mismatch', () => {
    assert.throws(() => F.crossEntropy(logits, [0, 1, 2]), /crossEntropy: target has 3 entries but logits have batch size 2/);
  });
  it('rejects logits that are not [N, C]', () => {
    assert.throws(() => F.crossEntropy(t(new Float32Array(3), [3]), [0]), /crossEntropy: logits must have rank 2, got rank 1 \(shape \[3\]\)/);
    assert.throws(() => F.crossEntropy(t(new Float32Array(12), [2, 3, 2]), [0, 1]), /crossEntropy: logits must have rank 2, got rank 3/);
  });
  it('rejects a target tensor of the wrong rank', () => {
    assert.throws(() => F.crossEntropy(logits, t(new Float32Array(2), [2, 1])), /crossEntropy: target must have rank 1, got rank 2/);
  });
  it('rejects mseLoss and bceWithLogits arguments of different shapes', () => {
    assert.throws(() => F.mseLoss(logits, t(new Float32Array(3), [3])), /mseLoss: target must have shape \[2, 3\], got \[3\]/);
    assert.throws(() => F.bceWithLogits(logits, t(new Float32Array(6), [3, 2])), /bceWithLogits: target must have shape \[2, 3\], got \[3, 2\]/);
  });
  it('rejects labelSmoothing outside [0, 1]', () => {
    assert.throws(() => F.crossEntropy(logits, [0, 1], { labelSmoothing: 1.5 }), /crossEntropy: labelSmoothing must be in \[0, 1\], got 1.5/);
  });
});
