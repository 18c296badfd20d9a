import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { functional as F } from '../../src/index.js';
import { loadFixtures } from '../helpers/fixtures.js';
import { checkOpCase, forEachIsaAndThreads } from '../helpers/opcases.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { forEachDevice } from '../helpers/device.js';
import { checkOpCaseOn } from '../helpers/device_cases.js';

const cases = loadFixtures('softmax');

describe('softmax and logSoftmax against PyTorch fixtures', () => {
  forEachIsaAndThreads(() => {
    for (const c of cases) {
      const f = c.params.op === 'softmax' ? F.softmax : F.logSoftmax;
      it(`matches ${c.name}`, () => checkOpCase(c, ([x]) => f(x, c.params.dim as number)));
    }
  });
});

forEachDevice('softmax and logSoftmax against PyTorch fixtures', (device, tools) => {
  for (const c of cases) {
    const f = c.params.op === 'softmax' ? F.softmax : F.logSoftmax;
    it(`matches ${c.name}`, () => checkOpCaseOn(c, tools, ([x]) => f(x, c.params.dim as number)));
  }
});

/** Float64 (log-)softmax of a [rows, cols] block along cols, or along rows when `alongRows`. */
function softmaxRef(rows: number, cols: number, alongRows: boolean, log: boolean) {
  return ([x]: Float64Array[]): Float64Array => {
    const y = new Float64Array(rows * cols);
    const [outer, n, step] = alongRows ? [cols, rows, cols] : [rows, cols, 1];
    for (let o = 0; o < outer; o++) {
      const base = alongRows ? o : o * cols;
      let m = -Infinity;
      for (let i = 0; i < n; i++) m = Math.max(m, x[base + i * step]);
      let s = 0;
      for (let i = 0; i < n; i++) s += Math.exp(x[base + i * step] - m);
      for (let i = 0; i < n; i++) {
        const v = x[base + i * step] - m;
        y[base + i * step] = log ? v - Math.log(s) : Math.exp(v) / s;
      }
    }
    return y;
  };
}

function rnd(n: number, seed: number, scale = 2): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return ((s >>> 8) / 8388608 - 1) * scale;
  });
}

describe('softmax gradients against float64 finite differences', () => {
  for (const log of [false, true]) {
    const name = log ? 'logSoftmax' : 'softmax';
    const f = log ? F.logSoftmax : F.softmax;
    it(`checks ${name} over the last dim`, () => {
      gradcheck(name, ([x]) => f(x, 1), softmaxRef(3, 5, false, log), [{ data: rnd(15, 1), shape: [3, 5] }]);
    });
    it(`checks ${name} over dim 0`, () => {
      gradcheck(name, ([x]) => f(x, 0), softmaxRef(4, 3, true, log), [{ data: rnd(12, 2), shape: [4, 3] }]);
    });
  }
});

forEachDevice('softmax numerics', (device, { t, read }) => {
  it('stays finite and normalised for logits of magnitude 1e4', async () => {
    const y = await read(F.softmax(t([1e4, -1e4, 0, 1e4 - 1], [1, 4]), 1));
    assert.ok(y.every(Number.isFinite));
    assert.ok(Math.abs(y.reduce((a, b) => a + b, 0) - 1) < 1e-6);
    const l = await read(F.logSoftmax(t([1e4, -1e4], [1, 2]), 1));
    assert.equal(l[0], 0);
    assert.equal(l[1], -2e4);
  });
  it('rejects a dim outside the tensor', () => {
    assert.throws(() => F.softmax(t(new Float32Array(6), [2, 3]), 2), /softmax: dim must be an integer in \[-2, 1\], got 2/);
  });
});
