import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { functional as F, tensor, type Tensor } from '../../src/index.js';
import { loadFixtures } from '../helpers/fixtures.js';
import { forEachIsaAndThreads } from '../helpers/opcases.js';
import type { Reference } from '../helpers/gradcheck.js';
import { forEachDevice, ensureSecondDevice } from '../helpers/device.js';
import { assertRefusesTwoDevices, checkOpCaseOn, gradcheckOn } from '../helpers/device_checks.js';

type Params = Record<string, unknown>;

function run(op: string, p: Params, x: Tensor[]): Tensor {
  const s = p.scalar as number | undefined;
  switch (op) {
    case 'add': return s !== undefined ? F.add(x[0], s) : F.add(x[0], x[1]);
    case 'sub': return s !== undefined ? F.sub(x[0], s) : F.sub(x[0], x[1]);
    case 'mul': return s !== undefined ? F.mul(x[0], s) : F.mul(x[0], x[1]);
    case 'div': return s !== undefined ? F.div(x[0], s) : F.div(x[0], x[1]);
    case 'maximum': return F.maximum(x[0], x[1]);
    case 'minimum': return F.minimum(x[0], x[1]);
    case 'pow': return F.pow(x[0], p.exponent as number);
    case 'exp': return F.exp(x[0]);
    case 'log': return F.log(x[0]);
    case 'sqrt': return F.sqrt(x[0]);
    case 'rsqrt': return F.rsqrt(x[0]);
    case 'abs': return F.abs(x[0]);
    case 'neg': return F.neg(x[0]);
    case 'square': return F.square(x[0]);
    case 'relu': return F.relu(x[0]);
    case 'leakyRelu': return p.slope === undefined ? F.leakyRelu(x[0]) : F.leakyRelu(x[0], p.slope as number);
    case 'sigmoid': return F.sigmoid(x[0]);
    case 'tanh': return F.tanh(x[0]);
    case 'gelu': return F.gelu(x[0]);
    case 'clamp': return F.clamp(x[0], p.min as number | null, p.max as number | null);
    default: throw new Error(`unknown op ${op}`);
  }
}

const cases = loadFixtures('elementwise');

// Every ISA path and thread count on the CPU; the default path behind the second device.
forEachDevice('elementwise ops against PyTorch fixtures', (device) => {
  const body = (): void => {
    for (const c of cases) {
      it(`matches ${c.name}`, () => checkOpCaseOn(device, c, (x) => run(c.params.op as string, c.params, x)));
    }
  };
  if (device === 'cpu') forEachIsaAndThreads(body);
  else body();
});

function rnd(n: number, seed: number, lo = -2, hi = 2): Float32Array {
  let s = seed;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = lo + ((s >>> 8) / 16777216) * (hi - lo);
  }
  return out;
}

/** Float64 reference of a binary op broadcasting b of shape [C,1,1] against a of shape [N,C,H,W]. */
function channelBroadcast(f: (a: number, b: number) => number, N: number, C: number, HW: number): Reference {
  return ([a, b]) => {
    const y = new Float64Array(N * C * HW);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let i = 0; i < HW; i++) {
      const k = (n * C + c) * HW + i;
      y[k] = f(a[k], b[c]);
    }
    return y;
  };
}

const unaryRefs: [string, (x: Tensor) => Tensor, (v: number) => number, number, number][] = [
  ['exp', F.exp, Math.exp, -2, 2],
  ['log', F.log, Math.log, 0.5, 3],
  ['sqrt', F.sqrt, Math.sqrt, 0.5, 3],
  ['rsqrt', F.rsqrt, (v) => 1 / Math.sqrt(v), 0.5, 3],
  ['abs', F.abs, Math.abs, -2, 2],
  ['pow 2.5', (x) => F.pow(x, 2.5), (v) => v ** 2.5, 0.5, 2],
  ['relu', F.relu, (v) => Math.max(v, 0), -2, 2],
  ['leakyRelu', (x) => F.leakyRelu(x, 0.1), (v) => (v > 0 ? v : 0.1 * v), -2, 2],
  ['sigmoid', F.sigmoid, (v) => 1 / (1 + Math.exp(-v)), -4, 4],
  ['tanh', F.tanh, Math.tanh, -2, 2],
  ['gelu', F.gelu, (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)), -3, 3],
  ['clamp', (x) => F.clamp(x, -0.5, 0.7), (v) => Math.min(Math.max(v, -0.5), 0.7), -2, 2],
];

