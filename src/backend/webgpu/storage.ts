/// <reference types="@webgpu/types" />
// WebGPU storage: a handle on (part of) a GPUBuffer from the runtime's pool. A view is a handle
// with an element offset into the same allocation; kernels receive each handle's offset as a
// parameter (`<name>_off`), since binding offsets would have to be 256-byte aligned.
import type { Storage } from '../storage.js';

/** One pooled GPUBuffer lent to a tensor; `freed` once released (every view is then released too). */
export class GpuAllocation {
  freed = false;
  constructor(
    readonly buffer: GPUBuffer,
    /** Elements (4 bytes each) the tensor asked for; the buffer may be larger (size classes). */
    readonly length: number,
  ) {}
}

export class GpuStorage implements Storage {
  readonly device = 'webgpu' as const;
  constructor(
    readonly dtype: 'float32' | 'int32',
    readonly alloc: GpuAllocation,
    /** First element of this handle inside the allocation. */
    readonly offset: number,
    readonly length: number,
  ) {}

  get block(): object {
    return this.alloc;
  }

  get whole(): boolean {
    return this.offset === 0 && this.length === this.alloc.length;
  }

  get released(): boolean {
    return this.alloc.freed;
  }
}

/** The GpuStorage behind a handle; throws naming `fn` for another device's handle or a released one. */
export function gpuStorage(s: Storage, fn: string, dtype: 'float32' | 'int32' = 'float32'): GpuStorage {
  if (!(s instanceof GpuStorage)) {
    throw new TypeError(`${fn}: expected ${dtype} storage on device 'webgpu', got ${s.dtype} storage on device '${s.device}'`);
  }
  if (s.dtype !== dtype) throw new TypeError(`${fn}: expected ${dtype} storage, got ${s.dtype}`);
  if (s.alloc.freed) {
    throw new Error(`${fn}: this tensor's memory was released (by dispose(), or by to()/module.to() moving it to another device); it cannot be used again`);
  }
  return s;
}
