import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { crossCheck, webgpuBackend, webgpuSkipReason, type Maker } from '../../helpers/webgpu.js';
import type { NormAct } from '../../../src/backend/kernels/norm.js';
import type { Storage } from '../../../src/backend/storage.js';

const gpu = webgpuBackend();

// Sums over many values in another order (GPU trees and chunk merges against the CPU's double
// chunk sums): the statistics and gradients get a looser tolerance than elementwise outputs.
const SUM_TOL = { rtol: 2e-4, atol: 2e-4 };

const ACTS: NormAct[] = ['relu', 'leakyRelu', 'sigmoid', 'tanh'];

/** x of n values in [-1, 1) scaled by 2 and shifted by 3, with every `every`-th value an outlier of +-25. */
function values(m: Maker, n: number, every = 0): Float32Array {
  const v = m.rand(n).map((u) => 3 + 2 * u);
  if (every > 0) for (let i = 0; i < n; i += every) v[i] = (i / every) % 2 === 0 ? 25 : -25;
  return v;
}

interface BnShape {
  N: number;
  C: number;
  S: number;
}

function bnForwardArgs(m: Maker, { N, C, S }: BnShape, opts: { affine?: boolean; threshold?: number; act?: NormAct; y?: boolean; outliers?: number } = {}) {
  const { affine = true, threshold = 0, act = 'none', y = true, outliers = 0 } = opts;
  const filtered = threshold > 0;
  return {
    x: m.f(values(m, N * C * S, outliers)),
    N,
    C,
    S,
    gamma: affine ? m.f(m.rand(C, 0.5, 1.5)) : null,
    beta: affine ? m.f(m.rand(C)) : null,
    eps: 1e-5,
    y: y ? m.empty(N * C * S) : null,
    mean: m.empty(C),
    invstd: m.empty(C),
    variance: m.empty(C),
    threshold,
    mu0: filtered ? m.empty(C) : null,
    rstd0: filtered ? m.empty(C) : null,
    kept: filtered ? m.empty(C) : null,
    act,
    actParam: act === 'leakyRelu' ? 0.1 : 0,
  };
}

const FWD_OUT = ['y', 'mean', 'invstd', 'variance'];
const FBN_OUT = [...FWD_OUT, 'mu0', 'rstd0', 'kept'];

function bnBackwardArgs(
  m: Maker,
  { N, C, S }: BnShape,
  opts: { affine?: boolean; batchStats?: boolean; act?: NormAct; threshold?: number; dx?: boolean; dgamma?: boolean; dbeta?: boolean; outliers?: number } = {},
) {
  const { affine = true, batchStats = true, act = 'none', threshold = 0, dx = true, dgamma = true, dbeta = true, outliers = 0 } = opts;
  const filtered = threshold > 0;
  const xv = values(m, N * C * S, outliers);
  // Statistics near the data's (mean 3, std about 1.15), so xhat is of order 1.
  const mean = m.rand(C, 2.8, 3.2);
  const invstd = m.rand(C, 0.8, 0.9);
  return {
    x: m.f(xv),
    dy: m.f(m.rand(N * C * S)),
    N,
    C,
    S,
    mean: m.f(mean),
    invstd: m.f(invstd),
    gamma: affine ? m.f(m.rand(C, 0.5, 1.5)) : null,
    batchStats,
    dx: dx ? m.empty(N * C * S) : null,
    dgamma: dgamma ? m.empty(C) : null,
    dbeta: dbeta ? m.empty(C) : null,
    count: filtered ? m.f(m.rand(C, 0.5 * N * S, 0.9 * N * S).map(Math.round)) : null,
    threshold,
    mu0: filtered ? m.f(mean) : null,
    rstd0: filtered ? m.f(invstd) : null,
    beta: affine ? m.f(m.rand(C)) : null,
    act,
    actParam: act === 'leakyRelu' ? 0.1 : 0,
  };
}