/** erf to ~1e-13 by its Maclaurin series (|x| <= 3 here). */
function erf(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 80; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** Keeps inputs a safe distance from kinks (relu, abs, clamp) so central differences are exact. */
function awayFromKinks(x: Float32Array, kinks: number[]): Float32Array {
  return x.map((v) => (kinks.some((k) => Math.abs(v - k) < 1e-2) ? v + 0.05 : v));
}

forEachDevice('elementwise gradients against float64 finite differences', (device) => {
  for (const [name, op, f, lo, hi] of unaryRefs) {
    it(`checks ${name}`, async () => {
      const x = awayFromKinks(rnd(24, name.length * 7 + 1, lo, hi), [0, -0.5, 0.7]);
      await gradcheckOn(device, name, ([t]) => op(t), ([a]) => a.map(f), [{ data: x, shape: [4, 6] }]);
    });
  }
  const binaries: [string, (a: Tensor, b: Tensor) => Tensor, (a: number, b: number) => number][] = [
    ['add', F.add, (a, b) => a + b],
    ['sub', F.sub, (a, b) => a - b],
    ['mul', F.mul, (a, b) => a * b],
    ['div', F.div, (a, b) => a / b],
  ];
  for (const [name, op, f] of binaries) {
    it(`checks ${name} broadcasting [2, 3, 2, 2] with [3, 1, 1]`, async () => {
      await gradcheckOn(device, name, ([a, b]) => op(a, b), channelBroadcast(f, 2, 3, 4), [
        { data: rnd(24, 3), shape: [2, 3, 2, 2] },
        { data: rnd(3, 5, 0.5, 2), shape: [3, 1, 1] },
      ]);
    });
  }
});

forEachDevice('elementwise maximum and minimum gradients', (device, { t, read }) => {
  it('sends the gradient to the larger (smaller) input and splits ties evenly, broadcasting b', async () => {
    const a = t([1, 5, 3, 2, 2, 7], [2, 3], true);
    const b = t([2, 5, 1], [3], true);
    const y = F.maximum(a, b);
    assert.deepEqual([...(await read(y))], [2, 5, 3, 2, 5, 7]);
    y.backward(t([1, 2, 4, 8, 16, 32], [2, 3]));
    // Ties at [0, 1] and [1, 0] split their gradient; b's gradient sums over the broadcast rows.
    assert.deepEqual([...(await read(a.grad!))], [0, 1, 4, 4, 0, 32]);
    assert.deepEqual([...(await read(b.grad!))], [1 + 4, 1 + 16, 0]);
    const z = F.minimum(t([1, 5, 3], [3], true), t([2, 5, 1], [3], true));
    assert.deepEqual([...(await read(z))], [1, 5, 1]);
  });
});

describe('elementwise ops on two devices', () => {
  it('refuse tensors on two devices, naming the op and both devices', () => {
    const other = ensureSecondDevice();
    for (const [name, op] of [['add', F.add], ['sub', F.sub], ['mul', F.mul], ['div', F.div], ['maximum', F.maximum], ['minimum', F.minimum]] as const) {
      assertRefusesTwoDevices(name, other, (a, b) => op(a, b));
    }
  });
});

describe('elementwise errors', () => {
  it('rejects shapes that cannot be broadcast together', () => {
    const a = tensor(new Float32Array(6), [2, 3]);
    const b = tensor(new Float32Array(4), [4]);
    assert.throws(() => F.add(a, b), /add: shapes \[2, 3\] and \[4\] cannot be broadcast together/);
    assert.throws(() => F.mul(tensor(new Float32Array(24), [2, 3, 2, 2]), tensor(new Float32Array(2), [2, 1, 1])), /mul: shapes .* cannot be broadcast/);
  });

  it('rejects clamp with min above max', () => {
    assert.throws(() => F.clamp(tensor([1, 2]), 1, 0), /clamp: min must be <= max/);
  });
});
