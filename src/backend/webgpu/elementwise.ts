// WebGPU elementwise kernels (WGSL), implementing ElementwiseKernels of kernels/elementwise.ts on the runtime's storage.
import type { ElementwiseKernels } from '../kernels/elementwise.js';
import type { GpuRuntime } from './runtime.js';

export function webgpuElementwiseKernels(rt: GpuRuntime): Partial<ElementwiseKernels> {
  void rt;
  return {};
}
