// Memory verbs: every Backend allocates, fills, copies, uploads, downloads and releases the
// storage its kernels work on. Callers above src/backend never see the memory, only handles.
import type { Device, Storage } from '../storage.js';

export interface MemoryVerbs {
  readonly device: Device;
  /** n values whose contents are unspecified (as torch.empty); the caller writes every one. */
  empty(n: number): Storage;
  /** n zeros. */
  zeros(n: number): Storage;
  /** n copies of value. */
  full(n: number, value: number): Storage;
  /** New storage holding a copy of host values. */
  upload(values: Float32Array): Storage;
  /** Overwrites all of dst with host values (same length). */
  write(dst: Storage, values: Float32Array): void;
  /** A host copy of the values; resolves once the device has finished every queued kernel. */
  download(s: Storage): Promise<Float32Array>;
  /** A host copy, synchronously. Only devices that can read without waiting implement it (CPU); others throw. */
  downloadSync(s: Storage): Float32Array;
  /** A handle on `length` values of s starting at `offset` (shares the memory). */
  view(s: Storage, offset: number, length: number): Storage;
  /** dst = src (same length). */
  copy(src: Storage, dst: Storage): void;
  /** dst += src (same length); the autograd engine's gradient accumulation. */
  accumulate(dst: Storage, src: Storage): void;
  /**
   * Hands memory back for reuse. The caller must drop every reference to s and its views; the
   * handle is marked released, and a kernel given it afterwards throws.
   */
  release(s: Storage): void;
  /** n int32 values, contents unspecified (index outputs: argmax, pooling indices). */
  emptyIndex(n: number): Storage;
  /** New int32 storage holding a copy of host indices (class targets). */
  uploadIndex(values: Int32Array): Storage;
  /** A host copy of int32 storage. */
  downloadIndex(s: Storage): Promise<Int32Array>;
  /** A host copy of int32 storage, synchronously (CPU only, as downloadSync). */
  downloadIndexSync(s: Storage): Int32Array;
  /** Runs fn with empty() serving released memory (the backward pass), see backend/cpu/alloc.ts. */
  withReuse<T>(fn: () => T): T;
}