function outputsOf(a: { dx: Storage | null; dgamma: Storage | null; dbeta: Storage | null }): string[] {
  return ['dx', 'dgamma', 'dbeta'].filter((k) => a[k as 'dx'] !== null);
}

describe('WebGPU batch and group norm kernels', { skip: webgpuSkipReason }, () => {
  const be = gpu!;
  const shape: BnShape = { N: 4, C: 3, S: 37 };

  it('batchNormForward matches the CPU for plain BN with and without gamma and beta', async () => {
    await crossCheck(be, 'batchNormForward', (m) => bnForwardArgs(m, shape), FWD_OUT, SUM_TOL);
    await crossCheck(be, 'batchNormForward', (m) => bnForwardArgs(m, shape, { affine: false }), FWD_OUT, SUM_TOL);
  });

  it('batchNormForward fuses every activation', async () => {
    for (const act of ACTS) await crossCheck(be, 'batchNormForward', (m) => bnForwardArgs(m, shape, { act }), FWD_OUT, SUM_TOL);
  });

  it('batchNormForward computes the statistics only when y is null', async () => {
    await crossCheck(be, 'batchNormForward', (m) => bnForwardArgs(m, shape, { y: false }), ['mean', 'invstd', 'variance'], SUM_TOL);
  });

  it('batchNormForward handles BatchNorm1d (S = 1) and an odd shape', async () => {
    await crossCheck(be, 'batchNormForward', (m) => bnForwardArgs(m, { N: 37, C: 5, S: 1 }), FWD_OUT, SUM_TOL);
    await crossCheck(be, 'batchNormForward', (m) => bnForwardArgs(m, { N: 2, C: 1, S: 1 }), FWD_OUT, SUM_TOL);
  });

  it('batchNormForward splits large channels (N * S over 65536, rows crossing chunks) into merged chunks', async () => {
    await crossCheck(be, 'batchNormForward', (m) => bnForwardArgs(m, { N: 3, C: 2, S: 30011 }), FWD_OUT, SUM_TOL);
    await crossCheck(be, 'batchNormForward', (m) => bnForwardArgs(m, { N: 40, C: 3, S: 250 }, { act: 'tanh' }), FWD_OUT, SUM_TOL);
    await crossCheck(be, 'batchNormForward', (m) => bnForwardArgs(m, { N: 70000, C: 2, S: 1 }), FWD_OUT, SUM_TOL);
  });

  it('batchNormForward keeps an accurate variance for data far from zero', async () => {
    const build = (m: Maker) => ({ ...bnForwardArgs(m, { N: 8, C: 2, S: 2000 }), x: m.f(m.rand(32000).map((u) => 1000 + u)) });
    const out = await crossCheck(be, 'batchNormForward', build, ['mean', 'invstd', 'variance'], SUM_TOL);
    assert.ok(Math.abs(out.variance[0] - 1 / 3) < 0.01);
    // y = x * a + b cancels values near 1700 down to order 1 in float on both backends: a few ulps of 1700.
    await crossCheck(be, 'batchNormForward', build, ['y'], { atol: 2e-3 });
  });

  it('batchNormForward runs Filtered BN for thresholds 1 to 4 with outliers present', async () => {
    for (const threshold of [1, 2, 3, 4]) {
      const out = await crossCheck(be, 'batchNormForward', (m) => bnForwardArgs(m, shape, { threshold, outliers: 13 }), FBN_OUT, SUM_TOL);
      assert.ok(out.kept[0] < shape.N * shape.S);
      await crossCheck(be, 'batchNormForward', (m) => bnForwardArgs(m, { N: 3, C: 2, S: 30011 }, { threshold, outliers: 101 }), FBN_OUT, SUM_TOL);
    }
    await crossCheck(be, 'batchNormForward', (m) => bnForwardArgs(m, { N: 50, C: 4, S: 1 }, { threshold: 2, outliers: 7, affine: false }), FBN_OUT, SUM_TOL);
  });

  it('batchNormForward rejects a wrong length, one value per channel and an activation with Filtered BN', () => {
    const mk = probe();
    assert.throws(() => be.batchNormForward({ ...bnForwardArgs(mk, shape), mean: be.empty(2) }), /batchNormForward: mean must have 3 values, got 2/);
    assert.throws(() => be.batchNormForward(bnForwardArgs(mk, { N: 1, C: 2, S: 1 })), /N \* S must be >= 2/);
    assert.throws(() => be.batchNormForward(bnForwardArgs(mk, shape, { threshold: 2, act: 'relu' })), /act must be 'none' for Filtered BN/);
  });

  it('batchNormBackward matches the CPU with batch statistics, with and without gamma', async () => {
    await crossCheck(be, 'batchNormBackward', (m) => bnBackwardArgs(m, shape), ['dx', 'dgamma', 'dbeta'], SUM_TOL);
    await crossCheck(be, 'batchNormBackward', (m) => bnBackwardArgs(m, shape, { affine: false }), ['dx', 'dgamma', 'dbeta'], SUM_TOL);
  });

  it('batchNormBackward matches the CPU for the eval-mode affine (batchStats false)', async () => {
    await crossCheck(be, 'batchNormBackward', (m) => bnBackwardArgs(m, shape, { batchStats: false }), ['dx', 'dgamma', 'dbeta'], SUM_TOL);
    await crossCheck(be, 'batchNormBackward', (m) => bnBackwardArgs(m, shape, { batchStats: false, dgamma: false, dbeta: false }), ['dx'], SUM_TOL);
  });

  it('batchNormBackward recomputes every fused activation', async () => {
    for (const act of ACTS) await crossCheck(be, 'batchNormBackward', (m) => bnBackwardArgs(m, shape, { act }), ['dx', 'dgamma', 'dbeta'], SUM_TOL);
    await crossCheck(be, 'batchNormBackward', (m) => bnBackwardArgs(m, shape, { act: 'relu', affine: false }), ['dx', 'dgamma', 'dbeta'], SUM_TOL);
  });

  it('batchNormBackward skips each null gradient', async () => {
    const cases = [{ dx: false }, { dgamma: false }, { dbeta: false }, { dgamma: false, dbeta: false }, { dx: false, dbeta: false }];
    for (const c of cases) {
      await crossCheck(be, 'batchNormBackward', (m) => bnBackwardArgs(m, shape, c), outputsOf(bnBackwardArgs(probe(), shape, c)), SUM_TOL);
    }
  });

  it('batchNormBackward masks Filtered BN statistics terms for thresholds 1 to 4', async () => {
    for (const threshold of [1, 2, 3, 4]) {
      await crossCheck(be, 'batchNormBackward', (m) => bnBackwardArgs(m, shape, { threshold, outliers: 13 }), ['dx', 'dgamma', 'dbeta'], SUM_TOL);
      await crossCheck(be, 'batchNormBackward', (m) => bnBackwardArgs(m, shape, { threshold, batchStats: false }), ['dx', 'dgamma', 'dbeta'], SUM_TOL);
    }
  });

  it('batchNormBackward handles S = 1 and large N * S', async () => {
    await crossCheck(be, 'batchNormBackward', (m) => bnBackwardArgs(m, { N: 37, C: 5, S: 1 }), ['dx', 'dgamma', 'dbeta'], SUM_TOL);
    await crossCheck(be, 'batchNormBackward', (m) => bnBackwardArgs(m, { N: 3, C: 2, S: 30011 }, { act: 'sigmoid' }), ['dx', 'dgamma', 'dbeta'], SUM_TOL);
    await crossCheck(be, 'batchNormBackward', (m) => bnBackwardArgs(m, { N: 3, C: 2, S: 30011 }, { threshold: 3, outliers: 101 }), ['dx', 'dgamma', 'dbeta'], SUM_TOL);
  });

  it('batch norm forward and backward agree with the CPU end to end on Filtered BN', async () => {
    const cpuOut = await crossCheck(be, 'batchNormForward', (m) => bnForwardArgs(m, { N: 6, C: 3, S: 50 }, { threshold: 2, outliers: 17 }), FBN_OUT, SUM_TOL);
    const { mean, invstd, mu0, rstd0, kept } = cpuOut as Record<string, Float32Array>;
    await crossCheck(
      be,
      'batchNormBackward',
      (m) => ({ ...bnBackwardArgs(m, { N: 6, C: 3, S: 50 }, { threshold: 2, outliers: 17 }), mean: m.f(mean), invstd: m.f(invstd), mu0: m.f(mu0), rstd0: m.f(rstd0), count: m.f(kept) }),
      ['dx', 'dgamma', 'dbeta'],
      SUM_TOL,
    );
  });

  it('normChannelAffine matches the CPU', async () => {
    await crossCheck(be, 'normChannelAffine', (m) => ({ x: m.f(m.rand(4 * 3 * 37)), N: 4, C: 3, S: 37, scale: m.f(m.rand(3)), shift: m.f(m.rand(3)), y: m.empty(4 * 3 * 37) }), ['y']);
    await crossCheck(be, 'normChannelAffine', (m) => ({ x: m.f(m.rand(9 * 7)), N: 9, C: 7, S: 1, scale: m.f(m.rand(7)), shift: m.f(m.rand(7)), y: m.empty(63) }), ['y']);
  });

  it('normEvalScaleShift matches the CPU with and without weight and bias', async () => {
    for (const affine of [true, false]) {
      await crossCheck(
        be,
        'normEvalScaleShift',
        (m) => ({
          runningMean: m.f(m.rand(5)), runningVar: m.f(m.rand(5, 0.1, 2)), weight: affine ? m.f(m.rand(5)) : null, bias: affine ? m.f(m.rand(5)) : null,
          eps: 1e-5, scale: m.empty(5), shift: m.empty(5), invstd: m.empty(5),
        }),
        ['scale', 'shift', 'invstd'],
      );
    }
  });

  it('runningStatsUpdate matches the CPU for every transform, momentum, count form and batch layout', async () => {
    const C = 6;
    const cases: { momentum: number | null; transform: 'value' | 'unbiased' | 'std'; count: 'none' | 'number' | 'storage'; rows: number }[] = [
      { momentum: 0.1, transform: 'value', count: 'none', rows: 1 },
      { momentum: 0.1, transform: 'unbiased', count: 'number', rows: 1 },
      { momentum: null, transform: 'unbiased', count: 'storage', rows: 3 },
      { momentum: 0.3, transform: 'std', count: 'none', rows: 4 },
      { momentum: 0.2, transform: 'unbiased', count: 'storage', rows: 0 },
      { momentum: null, transform: 'value', count: 'number', rows: 0 },
    ];
    for (const k of cases) {
      const blen = k.rows === 0 ? 1 : k.rows * C;
      await crossCheck(
        be,
        'runningStatsUpdate',
        (m) => ({
          running: m.f(m.rand(C)),
          batch: m.f(m.rand(blen, 0.1, 2)),
          momentum: k.momentum,
          batches: m.f([4]),
          transform: k.transform,
          count: k.count === 'none' ? null : k.count === 'number' ? 10 : m.f(m.rand(blen, 1, 20).map(Math.round)),
          eps: 1e-5,
        }),
        ['running'],
      );
    }
  });

  it('batchRenormParams matches the CPU in and after warm-up, with and without weight and bias', async () => {
    const C = 7;
    const cases = [
      { warmup: false, batches: null as number | null, affine: true },
      { warmup: true, batches: null, affine: true },
      { warmup: false, batches: 3, affine: false },
      { warmup: false, batches: 30, affine: true },
    ];
    for (const k of cases) {
      await crossCheck(
        be,
        'batchRenormParams',
        (m) => ({
          mean: m.f(m.rand(C)), variance: m.f(m.rand(C, 0.01, 4)), invstd: m.f(m.rand(C, 0.5, 2)), renormMean: m.f(m.rand(C)), renormStd: m.f(m.rand(C, 0.5, 1.5)),
          weight: k.affine ? m.f(m.rand(C)) : null, bias: k.affine ? m.f(m.rand(C)) : null, eps: 1e-5, rMax: 1.5, dMax: 0.5,
          warmup: k.warmup, batches: k.batches === null ? null : m.f([k.batches]), warmupSteps: 10,
          r: m.empty(C), d: m.empty(C), gamma: m.empty(C), scale: m.empty(C), shift: m.empty(C),
        }),
        ['r', 'd', 'gamma', 'scale', 'shift'],
      );
    }
  });

  function gnForwardArgs(m: Maker, N: number, G: number, Cg: number, S: number, opts: { affine?: boolean; act?: NormAct; variance?: boolean } = {}) {
    const { affine = true, act = 'none', variance = true } = opts;
    return {
      x: m.f(values(m, N * G * Cg * S)),
      N, G, Cg, S,
      gamma: affine ? m.f(m.rand(G * Cg, 0.5, 1.5)) : null,
      beta: affine ? m.f(m.rand(G * Cg)) : null,
      eps: 1e-5,
      y: m.empty(N * G * Cg * S),
      mean: m.empty(N * G),
      invstd: m.empty(N * G),
      variance: variance ? m.empty(N * G) : null,
      act,
      actParam: act === 'leakyRelu' ? 0.1 : 0,
    };
  }

  function gnBackwardArgs(m: Maker, N: number, G: number, Cg: number, S: number, opts: { affine?: boolean; act?: NormAct; dx?: boolean; dgamma?: boolean; dbeta?: boolean } = {}) {
    const { affine = true, act = 'none', dx = true, dgamma = true, dbeta = true } = opts;
    const C = G * Cg;
    return {
      x: m.f(values(m, N * C * S)),
      dy: m.f(m.rand(N * C * S)),
      N, G, Cg, S,
      mean: m.f(m.rand(N * G, 2.8, 3.2)),
      invstd: m.f(m.rand(N * G, 0.8, 0.9)),
      gamma: affine ? m.f(m.rand(C, 0.5, 1.5)) : null,
      dx: dx ? m.empty(N * C * S) : null,
      dgamma: dgamma ? m.empty(C) : null,
      dbeta: dbeta ? m.empty(C) : null,
      beta: affine ? m.f(m.rand(C)) : null,
      act,
      actParam: act === 'leakyRelu' ? 0.1 : 0,
    };
  }

  const GN_FWD_OUT = ['y', 'mean', 'invstd', 'variance'];
  const GN_BWD_OUT = ['dx', 'dgamma', 'dbeta'];

  it('groupNormForward matches the CPU for 1, 2 and C groups, with and without affine', async () => {
    for (const [G, Cg] of [[1, 6], [2, 3], [6, 1]]) {
      await crossCheck(be, 'groupNormForward', (m) => gnForwardArgs(m, 3, G, Cg, 29), GN_FWD_OUT, SUM_TOL);
      await crossCheck(be, 'groupNormForward', (m) => gnForwardArgs(m, 3, G, Cg, 29, { affine: false }), GN_FWD_OUT, SUM_TOL);
    }
  });

  it('groupNormForward fuses every activation, leaves a null variance and handles S = 1 and large groups', async () => {
    for (const act of ACTS) await crossCheck(be, 'groupNormForward', (m) => gnForwardArgs(m, 2, 2, 3, 17, { act }), GN_FWD_OUT, SUM_TOL);
    await crossCheck(be, 'groupNormForward', (m) => gnForwardArgs(m, 2, 2, 3, 17, { variance: false }), ['y', 'mean', 'invstd'], SUM_TOL);
    await crossCheck(be, 'groupNormForward', (m) => gnForwardArgs(m, 5, 1, 33, 1), GN_FWD_OUT, SUM_TOL);
    await crossCheck(be, 'groupNormForward', (m) => gnForwardArgs(m, 2, 2, 4, 9001), GN_FWD_OUT, SUM_TOL);
  });

  it('groupNormBackward matches the CPU for 1, 2 and C groups, with and without affine', async () => {
    for (const [G, Cg] of [[1, 6], [2, 3], [6, 1]]) {
      await crossCheck(be, 'groupNormBackward', (m) => gnBackwardArgs(m, 3, G, Cg, 29), GN_BWD_OUT, SUM_TOL);
      await crossCheck(be, 'groupNormBackward', (m) => gnBackwardArgs(m, 3, G, Cg, 29, { affine: false }), GN_BWD_OUT, SUM_TOL);
    }
  });

  it('groupNormBackward recomputes every fused activation, skips null gradients and handles S = 1 and long rows', async () => {
    for (const act of ACTS) await crossCheck(be, 'groupNormBackward', (m) => gnBackwardArgs(m, 2, 2, 3, 17, { act }), GN_BWD_OUT, SUM_TOL);
    await crossCheck(be, 'groupNormBackward', (m) => gnBackwardArgs(m, 2, 2, 3, 17, { dx: false }), ['dgamma', 'dbeta'], SUM_TOL);
    await crossCheck(be, 'groupNormBackward', (m) => gnBackwardArgs(m, 2, 2, 3, 17, { dgamma: false, dbeta: false }), ['dx'], SUM_TOL);
    await crossCheck(be, 'groupNormBackward', (m) => gnBackwardArgs(m, 5, 1, 33, 1), GN_BWD_OUT, SUM_TOL);
    await crossCheck(be, 'groupNormBackward', (m) => gnBackwardArgs(m, 2, 2, 2, 20011), GN_BWD_OUT, SUM_TOL);
  });

  it('kernels read and write views at offsets inside larger buffers', async () => {
    const N = 3;
    const C = 2;
    const S = 11;
    const n = N * C * S;
    const inView = (m: Maker, v: ArrayLike<number>, at: number): Storage => be.view(m.f([...new Array<number>(at).fill(0), ...Array.from(v)]), at, v.length);
    const out = (m: Maker, len: number, at: number): Storage => be.view(m.empty(len + at + 3), at, len);
    // The same inputs once in whole storages and once in views at offsets: the results must be equal.
    const results: Float32Array[] = [];
    for (const useView of [false, true]) {
      const m = makerFor();
      const xv = values(m, n);
      const args = {
        ...bnForwardArgs(m, { N, C, S }),
        x: useView ? inView(m, xv, 5) : m.f(xv),
        y: useView ? out(m, n, 7) : m.empty(n),
        mean: useView ? out(m, C, 1) : m.empty(C),
      };
      be.batchNormForward(args);
      results.push(await be.download(args.y as Storage), await be.download(args.mean));
    }
    assert.deepEqual([...results[2]], [...results[0]]);
    assert.deepEqual([...results[3]], [...results[1]]);
  });

  /** A Maker on the GPU backend whose values do not matter (argument shapes only). */
  function probe(): Maker {
    return makerFor();
  }

  function makerFor(): Maker {
    let state = 12345;
    const next = (): number => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state / 2147483648;
    };
    return {
      f: (v) => be.upload(Float32Array.from(v)),
      i: (v) => be.uploadIndex(Int32Array.from(v)),
      empty: (n) => be.empty(n),
      emptyIndex: (n) => be.emptyIndex(n),
      rand: (n, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * next()),
    };
  }
});
