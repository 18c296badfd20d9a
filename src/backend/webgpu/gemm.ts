// WebGPU gemm kernels (WGSL), implementing GemmKernels of kernels/gemm.ts on the runtime's storage.
import type { GemmKernels } from '../kernels/gemm.js';
import type { GpuRuntime } from './runtime.js';

export function webgpuGemmKernels(rt: GpuRuntime): Partial<GemmKernels> {
  void rt;
  return {};
}
