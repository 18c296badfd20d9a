// Layers PyTorch 1.13 does not have (RMSNorm, timm's RmsNorm2d, FRN + TLU, EvoNorm B0 / S0),
// checked against float64 implementations of their papers' formulas (forward and, by finite
// differences, every input's gradient).
import { describe, it } from 'node:test';
import { forEachDevice } from '../../helpers/device.js';
import assert from 'node:assert/strict';
import { functional as F, nn, randn, noGrad, Tensor } from '../../../src/index.js';
import { gradcheck } from '../../helpers/gradcheck.js';
import { assertClose } from '../../helpers/assert.js';

const data = (shape: number[], seed: number, scale = 1, shift = 0): { data: Float32Array; shape: number[] } => {
  const r = randn(shape, { seed });
  return { data: r.buffer.map((v) => v * scale + shift), shape };
};

/** Index helpers for x [N, C, S]. */
const at = (n: number, c: number, s: number, C: number, S: number): number => (n * C + c) * S + s;

function rms64(x: Float64Array, w: Float64Array, rows: number, D: number, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    let q = 0;
    for (let d = 0; d < D; d++) q += x[r * D + d] ** 2;
    const inv = 1 / Math.sqrt(q / D + eps);
    for (let d = 0; d < D; d++) y[r * D + d] = x[r * D + d] * inv * w[d];
  }
  return y;
}

function frn64(x: Float64Array, w: Float64Array, b: Float64Array, tau: Float64Array, N: number, C: number, S: number, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
    let q = 0;
    for (let s = 0; s < S; s++) q += x[at(n, c, s, C, S)] ** 2;
    const inv = 1 / Math.sqrt(q / S + eps);
    for (let s = 0; s < S; s++) {
      const i = at(n, c, s, C, S);
      y[i] = Math.max(x[i] * inv * w[c] + b[c], tau[c]);
    }
  }
  return y;
}

function meanVar(vals: number[]): { mean: number; variance: number } {
  const mean = vals.reduce((a, v) => a + v, 0) / vals.length;
  return { mean, variance: vals.reduce((a, v) => a + (v - mean) ** 2, 0) / vals.length };
}

/** EvoNorm-B0 with batch statistics (batchVar null) or the given running variance. */
function b064(x: Float64Array, v: Float64Array, w: Float64Array, b: Float64Array, N: number, C: number, S: number, eps: number, runningVar: Float64Array | null): Float64Array {
  const y = new Float64Array(x.length);
  for (let c = 0; c < C; c++) {
    const all: number[] = [];
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) all.push(x[at(n, c, s, C, S)]);
    const left = Math.sqrt((runningVar === null ? meanVar(all).variance : runningVar[c]) + eps);
    for (let n = 0; n < N; n++) {
      const inst: number[] = [];
      for (let s = 0; s < S; s++) inst.push(x[at(n, c, s, C, S)]);
      const sd = Math.sqrt(meanVar(inst).variance + eps);
      for (let s = 0; s < S; s++) {
        const i = at(n, c, s, C, S);
        y[i] = (x[i] / Math.max(left, v[c] * x[i] + sd)) * w[c] + b[c];
      }
    }
  }
  return y;
}

function s064(x: Float64Array, v: Float64Array, w: Float64Array, b: Float64Array, N: number, C: number, S: number, G: number, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  const Cg = C / G;
  for (let n = 0; n < N; n++) for (let g = 0; g < G; g++) {
    const vals: number[] = [];
    for (let c = g * Cg; c < (g + 1) * Cg; c++) for (let s = 0; s < S; s++) vals.push(x[at(n, c, s, C, S)]);
    const sd = Math.sqrt(meanVar(vals).variance + eps);
    for (let c = g * Cg; c < (g + 1) * Cg; c++) for (let s = 0; s < S; s++) {
      const i = at(n, c, s, C, S);
      y[i] = ((x[i] / (1 + Math.exp(-v[c] * x[i]))) / sd) * w[c] + b[c];
    }
  }
  return y;
}

describe('RMSNorm and RmsNorm2d against the float64 formula', () => {
  it('normalizes the trailing dims by their root mean square and scales by weight (PyTorch default eps)', () => {
    const eps = 1.1920928955078125e-7;
    gradcheck('rmsNorm', ([x, w]) => F.rmsNorm(x, [2, 4], w), ([x, w]) => rms64(x, w, 6, 8, eps), [data([2, 3, 2, 4], 1), data([2, 4], 2, 0.5, 1)]);
  });

  it('normalizes over the channels at each position for RmsNorm2d (eps 1e-6)', () => {
    const [N, C, S] = [2, 5, 6];
    const ref = ([x, w]: Float64Array[]): Float64Array => {
      const y = new Float64Array(x.length);
      for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) {
        let q = 0;
        for (let c = 0; c < C; c++) q += x[at(n, c, s, C, S)] ** 2;
        for (let c = 0; c < C; c++) y[at(n, c, s, C, S)] = (x[at(n, c, s, C, S)] / Math.sqrt(q / C + 1e-6)) * w[c];
      }
      return y;
    };
    gradcheck('rmsNorm2d', ([x, w]) => F.rmsNorm2d(x, w, 1e-6), ref, [data([N, C, 2, 3], 3), data([C], 4, 0.5, 1)]);
  });

  it('has a weight of ones named weight and no bias, as torch.nn.RMSNorm', () => {
    const m = new nn.RMSNorm([3, 4]);
    assert.deepEqual(Object.keys(m.stateDict()), ['weight']);
    assert.deepEqual(m.weight!.shape, [3, 4]);
    assert.ok(m.weight!.buffer.every((v) => v === 1));
    assert.throws(() => m.forward(randn([2, 4, 3])), /rmsNorm: input must end with the normalized shape \[3, 4\]/);
  });
});

