import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { functional as F, tensor, type Tensor } from '../../src/index.js';
import { loadFixtures } from '../helpers/fixtures.js';
import { forEachIsaAndThreads } from '../helpers/opcases.js';
import { forEachDevice, ensureSecondDevice } from '../helpers/device.js';
import { assertRefusesTwoDevices, checkOpCaseOn, gradcheckOn } from '../helpers/device_checks.js';

function run(p: Record<string, unknown>, x: Tensor): Tensor {
  // `dim` (a number) selects torch.max(x, dim) semantics; `dims` (a list or null) amax semantics.
  const dims = p.dim !== undefined ? (p.dim as number) : ((p.dims as number[] | null) ?? undefined);
  const keep = p.keepDim as boolean;
  switch (p.op) {
    case 'sum': return F.sum(x, dims, keep);
    case 'mean': return F.mean(x, dims, keep);
    case 'max': return F.max(x, dims, keep);
    case 'min': return F.min(x, dims, keep);
    case 'var': return F.variance(x, dims, { keepDim: keep, unbiased: (p.unbiased as boolean | undefined) ?? true });
    default: throw new Error(`unknown op ${String(p.op)}`);
  }
}

const cases = loadFixtures('reduce');

// Every ISA path and thread count on the CPU; the default path behind the second device.
forEachDevice('reductions against PyTorch fixtures', (device) => {
  const body = (): void => {
    for (const c of cases) it(`matches ${c.name}`, () => checkOpCaseOn(device, c, ([x]) => run(c.params, x)));
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

/**
 * Float64 reference of a reduction of a [2, 3, 2, 2] tensor over `dims`, output in PyTorch's
 * order (kept dims in order). `f` maps the group's values to the result.
 */
function reduceRef(shape: number[], dims: number[], f: (v: number[]) => number) {
  return ([x]: Float64Array[]): Float64Array => {
    const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
    const kept = shape.map((_, i) => i).filter((i) => !dims.includes(i));
    const groups = new Map<number, number[]>();
    for (let flat = 0; flat < x.length; flat++) {
      let key = 0;
      for (const d of kept) key = key * shape[d] + (Math.floor(flat / strides[d]) % shape[d]);
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key)!.push(x[flat]);
    }
    return Float64Array.from([...groups.keys()].sort((a, b) => a - b).map((k) => f(groups.get(k)!)));
  };
}

const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
const shape = [2, 3, 2, 2];

forEachDevice('reduction gradients against float64 finite differences', (device) => {
  const specs: [string, (x: Tensor, d: number[]) => Tensor, (v: number[]) => number][] = [
    ['sum', (x, d) => F.sum(x, d), (v) => v.reduce((a, b) => a + b, 0)],
    ['mean', (x, d) => F.mean(x, d), mean],
    ['max', (x, d) => F.max(x, d), (v) => Math.max(...v)],
    ['min', (x, d) => F.min(x, d), (v) => Math.min(...v)],
    ['var', (x, d) => F.variance(x, d), (v) => v.reduce((a, b) => a + (b - mean(v)) ** 2, 0) / (v.length - 1)],
    ['biased var', (x, d) => F.variance(x, d, { unbiased: false }), (v) => v.reduce((a, b) => a + (b - mean(v)) ** 2, 0) / v.length],
    ['std', (x, d) => F.std(x, d), (v) => Math.sqrt(v.reduce((a, b) => a + (b - mean(v)) ** 2, 0) / (v.length - 1))],
  ];
  for (const [name, op, f] of specs) {
    for (const dims of [[0, 2, 3], [1], [0, 2]]) {
      it(`checks ${name} over dims [${dims.join(', ')}]`, async () => {
        await gradcheckOn(device, `${name} ${dims}`, ([x]) => op(x, dims), reduceRef(shape, dims, f), [{ data: rnd(24, 11 + dims.length), shape }]);
      });
    }
  }
});

forEachDevice('an empty list of dims', (device, { t, read }) => {
  it('reduces over every dim, as torch.sum(x, dim=[]) does', async () => {
    const x = t([1, 2, 3, 4, 5, 6], [2, 3], true);
    const s = F.sum(x, []);
    assert.deepEqual(s.shape, []);
    assert.equal(await s.itemAsync(), 21);
    assert.equal(await F.mean(x, []).itemAsync(), 3.5);
    assert.deepEqual(F.sum(x, [], true).shape, [1, 1]);
    s.backward();
    assert.deepEqual([...(await read(x.grad!))], [1, 1, 1, 1, 1, 1]);
  });
});

forEachDevice('max and min gradients', (device, { t, read }) => {
  it('go to the first arg-extreme for one dim given as a number (torch.max(x, dim))', async () => {
    const x = t([3, 1, 3, 0, 2, 2], [2, 3], true);
    const y = F.max(x, 1);
    assert.deepEqual([...(await read(y))], [3, 2]);
    y.backward(t([10, 20], [2]));
    assert.deepEqual([...(await read(x.grad!))], [10, 0, 0, 0, 20, 0]);
  });
  it('split evenly among ties for a list of dims (torch.amax)', async () => {
    const x = t([3, 1, 3, 0, 2, 2], [2, 3], true);
    const y = F.min(x, [0, 1]);
    assert.equal(await y.itemAsync(), 0);
    const z = F.max(x, [1]);
    z.backward(t([10, 20], [2]));
    assert.deepEqual([...(await read(x.grad!))], [5, 0, 5, 0, 10, 10]);
  });
});

describe('reductions on two devices', () => {
  it('keep the device of their input, and a reduction of a product of tensors on two devices is refused by mul', () => {
    const other = ensureSecondDevice();
    const x = tensor([1, 2, 3], [3], { device: other });
    for (const y of [F.sum(x), F.mean(x), F.max(x), F.min(x), F.variance(x), F.std(x)]) assert.equal(y.device, other);
    assertRefusesTwoDevices('mul', other, (a, b) => F.sum(F.mul(a, b)));
  });
});

describe('reduction errors', () => {
  it('rejects a dim outside the tensor', () => {
    assert.throws(() => F.sum(tensor(new Float32Array(6), [2, 3]), 2), /sum: dim must be an integer in \[-2, 1\], got 2/);
  });
});
