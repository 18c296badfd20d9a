// Dropout cannot match PyTorch's random stream, so these tests check its statistics and
// determinism: keep fraction ~ 1 - p, scale 1 / (1 - p), same mask for the same seed on any
// ISA or thread count, identity in eval mode, zeros for p = 1, channel-wise masks for dropout2d.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { functional as F, ones, manualSeed, getNumThreads, setNumThreads, getIsa, setIsa, supportedIsas, type Tensor } from '../../src/index.js';
import { forEachDevice } from '../helpers/device.js';

/** dropout(ones(16), 0.5, { seed: 42 }): the values the counter-based generator has always drawn for this seed. */
const SEED_42_HALF = [2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 2, 2, 2, 0, 0, 2];

forEachDevice('dropout', (device, { t, read }) => {
  const onesOn = (shape: number[]): Tensor => ones(shape, { device });
  for (const p of [0.1, 0.5, 0.8]) {
    it(`keeps a fraction 1 - p within 5 sigma and scales kept values by 1 / (1 - p) for p = ${p}`, async () => {
      const n = 200000;
      const y = await read(F.dropout(onesOn([n]), p, { seed: 1234 }));
      const kept = y.filter((v) => v !== 0);
      const sigma = Math.sqrt(n * p * (1 - p));
      assert.ok(Math.abs(kept.length - n * (1 - p)) < 5 * sigma, `kept ${kept.length} of ${n}`);
      const scale = Math.fround(1 / (1 - p));
      assert.ok(kept.every((v) => v === scale));
    });
  }

  it('draws the same mask values as the native generator gives for a known seed', async () => {
    assert.deepEqual([...(await read(F.dropout(onesOn([16]), 0.5, { seed: 42 })))], SEED_42_HALF);
  });

  it('gives the same mask for the same seed and a different one for another seed', async () => {
    const x = onesOn([1000]);
    const a = await read(F.dropout(x, 0.5, { seed: 7 }));
    assert.deepEqual(await read(F.dropout(x, 0.5, { seed: 7 })), a);
    assert.notDeepEqual(await read(F.dropout(x, 0.5, { seed: 8 })), a);
  });

  it('draws its seed from the global generator, so manualSeed makes it repeatable', async () => {
    const x = onesOn([500]);
    manualSeed(3);
    const a = await read(F.dropout(x, 0.5));
    const b = await read(F.dropout(x, 0.5));
    manualSeed(3);
    assert.deepEqual(await read(F.dropout(x, 0.5)), a);
    assert.deepEqual(await read(F.dropout(x, 0.5)), b);
    assert.notDeepEqual(a, b);
  });

  it('is the identity when not training or when p = 0, and zeros when p = 1', async () => {
    const x = t([1, 2, 3]);
    assert.equal(F.dropout(x, 0.5, { training: false }), x);
    assert.equal(F.dropout(x, 0), x);
    assert.deepEqual([...(await read(F.dropout(x, 1, { seed: 1 })))], [0, 0, 0]);
  });

  it('passes the gradient through the same mask', async () => {
    const x = t(Float32Array.from({ length: 64 }, (_, i) => i + 1), [64], true);
    const y = F.dropout(x, 0.25, { seed: 5 });
    y.sum().backward();
    const yv = await read(y);
    const g = await read(x.grad!);
    for (let i = 0; i < 64; i++) assert.equal(g[i], yv[i] === 0 ? 0 : Math.fround(1 / 0.75));
  });

  it('rejects p outside [0, 1] and a non-integer seed', () => {
    assert.throws(() => F.dropout(t([1]), 1.5), /dropout: p must be a probability in \[0, 1\], got 1.5/);
    assert.throws(() => F.dropout(t([1]), -0.1), /dropout: p must be a probability in \[0, 1\], got -0.1/);
    assert.throws(() => F.dropout(t([1]), 0.5, { seed: 1.5 }), /dropout: seed must be a safe integer, got 1.5/);
  });
});

describe('dropout on the CPU', () => {
  it('gives the same mask on every ISA and thread count', () => {
    const nt0 = getNumThreads();
    const isa0 = getIsa();
    try {
      const x = ones([100003]);
      const masks = [];
      for (const isa of supportedIsas()) {
        for (const nt of [1, 2, 3]) {
          setIsa(isa);
          setNumThreads(nt);
          masks.push(F.dropout(x, 0.3, { seed: 99 }).data());
        }
      }
      for (const m of masks) assert.deepEqual(m, masks[0]);
    } finally {
      setNumThreads(nt0);
      setIsa(isa0);
    }
  });

});

forEachDevice('dropout2d', (device, { read }) => {
  it('zeroes whole channels and keeps about 1 - p of them', async () => {
    const [N, C, H, W] = [50, 40, 3, 3];
    const y = await read(F.dropout2d(ones([N, C, H, W], { device }), 0.4, { seed: 11 }));
    let keptChannels = 0;
    for (let nc = 0; nc < N * C; nc++) {
      const vals = y.subarray(nc * H * W, (nc + 1) * H * W);
      assert.ok(vals.every((v) => v === vals[0]), `channel ${nc} is not uniform`);
      if (vals[0] !== 0) {
        keptChannels++;
        assert.equal(vals[0], Math.fround(1 / 0.6));
      }
    }
    const n = N * C;
    assert.ok(Math.abs(keptChannels - 0.6 * n) < 5 * Math.sqrt(n * 0.24), `kept ${keptChannels} of ${n} channels`);
  });

  it('rejects input that is not NCHW', () => {
    assert.throws(() => F.dropout2d(ones([2, 3], { device }), 0.5), /dropout2d: input must have rank 4, got rank 2/);
  });
});
