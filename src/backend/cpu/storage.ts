// CPU storage: a handle on a Float32Array or Int32Array (or a view of one). The CPU backend's
// kernels unwrap handles with hostArray / hostIndexArray; nothing outside src/backend and
// src/tensor does.
import type { Device, Storage } from '../storage.js';

/** A handle on a typed array in host memory; released handles refuse every use. */
abstract class HostMemory<A extends Float32Array | Int32Array> implements Storage {
  abstract readonly dtype: 'float32' | 'int32';
  private array: A | null;

  /** `device` is 'cpu' except for a device emulated in host memory (the tests' second device). */
  constructor(array: A, readonly device: Device = 'cpu') {
    this.array = array;
  }

  get length(): number {
    return this.array === null ? 0 : this.array.length;
  }

  get released(): boolean {
    return this.array === null;
  }

  get block(): object {
    return this.live('block').buffer;
  }

  get whole(): boolean {
    const a = this.live('whole');
    return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength;
  }

  /** The values, for CPU kernels. Throws once the handle was released. */
  live(fn: string): A {
    if (this.array === null) {
      throw new Error(`${fn}: this tensor's memory was released (by dispose(), or by to()/module.to() moving it to another device); it cannot be used again`);
    }
    return this.array;
  }

  /** Marks the handle released and returns the array it held (for the pool). */
  detachArray(): A | null {
    const a = this.array;
    this.array = null;
    return a;
  }
}

/** float32 values. */
export class HostStorage extends HostMemory<Float32Array> {
  readonly dtype = 'float32' as const;
}

/** int32 indices (class targets, arg-max positions, pooling indices). */
export class HostIndexStorage extends HostMemory<Int32Array> {
  readonly dtype = 'int32' as const;
}

/** The Float32Array behind a storage handle in host memory. */
export function hostArray(s: Storage, fn = 'cpu kernel'): Float32Array {
  if (!(s instanceof HostStorage)) {
    throw new TypeError(`${fn}: expected float32 storage in host memory, got ${s.dtype} storage on device '${s.device}'`);
  }
  return s.live(fn);
}

/** A CPU storage handle on `a` (no copy). */
export function hostStorage(a: Float32Array): HostStorage {
  return new HostStorage(a);
}

/** The Int32Array behind an index storage handle in host memory. */
export function hostIndexArray(s: Storage, fn = 'cpu kernel'): Int32Array {
  if (!(s instanceof HostIndexStorage)) {
    throw new TypeError(`${fn}: expected int32 storage in host memory, got ${s.dtype} storage on device '${s.device}'`);
  }
  return s.live(fn);
}
