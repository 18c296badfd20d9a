import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { functional as F, tensor } from '../../src/index.js';
import { loadFixtures } from '../helpers/fixtures.js';
import { forEachIsaAndThreads } from '../helpers/opcases.js';
import { forEachDevice, ensureSecondDevice } from '../helpers/device.js';
import { assertRefusesTwoDevices, checkOpCaseOn, gradcheckOn } from '../helpers/device_checks.js';

const cases = loadFixtures('linear');

// Every ISA path and thread count on the CPU; the default path behind the second device.
forEachDevice('linear against PyTorch fixtures', (device) => {
  const body = (): void => {
    for (const c of cases) it(`matches ${c.name}`, () => checkOpCaseOn(device, c, ([x, w, b]) => F.linear(x, w, b)));
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

/** Float64 y[n, o] = sum_i x[n, i] w[o, i] + b[o]. */
function linearRef(N: number, I: number, O: number) {
  return ([x, w, b]: Float64Array[]): Float64Array => {
    const y = new Float64Array(N * O);
    for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) {
      let s = b === undefined ? 0 : b[o];
      for (let i = 0; i < I; i++) s += x[n * I + i] * w[o * I + i];
      y[n * O + o] = s;
    }
    return y;
  };
}

forEachDevice('linear gradients against float64 finite differences', (device) => {
  it('checks input, weight and bias', async () => {
    await gradcheckOn(device, 'linear', ([x, w, b]) => F.linear(x, w, b), linearRef(3, 5, 4), [
      { data: rnd(15, 1), shape: [3, 5] },
      { data: rnd(20, 2), shape: [4, 5] },
      { data: rnd(4, 3), shape: [4] },
    ]);
  });
  it('checks input and weight without bias', async () => {
    await gradcheckOn(device, 'linear', ([x, w]) => F.linear(x, w), linearRef(2, 3, 7), [
      { data: rnd(6, 4), shape: [2, 3] },
      { data: rnd(21, 5), shape: [7, 3] },
    ]);
  });
});

describe('linear on two devices', () => {
  it('refuses an input, weight or bias on another device, naming the op and both devices', () => {
    const other = ensureSecondDevice();
    assertRefusesTwoDevices('linear', other, (x, w) => F.linear(x, w), [3, 3]);
    const x = tensor(new Float32Array(6), [2, 3]);
    const w = tensor(new Float32Array(6), [2, 3]);
    assert.throws(() => F.linear(x, w, tensor([1, 2], [2], { device: other })), /linear: expected all tensors on one device, but found tensors on 'cpu' and 'webgpu'/);
  });
});

describe('linear errors', () => {
  const w = tensor(new Float32Array(6), [2, 3]);
  it('rejects a weight that is not 2-D', () => {
    assert.throws(() => F.linear(tensor(new Float32Array(3), [1, 3]), tensor(new Float32Array(3), [3])), /linear: weight must have rank 2, got rank 1/);
  });
  it('rejects an input whose last dim is not inFeatures', () => {
    assert.throws(() => F.linear(tensor(new Float32Array(8), [2, 4]), w), /linear: input must have last dimension 3 .* got shape \[2, 4\]/);
  });
  it('rejects a bias of the wrong shape', () => {
    assert.throws(() => F.linear(tensor(new Float32Array(3), [1, 3]), w, tensor(new Float32Array(3), [3])), /linear: bias must have shape \[2\], got \[3\]/);
  });
});