describe('FilterResponseNormTlu2d against the float64 formula', () => {
  it('divides by the root mean square over H, W, applies the affine and the TLU max(y, tau)', () => {
    const [N, C, S] = [2, 3, 12];
    gradcheck(
      'filterResponseNorm', ([x, w, b, tau]) => F.filterResponseNorm(x, w, b, tau, 1e-5),
      ([x, w, b, tau]) => frn64(x, w, b, tau, N, C, S, 1e-5),
      [data([N, C, 3, 4], 5), data([C], 6, 0.5, 1), data([C], 7, 0.3), data([C], 8, 0.3)],
    );
  });

  it('starts as weight 1, bias 0, tau 0 and drops tau without the TLU', () => {
    const m = new nn.FilterResponseNormTlu2d(4);
    assert.deepEqual(Object.keys(m.stateDict()), ['weight', 'bias', 'tau']);
    assert.deepEqual(Object.keys(new nn.FilterResponseNormTlu2d(4, { applyAct: false }).stateDict()), ['weight', 'bias']);
    // With tau = 0 the output is max(x / rms, 0): a constant channel of 3 gives 3 / sqrt(9 + eps).
    const y = m.forward(new Tensor(new Float32Array(2 * 4 * 4).fill(3), [2, 4, 2, 2]));
    assertClose(y.buffer, new Float32Array(y.size).fill(3 / Math.sqrt(9 + 1e-5)), 'constant input');
  });
});

describe('EvoNorm2dB0 and EvoNorm2dS0 against the float64 formulas', () => {
  it('B0 in training divides by max(batch std, v x + instance std), with gradients through both', () => {
    const [N, C, S] = [3, 2, 6];
    gradcheck(
      'evoNormB0 training', ([x, v, w, b]) => F.evoNormB0(x, null, v, w, b, { training: true, eps: 1e-3 }),
      ([x, v, w, b]) => b064(x, v, w, b, N, C, S, 1e-3, null),
      [data([N, C, 2, 3], 9), data([C], 10, 0.5, 0.5), data([C], 11, 0.5, 1), data([C], 12, 0.3)],
    );
  });

  it('S0 multiplies by sigmoid(v x) and divides by the group std', () => {
    const [N, C, S, G] = [2, 6, 4, 3];
    gradcheck(
      'evoNormS0', ([x, v, w, b]) => F.evoNormS0(x, G, v, w, b, 1e-5),
      ([x, v, w, b]) => s064(x, v, w, b, N, C, S, G, 1e-5),
      [data([N, C, 2, 2], 15), data([C], 16, 0.5, 1), data([C], 17, 0.5, 1), data([C], 18, 0.3)],
    );
  });

  it('S0 takes groups from groupSize and rejects channels its groups do not divide', () => {
    assert.equal(new nn.EvoNorm2dS0(8, { groupSize: 2 }).groups, 4);
    assert.throws(() => new nn.EvoNorm2dS0(6), /EvoNorm2dS0: numFeatures \(6\) must be divisible by groups \(32\)/);
  });
});

forEachDevice('EvoNorm2dB0 and FilterResponseNormTlu2d layers', (device, { t, read }) => {
  it('EvoNorm2dB0 updates running_var with the unbiased batch variance on its device and uses it in eval', async () => {
    const m = new nn.EvoNorm2dB0(2).to(device);
    const xs = randn([4, 2, 3, 3], { seed: 13 }).data();
    m.forward(t(xs, [4, 2, 3, 3]));
    const [N, C, S] = [4, 2, 9];
    const expected = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      const vals: number[] = [];
      for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) vals.push(xs[at(n, c, s, C, S)]);
      const n = vals.length;
      expected[c] = 0.9 * 1 + 0.1 * meanVar(vals).variance * (n / (n - 1));
    }
    assert.equal(m.runningVar.device, device);
    const rv = await read(m.runningVar);
    assertClose(rv, expected, 'running_var after one step');
    m.eval();
    const x2 = randn([2, 2, 3, 3], { seed: 14 }).data();
    const y = noGrad(() => m.forward(t(x2, [2, 2, 3, 3])));
    const one = new Float64Array(C).fill(1);
    assertClose(await read(y), b064(Float64Array.from(x2), one, one, new Float64Array(C), 2, C, S, 1e-3, Float64Array.from(rv)), 'eval output');
    assert.deepEqual(Object.keys(m.stateDict()), ['weight', 'bias', 'v', 'running_var']);
  });

  it('FilterResponseNormTlu2d computes the float64 formula with its default parameters', async () => {
    const m = new nn.FilterResponseNormTlu2d(3).to(device);
    const xs = randn([2, 3, 3, 4], { seed: 5 }).data();
    const ones = new Float64Array(3).fill(1);
    const zeros = new Float64Array(3);
    assertClose(await read(m.forward(t(xs, [2, 3, 3, 4]))), frn64(Float64Array.from(xs), ones, zeros, zeros, 2, 3, 12, 1e-5), 'forward');
  });
});
