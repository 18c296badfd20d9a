import { cpu } from './cpu.js';
import type { Backend } from './backend.js';
import type { Isa } from './kernels/runtime.js';

export type { Backend } from './backend.js';
export type { Isa } from './kernels/runtime.js';

/** The backend every op runs on. */
export const backend: Backend = cpu;

/** Sets the native thread-pool size (default: number of cores, or NORMLAB_NUM_THREADS). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: n must be an integer >= 1, got ${n}`);
  backend.setNumThreads(n);
}
export function getNumThreads(): number {
  return backend.getNumThreads();
}
/** Forces an instruction-set path (as NORMLAB_ISA does); throws if the CPU lacks it. */
export function setIsa(isa: Isa): void {
  backend.setIsa(isa);
}
export function getIsa(): Isa {
  return backend.getIsa();
}
export function supportedIsas(): Isa[] {
  return backend.supportedIsas();
}
