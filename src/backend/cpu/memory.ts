// The CPU backend's memory verbs: storage is a Float32Array from the pool and slabs of alloc.ts.
import type { MemoryVerbs } from '../kernels/memory.js';
import type { Storage } from '../storage.js';
import { emptyFloats, zeroFloats, releaseFloats, withBufferReuse } from './alloc.js';
import { HostIndexStorage, HostStorage, hostArray, hostIndexArray } from './storage.js';

export const cpuMemory: MemoryVerbs = {
  device: 'cpu',
  empty: (n) => new HostStorage(emptyFloats(n)),
  zeros: (n) => new HostStorage(zeroFloats(n)),
  // A Float32Array of its own (not a slab view): full() makes parameters and user tensors, whose
  // memory may be transferred or written to a file as a whole.
  full(n, value) {
    const a = new Float32Array(n);
    if (value !== 0) a.fill(value);
    return new HostStorage(a);
  },
  upload(values) {
    const a = emptyFloats(values.length);
    a.set(values);
    return new HostStorage(a);
  },
  write(dst, values) {
    const a = hostArray(dst, 'write');
    if (a.length !== values.length) throw new RangeError(`write: dst has ${a.length} values, got ${values.length}`);
    a.set(values);
  },
  download: (s) => Promise.resolve(hostArray(s, 'download').slice()),
  downloadSync: (s) => hostArray(s, 'downloadSync').slice(),
  view(s, offset, length) {
    const a = hostArray(s, 'view');
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > a.length) {
      throw new RangeError(`view: values [${offset}, ${offset + length}) are outside a storage of ${a.length} values`);
    }
    return offset === 0 && length === a.length ? s : new HostStorage(a.subarray(offset, offset + length));
  },
  copy(src, dst) {
    const a = hostArray(src, 'copy');
    const b = hostArray(dst, 'copy');
    if (a.length !== b.length) throw new RangeError(`copy: src has ${a.length} values, dst ${b.length}`);
    b.set(a);
  },
  accumulate(dst, src) {
    const d = hostArray(dst, 'accumulate');
    const s = hostArray(src, 'accumulate');
    if (d.length !== s.length) throw new RangeError(`accumulate: dst has ${d.length} values, src ${s.length}`);
    for (let i = 0; i < d.length; i++) d[i] += s[i];
  },
  emptyIndex: (n) => new HostIndexStorage(new Int32Array(n)),
  uploadIndex: (values) => new HostIndexStorage(Int32Array.from(values)),
  downloadIndex: (s) => Promise.resolve(hostIndexArray(s, 'downloadIndex').slice()),
  downloadIndexSync: (s) => hostIndexArray(s, 'downloadIndexSync').slice(),
  release(s: Storage) {
    if (s instanceof HostIndexStorage) {
      s.detachArray();
      return;
    }
    if (!(s instanceof HostStorage) || s.released) return;
    const a = s.detachArray();
    if (a !== null) releaseFloats(a);
  },
  withReuse: withBufferReuse,
};
