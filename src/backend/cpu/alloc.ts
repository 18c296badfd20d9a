// Float buffers for kernel outputs and gradients, shaped around how V8 collects ArrayBuffers.
//
// Uninitialized large buffers. `new Float32Array(n)` zero-fills: for a 32 MB activation that is a
// 5 ms memset before the kernel overwrites every value anyway (measured: 5.7 ms vs 0.2 ms for
// 128x64x32x32). `emptyFloats` returns uninitialized memory, like torch.empty, for callers whose
// kernel writes every element.
//
// Recycled large buffers. V8 frees an ArrayBuffer only in a garbage collection, and while tens of
// MB of young ArrayBuffers exist it runs a scavenge before each further off-heap allocation
// (measured: with a 32 MB output alive, allocating 256 bytes of per-channel statistics ran one).
// BatchNorm2d forward+backward on 128x64x32x32 allocated 64 MB per step (output and input
// gradient) plus small arrays: 3-4 scavenges per step; the output, alive across two of them, was
// promoted to the old generation, and freeing those took a mark-compact every other step, about
// 10 ms of GC CPU per 16 ms step on the core the second kernel thread needed (2 threads: 15.6 ms
// per step; with the pool and slabs below, 1 scavenge per step and 7.7-9.8 ms). Where the
// engine knows a buffer is dead it hands it back (`releaseFloats`): a gradient consumed by its
// rule inside backward(), a leaf's .grad dropped by zeroGrad() that no caller ever read. The next
// `emptyFloats` of the same length *inside a backward pass* (`withBufferReuse`) takes it from a
// bounded pool instead of allocating. Only there: a pooled buffer has lived long enough to be in
// V8's old generation, and a forward output that got one would, once dropped, be old garbage
// that only a mark-compact frees (measured on fbn-mnist training: 7 mark-compacts per 5 runs
// instead of 2 when forward outputs used the pool); backward's buffers mostly come back again.
//
// Small buffers from slabs. Below UNINIT_MIN_FLOATS, arrays are zeroed views carved from shared
// 256 KB slabs, so allocating per-channel statistics or a bias gradient is not an off-heap
// allocation and cannot start a collection while a large output is alive. A slab goes when its
// last view does. Such views share their ArrayBuffer: code that needs a buffer of its own (to
// transfer it, or the engine's ownership test) must check byteOffset and byteLength.
//
// NORMLAB_POISON_EMPTY=1 fills every empty buffer with NaN, and every released one as it is
// released: the test suite runs with it, so a kernel that reads an element it did not write, or
// code that keeps using a buffer after handing it back, shows up as NaN in a fixture comparison.

/** Below this many floats, buffers are zeroed views of a shared slab. */
const UNINIT_MIN_FLOATS = 16 * 1024;
/** Floats per slab (256 KB); views start on 16-float (64-byte) boundaries. */
const SLAB_FLOATS = 64 * 1024;
/** Bytes the pool of released buffers may hold, and buffers kept per length. */
const POOL_MAX_BYTES = 256 * 1024 * 1024;
const POOL_MAX_PER_LENGTH = 8;

const poison = process.env.NORMLAB_POISON_EMPTY === '1';

let slab = new Float32Array(0);
let slabUsed = 0;

/** A zeroed view of n floats from the current slab (n < UNINIT_MIN_FLOATS). */
function slabFloats(n: number): Float32Array {
  const span = (n + 15) & ~15;
  if (slabUsed + span > slab.length) {
    slab = new Float32Array(SLAB_FLOATS);
    slabUsed = 0;
  }
  const out = slab.subarray(slabUsed, slabUsed + n);
  slabUsed += span;
  return out;
}

const pool = new Map<number, Float32Array[]>();
let pooledBytes = 0;
let reuseDepth = 0;

/** Runs fn with emptyFloats serving released buffers (the autograd engine's backward pass). */
export function withBufferReuse<T>(fn: () => T): T {
  reuseDepth++;
  try {
    return fn();
  } finally {
    reuseDepth--;
  }
}

/** A Float32Array of n values whose contents are unspecified; the caller must write all of them. */
export function emptyFloats(n: number): Float32Array {
  if (n < UNINIT_MIN_FLOATS) {
    const out = slabFloats(n);
    return poison ? out.fill(NaN) : out;
  }
  const free = reuseDepth > 0 ? pool.get(n) : undefined;
  if (free !== undefined && free.length > 0) {
    const out = free.pop()!;
    pooledBytes -= n * 4;
    return out;
  }
  // allocUnsafeSlow: never from Node's shared pool, so the ArrayBuffer belongs to this array
  // alone (offset 0), which the autograd engine relies on to hand gradient buffers over.
  const bytes = Buffer.allocUnsafeSlow(n * 4);
  const out = new Float32Array(bytes.buffer, bytes.byteOffset, n);
  if (poison) out.fill(NaN);
  return out;
}

/** A Float32Array of n zeros (as `new Float32Array(n)`; small ones come from a slab). */
export function zeroFloats(n: number): Float32Array {
  return n < UNINIT_MIN_FLOATS ? slabFloats(n) : new Float32Array(n);
}

/** A copy of a in a new buffer (as `a.slice()`; small ones come from a slab). Not the memory verb copy, which copies between two given storages. */
export function cloneFloats(a: Float32Array): Float32Array {
  const out = emptyFloats(a.length);
  out.set(a);
  return out;
}

/** True when a is a whole ArrayBuffer of its own (not a view into a larger one). */
export function ownsBuffer(a: Float32Array): boolean {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength;
}

/**
 * Hands a buffer back for reuse by a later emptyFloats(a.length). Only for buffers nothing else
 * refers to: the caller must drop every reference to `a` (and to views of it). Small arrays and
 * views are ignored (left to the garbage collector); so are buffers beyond the pool's bounds.
 */
export function releaseFloats(a: Float32Array): void {
  const n = a.length;
  if (n < UNINIT_MIN_FLOATS || !ownsBuffer(a) || pooledBytes + n * 4 > POOL_MAX_BYTES) return;
  let free = pool.get(n);
  if (free === undefined) {
    free = [];
    pool.set(n, free);
  }
  if (free.length >= POOL_MAX_PER_LENGTH || free.includes(a)) return;
  if (poison) a.fill(NaN);
  free.push(a);
  pooledBytes += n * 4;
}

/** Buffers and bytes held for reuse (for tests and memory reports). */
export function bufferPoolStats(): { buffers: number; bytes: number } {
  let buffers = 0;
  for (const free of pool.values()) buffers += free.length;
  return { buffers, bytes: pooledBytes };
}

/** Drops every pooled buffer (the garbage collector frees them). */
export function clearBufferPool(): void {
  pool.clear();
  pooledBytes = 0;
}
