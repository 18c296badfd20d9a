// The per-channel norm kernels (running statistics, eval scale/shift, Batch Renorm's r and d) on
// every device, against values worked out by hand.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { backendOn } from '../../src/backend/index.js';
import { forEachDevice } from '../helpers/device.js';
import { assertClose } from '../helpers/assert.js';

forEachDevice('the per-channel norm kernels', (device) => {
  const be = backendOn(device);
  const up = (...v: number[]) => be.upload(Float32Array.from(v));

  it('runningStatsUpdate mixes a batch mean in with factor momentum', async () => {
    const running = up(0, 1, 2);
    be.runningStatsUpdate({ running, batch: up(10, 20, 30), momentum: 0.1, batches: null, transform: 'value', count: null, eps: 0 });
    assertClose(await be.download(running), [1, 2.9, 4.8], 'running mean');
  });

  it('runningStatsUpdate makes a biased variance unbiased with per-channel counts, keeping it biased for one value', async () => {
    const running = up(1, 1, 1);
    be.runningStatsUpdate({ running, batch: up(2, 2, 2), momentum: 0.5, batches: null, transform: 'unbiased', count: up(5, 2, 1), eps: 0 });
    assertClose(await be.download(running), [0.5 + 0.5 * 2.5, 0.5 + 0.5 * 4, 0.5 + 0.5 * 2], 'running var');
  });

  it('runningStatsUpdate averages [R, C] rows, broadcasts one value and takes the cumulative factor from the batch count', async () => {
    const rows = up(0, 0);
    be.runningStatsUpdate({ running: rows, batch: up(1, 2, 3, 6), momentum: 1, batches: null, transform: 'value', count: null, eps: 0 });
    assertClose(await be.download(rows), [2, 4], 'row average');
    const pooled = up(0, 4);
    const batches = up(4);
    be.runningStatsUpdate({ running: pooled, batch: up(8), momentum: null, batches, transform: 'value', count: null, eps: 0 });
    assertClose(await be.download(pooled), [2, 5], 'one value for every channel, factor 1 / 4');
    assert.throws(
      () => be.runningStatsUpdate({ running: pooled, batch: up(1, 2, 3), momentum: 0.1, batches: null, transform: 'value', count: null, eps: 0 }),
      /runningStatsUpdate: batch must have 1 value or a multiple of 2 \(running's length\), got 3/,
    );
  });

  it("runningStatsUpdate's 'std' transform averages sqrt(var + eps)", async () => {
    const running = up(1);
    be.runningStatsUpdate({ running, batch: up(3.75), momentum: 0.5, batches: null, transform: 'std', count: null, eps: 0.25 });
    assertClose(await be.download(running), [1.5], 'renorm std');
  });

  it('normEvalScaleShift gives weight / sqrt(var + eps) and bias - mean * scale', async () => {
    const scale = be.empty(2), shift = be.empty(2), invstd = be.empty(2);
    be.normEvalScaleShift({ runningMean: up(1, -2), runningVar: up(4, 0.25), weight: up(2, -1), bias: up(0.5, 1), eps: 0, scale, shift, invstd });
    assertClose(await be.download(invstd), [0.5, 2], 'invstd');
    assertClose(await be.download(scale), [1, -2], 'scale');
    assertClose(await be.download(shift), [-0.5, -3], 'shift');
  });

  it('batchRenormParams clips r and d, and warms up while the batch count is below warmupSteps', async () => {
    const out = Array.from({ length: 5 }, () => be.empty(2));
    const args = {
      mean: up(3, 0), variance: up(16, 0.25), invstd: up(0.25, 2), renormMean: up(0, 0), renormStd: up(1, 1),
      weight: up(2, 1), bias: up(0, 1), eps: 0, rMax: 3, dMax: 0.5, warmup: false, batches: up(1), warmupSteps: 1,
      r: out[0], d: out[1], gamma: out[2], scale: out[3], shift: out[4],
    };
    be.batchRenormParams(args);
    // sigma_B = 4 and 0.5: r = clip(4, 1/3, 3) = 3 and 0.5; d = clip(3, -0.5, 0.5) = 0.5 and 0.
    assertClose(await be.download(out[0]), [3, 0.5], 'r');
    assertClose(await be.download(out[1]), [0.5, 0], 'd');
    assertClose(await be.download(out[2]), [6, 0.5], 'r * weight');
    assertClose(await be.download(out[3]), [1.5, 1], 'scale');
    assertClose(await be.download(out[4]), [0.5 * 2 - 3 * 1.5, 1], 'shift');
    be.batchRenormParams({ ...args, batches: up(0) });
    assertClose(await be.download(out[0]), [1, 1], 'r during warm-up');
    assertClose(await be.download(out[1]), [0, 0], 'd during warm-up');
  });
});
