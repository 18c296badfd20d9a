// WebGPU loss kernels (WGSL), implementing LossKernels of kernels/loss.ts on the runtime's storage.
import type { LossKernels } from '../kernels/loss.js';
import type { GpuRuntime } from './runtime.js';

export function webgpuLossKernels(rt: GpuRuntime): Partial<LossKernels> {
  void rt;
  return {};
}
