// WebGPU reduce kernels (WGSL), implementing ReduceKernels of kernels/reduce.ts on the runtime's storage.
import type { ReduceKernels } from '../kernels/reduce.js';
import type { GpuRuntime } from './runtime.js';

export function webgpuReduceKernels(rt: GpuRuntime): Partial<ReduceKernels> {
  void rt;
  return {};
}
