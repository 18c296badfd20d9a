// Output buffers for kernels. `new Float32Array(n)` zero-fills: for a 32 MB activation that is a
// 5 ms memset before the kernel overwrites every value anyway (measured: 5.7 ms vs 0.2 ms for
// 128x64x32x32). `emptyFloats` returns uninitialized memory, like torch.empty, for callers whose
// kernel writes every element. Small buffers keep the zeroed path (V8 allocates them in its own
// heap, where that is cheaper than an off-heap allocation).
//
// NORMLAB_POISON_EMPTY=1 fills every empty buffer with NaN instead: the test suite runs with it,
// so a kernel that reads an element it did not write shows up as NaN in a fixture comparison.

/** Below this many floats, buffers come zeroed from V8's heap. */
const UNINIT_MIN_FLOATS = 16 * 1024;

const poison = process.env.NORMLAB_POISON_EMPTY === '1';

/** A Float32Array of n values whose contents are unspecified; the caller must write all of them. */
export function emptyFloats(n: number): Float32Array {
  if (n < UNINIT_MIN_FLOATS) return poison ? new Float32Array(n).fill(NaN) : new Float32Array(n);
  // allocUnsafeSlow: never from Node's shared pool, so the ArrayBuffer belongs to this array
  // alone (offset 0), which the autograd engine relies on to hand gradient buffers over.
  const bytes = Buffer.allocUnsafeSlow(n * 4);
  const out = new Float32Array(bytes.buffer, bytes.byteOffset, n);
  if (poison) out.fill(NaN);
  return out;
}
