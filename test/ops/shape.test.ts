import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { functional as F, tensor, type Tensor } from '../../src/index.js';
import { loadFixtures } from '../helpers/fixtures.js';
import { checkOpCase, forEachIsaAndThreads } from '../helpers/opcases.js';
import { gradcheck } from '../helpers/gradcheck.js';

function run(p: Record<string, unknown>, x: Tensor[]): Tensor {
  switch (p.op) {
    case 'reshape': return F.reshape(x[0], p.shape as number[]);
    case 'flatten': return F.flatten(x[0], p.start as number, p.end as number);
    case 'permute': return F.permute(x[0], p.dims as number[]);
    case 'transpose': return F.transpose(x[0], p.dim0 as number, p.dim1 as number);
    case 'concat': return F.concat(x, p.dim as number);
    case 'slice': return F.slice(x[0], p.dim as number, p.start as number, p.end as number);
    case 'pad': return F.pad(x[0], p.pads as number[], p.value as number);
    case 'matmul': return F.matmul(x[0], x[1]);
    default: throw new Error(`unknown op ${String(p.op)}`);
  }
}

const cases = loadFixtures('shape');

describe('shape ops against PyTorch fixtures', () => {
  forEachIsaAndThreads(() => {
    for (const c of cases) it(`matches ${c.name}`, () => checkOpCase(c, (x) => run(c.params, x)));
  });
});

function rnd(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) / 8388608 - 1;
  });
}

/** Row-major 3-D index helpers for the float64 references. */
function matmulRef(B: number, M: number, K: number, N: number) {
  return ([a, b]: Float64Array[]): Float64Array => {
    const y = new Float64Array(B * M * N);
    for (let i = 0; i < B; i++) for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[(i * M + m) * K + k] * b[(i * K + k) * N + n];
      y[(i * M + m) * N + n] = s;
    }
    return y;
  };
}

describe('shape op gradients against float64 finite differences', () => {
  it('checks matmul 2-D', () => {
    gradcheck('matmul', ([a, b]) => F.matmul(a, b), matmulRef(1, 3, 4, 5), [{ data: rnd(12, 1), shape: [3, 4] }, { data: rnd(20, 2), shape: [4, 5] }]);
  });
  it('checks batched matmul', () => {
    gradcheck('bmm', ([a, b]) => F.matmul(a, b), matmulRef(2, 3, 2, 4), [{ data: rnd(12, 3), shape: [2, 3, 2] }, { data: rnd(16, 4), shape: [2, 2, 4] }]);
  });
  it('checks permute', () => {
    // [2, 3, 4] -> [4, 2, 3]
    gradcheck('permute', ([x]) => F.permute(x, [2, 0, 1]), ([x]) => {
      const y = new Float64Array(24);
      for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) y[(k * 2 + i) * 3 + j] = x[(i * 3 + j) * 4 + k];
      return y;
    }, [{ data: rnd(24, 5), shape: [2, 3, 4] }]);
  });
  it('checks slice, pad and concat composed', () => {
    // y = concat([pad(x[:, 1:3], [1, 0]), x], dim 1) for x [2, 4]: rows [0, x1, x2, x0, x1, x2, x3].
    gradcheck('slice+pad+concat', ([x]) => F.concat([F.pad(F.slice(x, 1, 1, 3), [1, 0]), x.mul(x)], 1), ([x]) => {
      const y = new Float64Array(14);
      for (let r = 0; r < 2; r++) {
        const o = r * 7;
        y[o + 1] = x[r * 4 + 1];
        y[o + 2] = x[r * 4 + 2];
        for (let k = 0; k < 4; k++) y[o + 3 + k] = x[r * 4 + k] ** 2;
      }
      return y;
    }, [{ data: rnd(8, 6), shape: [2, 4] }]);
  });
  it('checks reshape and transpose', () => {
    gradcheck('reshape+transpose', ([x]) => F.transpose(F.reshape(x, [3, 2]), 0, 1).mul(2), ([x]) => {
      const y = new Float64Array(6);
      for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) y[j * 3 + i] = 2 * x[i * 2 + j];
      return y;
    }, [{ data: rnd(6, 7), shape: [6] }]);
  });
});

describe('shape op errors', () => {
  it('rejects matmul operands of the wrong rank', () => {
    assert.throws(() => F.matmul(tensor(new Float32Array(4), [4]), tensor(new Float32Array(4), [2, 2])), /matmul: a must have rank 2 or 3, got rank 1/);
  });
  it('rejects matmul with mismatched inner dimensions', () => {
    assert.throws(() => F.matmul(tensor(new Float32Array(6), [2, 3]), tensor(new Float32Array(4), [2, 2])), /matmul: inner dimensions differ/);
  });
  it('rejects a reshape to a different number of values', () => {
    assert.throws(() => F.reshape(tensor(new Float32Array(6), [2, 3]), [4, 2]), /reshape: cannot reshape a tensor of shape \[2, 3\]/);
  });
  it('rejects concat of tensors whose other dims differ', () => {
    assert.throws(() => F.concat([tensor(new Float32Array(6), [2, 3]), tensor(new Float32Array(4), [2, 2])], 0), /concat: tensors\[1\] has shape \[2, 2\]/);
  });
});
