// WebGPU norm kernels (WGSL), implementing NormKernels of kernels/norm.ts on the runtime's storage.
import type { NormKernels } from '../kernels/norm.js';
import type { GpuRuntime } from './runtime.js';

export function webgpuNormKernels(rt: GpuRuntime): Partial<NormKernels> {
  void rt;
  return {};
}
