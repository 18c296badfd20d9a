// The activations fused into the BatchNorm and GroupNorm kernels (BatchNormAct2d, GroupNormAct):
// finite-difference gradient checks against float64 references per activation and ISA path, and
// the fused result against the normalization followed by the separate activation op.
import { normalize64, seededInput } from '../helpers/normReference.js';
import { describe, it } from 'node:test';
import { randn, Tensor } from '../../src/index.js';
import type { NormAct } from '../../src/backend/kernels/norm.js';
import { batchNormAct, batchNorm, groupNorm, groupNormFusedAct } from '../../src/ops/norm.js';
import { leakyRelu, relu, sigmoid, tanh } from '../../src/ops/elementwise.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { assertClose } from '../helpers/assert.js';
import { forEachIsa, useIsa } from '../helpers/isa.js';

const SLOPE = 0.1;
const ACTS: readonly NormAct[] = ['none', 'relu', 'leakyRelu', 'sigmoid', 'tanh'];

function act64(act: NormAct, v: number): number {
  switch (act) {
    case 'none':
      return v;
    case 'relu':
      return Math.max(v, 0);
    case 'leakyRelu':
      return v > 0 ? v : SLOPE * v;
    case 'sigmoid':
      return 1 / (1 + Math.exp(-v));
    case 'tanh':
      return Math.tanh(v);
  }
}

function separate(act: NormAct, t: Tensor): Tensor {
  switch (act) {
    case 'none':
      return t;
    case 'relu':
      return relu(t);
    case 'leakyRelu':
      return leakyRelu(t, SLOPE);
    case 'sigmoid':
      return sigmoid(t);
    case 'tanh':
      return tanh(t);
  }
}

/** float64 act((x - mean) / sqrt(var + eps) * w + b), statistics over the index sets of keyOf. */
function normAct64(
  act: NormAct, x: Float64Array, w: Float64Array, b: Float64Array, N: number, C: number, S: number, keyOf: (n: number, c: number) => number,
  eps = 1e-5,
): Float64Array {
  return normalize64(x, w, b, N, C, S, keyOf, eps, (v) => act64(act, v));
}

const data = seededInput;

forEachIsa((isa) => {
  describe(`fused norm activations on the ${isa} path`, () => {
    // S = 21: one 16-lane block and a scalar tail per row.
    for (const act of ACTS) {
      it(`batchNormAct with ${act} matches finite differences for x, weight and bias`, () => {
        useIsa(isa);
        const [N, C, S] = [3, 2, 21];
        gradcheck(
          `batchNormAct ${act}`,
          ([x, w, b]) => batchNormAct(x, null, null, w, b, act, SLOPE, { training: true }),
          ([x, w, b]) => normAct64(act, x, w, b, N, C, S, (_n, c) => c),
          [data([N, C, S], 1, 0.5), data([C], 2, 1), data([C], 3)],
        );
      });

      it(`groupNorm with a fused ${act} matches finite differences for x, weight and bias`, () => {
        useIsa(isa);
        const [N, C, S] = [2, 4, 19];
        gradcheck(
          `groupNormAct ${act}`,
          ([x, w, b]) => groupNormFusedAct('groupNormAct', x, 2, w, b, 1e-5, act, SLOPE),
          ([x, w, b]) => normAct64(act, x, w, b, N, C, S, (n, c) => n * 2 + Math.floor(c / 2)),
          [data([N, C, S], 4), data([C], 5, 1), data([C], 6)],
        );
      });

      it(`groupNorm with a fused ${act} on (N, C) inputs (one value per channel) matches finite differences`, () => {
        useIsa(isa);
        const [N, C] = [3, 6];
        gradcheck(
          `groupNormAct ${act} S = 1`,
          ([x, w, b]) => groupNormFusedAct('groupNormAct', x, 2, w, b, 1e-5, act, SLOPE),
          ([x, w, b]) => normAct64(act, x, w, b, N, C, 1, (n, c) => n * 2 + Math.floor(c / 3)),
          [data([N, C], 7), data([C], 8, 1), data([C], 9)],
        );
      });

      // [4, 8, 300]: rows of a few blocks; [2, 4, 524288]: 16 MB, where BN writes with streaming stores.
      const shapes = act === 'relu' || act === 'sigmoid' ? [[4, 8, 300], [2, 4, 524288]] : [[4, 8, 300]];
      for (const shape of shapes) it(`the fused ${act} on [${shape.join(', ')}] gives the values and gradients of the normalization followed by the separate activation`, () => {
        useIsa(isa);
        const C = shape[1];
        const x0 = randn(shape, { seed: 11 }).buffer;
        const w0 = randn([C], { seed: 12 }).buffer.map((v) => v + 1);
        const b0 = randn([C], { seed: 13 }).buffer;
        const gy = randn(shape, { seed: 14 });
        const run = (fused: boolean, bn: boolean): Float32Array[] => {
          const x = new Tensor(x0.slice(), shape, { requiresGrad: true });
          const w = new Tensor(w0.slice(), [C], { requiresGrad: true });
          const b = new Tensor(b0.slice(), [C], { requiresGrad: true });
          let y: Tensor;
          if (bn) y = fused ? batchNormAct(x, null, null, w, b, act, SLOPE, { training: true }) : separate(act, batchNorm(x, null, null, w, b, { training: true }));
          else y = fused ? groupNormFusedAct('groupNormAct', x, 4, w, b, 1e-5, act, SLOPE) : separate(act, groupNorm(x, 4, w, b));
          y.backward(gy);
          return [y.buffer, x.grad!.buffer, w.grad!.buffer, b.grad!.buffer];
        };
        for (const bn of [true, false]) {
          const a = run(true, bn);
          const e = run(false, bn);
          const names = ['y', 'dx', 'dweight', 'dbias'];
          for (let k = 0; k < 4; k++) {
            assertClose(a[k], e[k], `${bn ? 'batchNormAct' : 'groupNormAct'} ${act}: ${names[k]}`, { rtol: 1e-4, atol: k === 0 ? 1e-5 : 1e-4 });
          }
        }
      });
    }
  });
});
