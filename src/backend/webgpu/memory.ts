// The WebGPU backend's memory verbs over the runtime's buffer pool. Reads are asynchronous only:
// a GPU buffer cannot be mapped without yielding to the event loop.
import type { MemoryVerbs } from '../kernels/memory.js';
import { grid1d, type GpuRuntime, type KernelSpec } from './runtime.js';
import { GpuStorage, gpuStorage } from './storage.js';

const FILL: KernelSpec = {
  name: 'fill',
  storages: [{ name: 'y', type: 'f32', access: 'read_write' }],
  params: [{ name: 'n', type: 'u32' }, { name: 'value', type: 'f32' }],
  workgroupSize: [256],
  body: 'let i = linear_id(gid, nwg); if (i < P.n) { y[P.y_off + i] = P.value; }',
};

const ACCUMULATE: KernelSpec = {
  name: 'accumulate',
  storages: [{ name: 'src', type: 'f32', access: 'read' }, { name: 'dst', type: 'f32', access: 'read_write' }],
  params: [{ name: 'n', type: 'u32' }],
  workgroupSize: [256],
  body: 'let i = linear_id(gid, nwg); if (i < P.n) { dst[P.dst_off + i] = dst[P.dst_off + i] + src[P.src_off + i]; }',
};

export function webgpuMemory(rt: GpuRuntime): MemoryVerbs {
  return {
    device: 'webgpu',
    empty: (n) => rt.allocate(n, 'float32'),
    zeros(n) {
      const s = rt.allocate(n, 'float32');
      rt.clear(s);
      return s;
    },
    full(n, value) {
      const s = rt.allocate(n, 'float32');
      if (value === 0) rt.clear(s);
      else rt.run(FILL, [s], { n, value }, grid1d(n, 256));
      return s;
    },
    upload(values) {
      const s = rt.allocate(values.length, 'float32');
      rt.write(s, values);
      return s;
    },
    write(dst, values) {
      rt.write(gpuStorage(dst, 'write'), values);
    },
    async download(s) {
      return new Float32Array(await rt.read(gpuStorage(s, 'download')));
    },
    downloadSync() {
      throw new Error("downloadSync: device 'webgpu' cannot be read synchronously; use await x.read() or await x.itemAsync()");
    },
    view(s, offset, length) {
      const g = gpuStorage(s, 'view', s.dtype);
      if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > g.length) {
        throw new RangeError(`view: values [${offset}, ${offset + length}) are outside a storage of ${g.length} values`);
      }
      return offset === 0 && length === g.length ? g : new GpuStorage(g.dtype, g.alloc, g.offset + offset, length);
    },
    copy(src, dst) {
      rt.copy(gpuStorage(src, 'copy', src.dtype), gpuStorage(dst, 'copy', src.dtype));
    },
    accumulate(dst, src) {
      const d = gpuStorage(dst, 'accumulate');
      const s = gpuStorage(src, 'accumulate');
      if (d.length !== s.length) throw new RangeError(`accumulate: dst has ${d.length} values, src ${s.length}`);
      rt.run(ACCUMULATE, [s, d], { n: d.length }, grid1d(d.length, 256));
    },
    release: (s) => rt.release(s),
    emptyIndex: (n) => rt.allocate(n, 'int32'),
    uploadIndex(values) {
      const s = rt.allocate(values.length, 'int32');
      rt.write(s, values);
      return s;
    },
    async downloadIndex(s) {
      return new Int32Array(await rt.read(gpuStorage(s, 'downloadIndex', 'int32')));
    },
    downloadIndexSync() {
      throw new Error("downloadIndexSync: device 'webgpu' cannot be read synchronously; use downloadIndex()");
    },
    withReuse: (fn) => fn(),
  };
}
