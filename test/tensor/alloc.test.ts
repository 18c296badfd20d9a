import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, nn, randn } from '../../src/index.js';
import { bufferPoolStats, clearBufferPool, emptyFloats, ownsBuffer, releaseFloats, withBufferReuse, zeroFloats } from '../../src/backend/cpu/alloc.js';

const BIG = 16 * 1024;

describe('float buffer allocator', () => {
  beforeEach(() => clearBufferPool());

  it('hands a released large buffer to the next request of the same length inside withBufferReuse, and only there', () => {
    const a = emptyFloats(BIG);
    assert.ok(ownsBuffer(a));
    releaseFloats(a);
    assert.deepEqual(bufferPoolStats(), { buffers: 1, bytes: BIG * 4 });
    assert.notEqual(emptyFloats(BIG), a);
    withBufferReuse(() => {
      assert.notEqual(emptyFloats(BIG + 16), a);
      assert.equal(emptyFloats(BIG), a);
      assert.notEqual(emptyFloats(BIG), a);
    });
    assert.deepEqual(bufferPoolStats(), { buffers: 0, bytes: 0 });
  });

  it('fills released buffers with NaN under NORMLAB_POISON_EMPTY, so a use after release shows', () => {
    assert.equal(process.env.NORMLAB_POISON_EMPTY, '1', 'the test runner sets NORMLAB_POISON_EMPTY=1');
    const a = emptyFloats(BIG).fill(3);
    releaseFloats(a);
    assert.ok(Number.isNaN(a[0]) && Number.isNaN(a[BIG - 1]));
  });

  it('ignores small arrays, views and a second release of the same buffer', () => {
    releaseFloats(new Float32Array(100));
    const big = new Float32Array(4 * BIG);
    releaseFloats(big.subarray(0, 2 * BIG));
    const a = emptyFloats(BIG);
    releaseFloats(a);
    releaseFloats(a);
    assert.deepEqual(bufferPoolStats(), { buffers: 1, bytes: BIG * 4 });
  });

  it('keeps at most 8 buffers of one length', () => {
    const bufs = Array.from({ length: 10 }, () => emptyFloats(BIG));
    for (const b of bufs) releaseFloats(b);
    assert.equal(bufferPoolStats().buffers, 8);
  });

  it('gives small arrays as zeroed views of a shared slab, each with its own values', () => {
    const a = zeroFloats(64);
    const b = zeroFloats(64);
    assert.ok(!ownsBuffer(a) && a.buffer === b.buffer);
    assert.ok(a.every((v) => v === 0) && b.every((v) => v === 0));
    a.fill(1);
    assert.ok(b.every((v) => v === 0));
    assert.equal(b.byteOffset - a.byteOffset, 64 * 4);
    assert.equal(zeroFloats(0).length, 0);
  });
});

describe('gradient buffers handed back by the autograd engine', () => {
  beforeEach(() => clearBufferPool());

  it('returns the activation gradients that backward consumed, with the same gradient values', () => {
    const x = tensor(Float32Array.from({ length: BIG }, (_, i) => (i % 7) - 3), [BIG], { requiresGrad: true });
    // y = relu(2x) * 3: the gradients of relu's output and input are intermediate.
    x.mul(2).relu().mul(3).sum().backward();
    assert.ok(bufferPoolStats().buffers >= 1, JSON.stringify(bufferPoolStats()));
    const g = x.grad!.buffer;
    for (let i = 0; i < BIG; i++) assert.equal(g[i], (i % 7) - 3 > 0 ? 6 : 0);
  });

  it('reuses an unread .grad buffer after zeroGrad() in the next backward pass, not in forward', () => {
    const x = randn([4, BIG / 4], { seed: 1, requiresGrad: true });
    const w = randn([4, BIG / 4], { seed: 2 });
    const ones = tensor(new Float32Array(BIG).fill(1), [4, BIG / 4]);
    // mul's rule allocates x's gradient, which becomes .grad without a copy.
    x.mul(w).backward(ones);
    const first = x.peekGrad()!.block;
    x.zeroGrad();
    assert.deepEqual(bufferPoolStats(), { buffers: 1, bytes: BIG * 4 });
    const y = x.mul(w);
    assert.notEqual(y.storage.block, first);
    y.backward(ones);
    assert.equal(x.peekGrad()!.block, first);
    assert.deepEqual(x.grad!.buffer, w.buffer);
    // Through sum: its gradient of ones is consumed by mul's rule and handed back.
    x.zeroGrad();
    x.mul(w).sum().backward();
    assert.equal(bufferPoolStats().buffers, 1);
    assert.deepEqual(x.grad!.buffer, w.buffer);
  });

  it('never reuses a .grad that the caller read: the old gradient keeps its values', () => {
    const x = randn([4, BIG / 4], { seed: 1, requiresGrad: true });
    const w = randn([4, BIG / 4], { seed: 2 });
    x.mul(w).sum().backward();
    const old = x.grad!;
    x.zeroGrad();
    assert.equal(x.grad, null);
    x.mul(w.mul(2)).sum().backward();
    assert.notEqual(x.grad!.buffer, old.buffer);
    assert.deepEqual(old.buffer, w.buffer);
    for (let i = 0; i < 8; i++) assert.equal(x.grad!.buffer[i], Math.fround(2 * w.buffer[i]));
  });

  it('lets a module\'s zeroGrad() hand back parameter gradients that the optimizer only peeked at', () => {
    const lin = new nn.Linear(BIG / 8, 8);
    const x = randn([2, BIG / 8], { seed: 3 });
    lin.forward(x).sum().backward();
    const wg = lin.weight.peekGrad()!.block;
    lin.zeroGrad();
    assert.ok(bufferPoolStats().buffers >= 1);
    lin.forward(x).sum().backward();
    assert.equal(lin.weight.peekGrad()!.block, wg);
  });
});
