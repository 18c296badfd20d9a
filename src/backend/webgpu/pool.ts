// WebGPU pool kernels (WGSL), implementing PoolKernels of kernels/pool.ts on the runtime's storage.
import type { PoolKernels } from '../kernels/pool.js';
import type { GpuRuntime } from './runtime.js';

export function webgpuPoolKernels(rt: GpuRuntime): Partial<PoolKernels> {
  void rt;
  return {};
}
