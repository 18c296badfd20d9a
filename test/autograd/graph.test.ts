import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, noGrad } from '../../src/index.js';

describe('autograd graph', () => {
  it('accumulates gradients across backward calls like PyTorch', () => {
    const x = tensor([1, 2, 3], [3], { requiresGrad: true });
    x.mul(2).sum().backward();
    x.mul(3).sum().backward();
    assert.deepEqual([...x.grad!.data()], [5, 5, 5]);
  });

  it('sums gradients of a tensor used twice in one graph', () => {
    const x = tensor([1, 2], [2], { requiresGrad: true });
    const y = x.mul(x).add(x).sum();
    y.backward();
    assert.deepEqual([...x.grad!.data()], [3, 5]);
  });

  it('does not corrupt sibling gradients that share a buffer through reshape and add', () => {
    const a = tensor([1, 2, 3, 4], [4], { requiresGrad: true });
    const w = tensor([1, 1, 1, 1], [2, 2], { requiresGrad: true });
    const y = a.reshape(2, 2).add(w);
    const z = y.add(a.reshape(2, 2)).mul(tensor([1, 2, 3, 4], [2, 2])).sum();
    z.backward();
    assert.deepEqual([...w.grad!.data()], [1, 2, 3, 4]);
    assert.deepEqual([...a.grad!.data()], [2, 4, 6, 8]);
  });

  it('never writes into the gradient given to backward()', () => {
    const x = tensor([1, 2, 3, 4], [2, 2], { requiresGrad: true });
    const y = x.reshape(4).add(x.reshape(4));
    const g = tensor([1, 1, 1, 1], [4]);
    y.backward(g);
    assert.deepEqual([...g.data()], [1, 1, 1, 1]);
    assert.deepEqual([...x.grad!.data()], [2, 2, 2, 2]);
  });

  it('keeps two leaves independent when one rule hands them the same gradient buffer', () => {
    const a = tensor([1, 2], [2], { requiresGrad: true });
    const b = tensor([3, 4], [2], { requiresGrad: true });
    // mul's rule returns a fresh buffer; add's rule returns that same buffer for a and b.
    a.add(b).mul(3).sum().backward();
    a.grad!.buffer[0] = 100;
    assert.deepEqual([...b.grad!.data()], [3, 3]);
    a.add(b).mul(2).sum().backward();
    assert.deepEqual([...a.grad!.data()], [102, 5]);
    assert.deepEqual([...b.grad!.data()], [5, 5]);
  });

  it('adds into a handed-over gradient without touching the other contributions', () => {
    const x = tensor([1, 2, 3], [3], { requiresGrad: true });
    const shared = x.mul(2);
    // x receives a fresh buffer (from mul by 5) and a view of the same gradient twice.
    const y = shared.mul(5).add(x).add(x);
    const g = tensor([1, 10, 100], [3]);
    y.backward(g);
    assert.deepEqual([...x.grad!.data()], [12, 120, 1200]);
    assert.deepEqual([...g.data()], [1, 10, 100]);
  });

  it('refuses a second backward through a freed graph', () => {
    const x = tensor([1, 2], [2], { requiresGrad: true });
    const y = x.mul(3).sum();
    y.backward();
    assert.throws(() => y.backward(), /already freed/);
  });

  it('records nothing under noGrad', () => {
    const x = tensor([1, 2], [2], { requiresGrad: true });
    const y = noGrad(() => x.mul(3));
    assert.equal(y.requiresGrad, false);
    assert.equal(y.gradFn, null);
  });

  it('requires an explicit gradient for a non-scalar output', () => {
    const x = tensor([1, 2], [2], { requiresGrad: true });
    assert.throws(() => x.mul(2).backward(), /only for a tensor with 1 element/);
  });
});
