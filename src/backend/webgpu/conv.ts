// WebGPU conv kernels (WGSL), implementing ConvKernels of kernels/conv.ts on the runtime's storage.
import type { ConvKernels } from '../kernels/conv.js';
import type { GpuRuntime } from './runtime.js';

export function webgpuConvKernels(rt: GpuRuntime): Partial<ConvKernels> {
  void rt;
  return {};
}
