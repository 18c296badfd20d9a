import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { webgpuBackend, webgpuSkipReason } from '../../helpers/webgpu.js';
import { backendKernelNames } from '../../../src/backend/cpu.js';

const gpu = webgpuBackend();

describe('the WebGPU runtime', { skip: webgpuSkipReason }, () => {
  const be = gpu!;

  it('uploads, fills, views, copies and downloads float32 and int32 storage', async () => {
    const a = be.upload(Float32Array.from([1, 2, 3, 4, 5]));
    be.accumulate(a, be.full(5, 2.5));
    const c = be.zeros(3);
    be.copy(be.view(a, 1, 3), c);
    assert.deepEqual([...(await be.download(a))], [3.5, 4.5, 5.5, 6.5, 7.5]);
    assert.deepEqual([...(await be.download(c))], [4.5, 5.5, 6.5]);
    assert.deepEqual([...(await be.download(be.view(a, 3, 2)))], [6.5, 7.5]);
    assert.deepEqual([...(await be.downloadIndex(be.uploadIndex(Int32Array.from([7, -1, 2 ** 31 - 1]))))], [7, -1, 2 ** 31 - 1]);
  });

  it('reads an in-place input from a copy, so dst += dst doubles every value', async () => {
    const a = be.upload(Float32Array.from([1, -2, 3]));
    be.accumulate(a, a);
    assert.deepEqual([...(await be.download(a))], [2, -4, 6]);
  });

  it('runs kernels in the order they were issued across writes and buffer reuse', async () => {
    const a = be.upload(Float32Array.from([1, 1]));
    const b = be.upload(Float32Array.from([10, 20]));
    be.accumulate(b, a);
    be.write(a, Float32Array.from([100, 200]));
    be.accumulate(b, a);
    be.release(a);
    const reused = be.upload(Float32Array.from([5, 5]));
    be.accumulate(b, reused);
    assert.deepEqual([...(await be.download(b))], [116, 226]);
  });

  it('refuses synchronous reads, naming the asynchronous form', () => {
    assert.throws(() => be.downloadSync(be.zeros(2)), /cannot be read synchronously; use await x\.read\(\)/);
  });

  it('refuses a released handle and every view of it', () => {
    const a = be.zeros(4);
    const v = be.view(a, 1, 2);
    be.release(a);
    assert.equal(v.released, true);
    assert.throws(() => be.accumulate(v, v), /memory was released/);
  });

  it('refuses a missing parameter, an oversized grid and an allocation past the binding limit, naming each', () => {
    const spec = {
      name: 'probe', storages: [{ name: 'y', type: 'f32' as const, access: 'read_write' as const }], params: [{ name: 'n', type: 'u32' as const }], workgroupSize: [64] as [number],
      body: 'let i = linear_id(gid, nwg); if (i < P.n) { y[P.y_off + i] = 1.0; }',
    };
    const y = be.zeros(4);
    assert.throws(() => be.runtime.run(spec, [y], {}, [1, 1, 1]), /kernel probe: param 'n' \(u32\) must be given a finite integer, got undefined/);
    assert.throws(() => be.runtime.run(spec, [y], { n: 4 }, [70000, 1, 1]), /kernel probe: grid \[70000, 1, 1\] must hold integers in \[0, 65535\]/);
    assert.throws(() => be.runtime.run(spec, [null], { n: 4 }, [0, 1, 1]), /kernel probe: storage 'y' is required/);
    const limit = Math.min(be.runtime.device.limits.maxBufferSize, be.runtime.device.limits.maxStorageBufferBindingSize);
    assert.throws(() => be.empty(limit / 4 + 1), /webgpu allocate: \d+ values \(\d+ bytes\) exceed this device's largest storage binding/);
  });

  it('implements every kernel of the Backend type', () => {
    assert.deepEqual(be.missingKernels, [], `missing on webgpu: ${be.missingKernels.join(', ')}`);
    assert.equal(backendKernelNames.every((k) => typeof be[k] === 'function'), true);
  });
});
