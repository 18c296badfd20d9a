import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { functional as F, tensor, type Tensor } from '../../src/index.js';
import { loadFixtures } from '../helpers/fixtures.js';
import { forEachIsaAndThreads } from '../helpers/opcases.js';
import { forEachDevice, ensureSecondDevice } from '../helpers/device.js';
import { assertRefusesTwoDevices, checkOpCaseOn, gradcheckOn } from '../helpers/device_checks.js';

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

// Every ISA path and thread count on the CPU; the default path behind the second device.
forEachDevice('shape ops against PyTorch fixtures', (device) => {
  const body = (): void => {
    for (const c of cases) it(`matches ${c.name}`, () => checkOpCaseOn(device, c, (x) => run(c.params, x)));
  };
  if (device === 'cpu') forEachIsaAndThreads(body);
  else body();
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

forEachDevice('shape op gradients against float64 finite differences', (device, { t, read }) => {
  it('checks matmul 2-D', async () => {
    await gradcheckOn(device, 'matmul', ([a, b]) => F.matmul(a, b), matmulRef(1, 3, 4, 5), [{ data: rnd(12, 1), shape: [3, 4] }, { data: rnd(20, 2), shape: [4, 5] }]);
  });
  it('checks batched matmul', async () => {
    await gradcheckOn(device, 'bmm', ([a, b]) => F.matmul(a, b), matmulRef(2, 3, 2, 4), [{ data: rnd(12, 3), shape: [2, 3, 2] }, { data: rnd(16, 4), shape: [2, 2, 4] }]);
  });
  it('checks permute', async () => {
    // [2, 3, 4] -> [4, 2, 3]
    await gradcheckOn(device, 'permute', ([x]) => F.permute(x, [2, 0, 1]), ([x]) => {
      const y = new Float64Array(24);
      for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) y[(k * 2 + i) * 3 + j] = x[(i * 3 + j) * 4 + k];
      return y;
    }, [{ data: rnd(24, 5), shape: [2, 3, 4] }]);
  });
  it('checks slice, pad and concat composed', async () => {
    // y = concat([pad(x[:, 1:3], [1, 0]), x * x], dim 1) for x [2, 4]: rows [0, x1, x2, x0², x1², x2², x3²].
    await gradcheckOn(device, 'slice+pad+concat', ([x]) => F.concat([F.pad(F.slice(x, 1, 1, 3), [1, 0]), x.mul(x)], 1), ([x]) => {
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
  it('checks reshape and transpose', async () => {
    await gradcheckOn(device, 'reshape+transpose', ([x]) => F.transpose(F.reshape(x, [3, 2]), 0, 1).mul(2), ([x]) => {
      const y = new Float64Array(6);
      for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) y[j * 3 + i] = 2 * x[i * 2 + j];
      return y;
    }, [{ data: rnd(6, 7), shape: [6] }]);
  });
  it('slices the leading dim as a view of the same storage, and other dims as copies', async () => {
    const x = t([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [3, 2, 2], true);
    const rows = F.slice(x, 0, 1, 3);
    assert.equal(rows.storage.block, x.storage.block);
    assert.deepEqual([...(await read(rows))], [4, 5, 6, 7, 8, 9, 10, 11]);
    const cols = F.slice(x, 2, 1, 2);
    assert.notEqual(cols.storage.block, x.storage.block);
    assert.deepEqual([...(await read(cols))], [1, 3, 5, 7, 9, 11]);
    F.add(F.sum(rows), F.sum(cols)).backward();
    assert.deepEqual([...(await read(x.grad!))], [0, 1, 0, 1, 1, 2, 1, 2, 1, 2, 1, 2]);
  });
  it('pads with a constant value and concats along the last dim', async () => {
    const x = t([1, 2, 3, 4], [2, 2]);
    assert.deepEqual([...(await read(F.pad(x, [1, 0, 0, 1], -1)))], [-1, 1, 2, -1, 3, 4, -1, -1, -1]);
    assert.deepEqual([...(await read(F.concat([x, t([9, 8], [2, 1])], 1)))], [1, 2, 9, 3, 4, 8]);
  });
});

describe('shape ops on two devices', () => {
  it('refuse tensors on two devices, naming the op and both devices', () => {
    const other = ensureSecondDevice();
    assertRefusesTwoDevices('concat', other, (a, b) => F.concat([a, b], 0));
    assertRefusesTwoDevices('matmul', other, (a, b) => F.matmul(a, F.transpose(b, 0, 1)));
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
