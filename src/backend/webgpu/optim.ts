// WebGPU optim kernels (WGSL), implementing OptimKernels of kernels/optim.ts on the runtime's storage.
import type { OptimKernels } from '../kernels/optim.js';
import type { GpuRuntime } from './runtime.js';

export function webgpuOptimKernels(rt: GpuRuntime): Partial<OptimKernels> {
  void rt;
  return {};
}
