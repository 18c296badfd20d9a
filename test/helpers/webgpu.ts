// WebGPU test tools. `webgpuBackend()` is the real WebGPU backend when the machine has an adapter
// (Dawn from the optional 'webgpu' package; lavapipe on a machine without a GPU), else null with
// the reason in `webgpuSkipReason`; with NORMLAB_REQUIRE_WEBGPU=1 (CI) a missing adapter fails.
// `crossCheck` runs one kernel on the CPU backend and on WebGPU with the same inputs and compares
// the outputs; the CPU kernels are themselves checked against PyTorch fixtures in test/ops and
// test/nn, and those suites also run on WebGPU through test/helpers/device.ts.
import assert from 'node:assert/strict';
import { backend as cpu, type Backend, type Kernels, type Storage } from '../../src/backend/index.js';
import { enableWebgpu, type WebgpuBackend } from '../../src/backend/webgpu.js';

let reason: string | null = null;
let gpu: WebgpuBackend | null = null;
try {
  gpu = await enableWebgpu();
} catch (e) {
  reason = (e as Error).message;
  if (process.env.NORMLAB_REQUIRE_WEBGPU === '1') throw new Error(`NORMLAB_REQUIRE_WEBGPU=1 but WebGPU is not available: ${reason}`);
}

export function webgpuBackend(): WebgpuBackend | null {
  return gpu;
}

/** Why the WebGPU tests are skipped here (null when WebGPU is available). */
export const webgpuSkipReason: string | false = reason === null ? false : `no WebGPU: ${reason}`;

/** Makes a kernel's inputs on one backend; the same calls on both backends give the same values. */
export interface Maker {
  /** float32 storage holding values. */
  f(values: ArrayLike<number>): Storage;
  /** int32 storage holding values. */
  i(values: ArrayLike<number>): Storage;
  /** n float32 values, unspecified (outputs). */
  empty(n: number): Storage;
  emptyIndex(n: number): Storage;
  /** n deterministic pseudo-random values in [lo, hi) (the same sequence on both backends). */
  rand(n: number, lo?: number, hi?: number): Float32Array;
}

function maker(be: Backend): Maker {
  let state = 0x9e3779b9;
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  return {
    f: (v) => be.upload(Float32Array.from(v)),
    i: (v) => be.uploadIndex(Int32Array.from(v)),
    empty: (n) => be.empty(n),
    emptyIndex: (n) => be.emptyIndex(n),
    rand: (n, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * next()),
  };
}

export interface Tolerance {
  rtol?: number;
  atol?: number;
}

/** Asserts that a and b agree within atol + rtol * |b| elementwise (NaN equals NaN). */
export function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, what: string, { rtol = 1e-4, atol = 1e-5 }: Tolerance = {}): void {
  assert.equal(a.length, b.length, `${what}: length ${a.length} vs ${b.length}`);
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (x === y) continue;
    if (!(Math.abs(x - y) <= atol + rtol * Math.abs(y))) {
      assert.fail(`${what}[${i}]: webgpu ${x} vs cpu ${y} (rtol ${rtol}, atol ${atol})`);
    }
  }
}

/**
 * Runs `kernel` with args from `build` on the CPU and on WebGPU and compares every storage named
 * in `outputs` (float32 or int32). Returns the CPU outputs, for further checks.
 */
export async function crossCheck<K extends keyof Kernels>(
  gpuBackend: Backend,
  kernel: K,
  build: (m: Maker) => Parameters<Kernels[K]>[0],
  outputs: string[],
  tol: Tolerance = {},
): Promise<Record<string, Float32Array | Int32Array>> {
  const results: Record<string, Float32Array | Int32Array>[] = [];
  for (const be of [cpu, gpuBackend]) {
    const args = build(maker(be)) as unknown as Record<string, unknown>;
    (be[kernel] as (a: unknown) => void)(args);
    const out: Record<string, Float32Array | Int32Array> = {};
    for (const name of outputs) {
      const s = args[name] as Storage | null | undefined;
      if (s == null) throw new Error(`crossCheck ${kernel}: output '${name}' is not a storage in the args`);
      out[name] = s.dtype === 'int32' ? await be.downloadIndex(s) : await be.download(s);
    }
    results.push(out);
  }
  for (const name of outputs) assertClose(results[1][name], results[0][name], `${kernel}.${name}`, tol);
  return results[0];
}
