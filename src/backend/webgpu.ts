// The WebGPU backend: the memory verbs of webgpu/memory.ts and the WGSL kernels of
// webgpu/<family>.ts over one GpuRuntime (buffer pool, pipeline cache, command batching).
// It needs the optional package 'webgpu' and an adapter; enableWebgpu() registers it as device
// 'webgpu', after which tensor(..., { device: 'webgpu' }) and module.to('webgpu') work.
import type { Backend, Kernels } from './backend.js';
import { registerBackend, availableDevices, backendOn } from './index.js';
import { cpu, backendKernelNames } from './cpu.js';
import { requestGpuDevice, type WebgpuAdapterInfo } from './webgpu/gpu.js';
import { GpuRuntime } from './webgpu/runtime.js';
import { webgpuMemory } from './webgpu/memory.js';
import { webgpuGemmKernels } from './webgpu/gemm.js';
import { webgpuElementwiseKernels } from './webgpu/elementwise.js';
import { webgpuReduceKernels } from './webgpu/reduce.js';
import { webgpuLossKernels } from './webgpu/loss.js';
import { webgpuOptimKernels } from './webgpu/optim.js';
import { webgpuConvKernels } from './webgpu/conv.js';
import { webgpuPoolKernels } from './webgpu/pool.js';
import { webgpuNormKernels } from './webgpu/norm.js';
import { webgpuChannelNormKernels } from './webgpu/channelNorm.js';

export { probeWebgpu, type WebgpuProbe, type WebgpuAdapterInfo } from './webgpu/gpu.js';

export interface WebgpuBackend extends Backend {
  readonly runtime: GpuRuntime;
  readonly adapter: WebgpuAdapterInfo;
  /** Kernels of the Backend type this backend lacks (empty when complete). */
  readonly missingKernels: readonly string[];
}

/** Builds a WebGPU backend on a new device (does not register it). */
export async function createWebgpuBackend(): Promise<WebgpuBackend> {
  const { device, info } = await requestGpuDevice();
  const rt = new GpuRuntime(device);
  const kernels: Partial<Kernels> = {
    // Thread count and instruction-set path are the native CPU core's; host-side work of a WebGPU
    // run (data loading, metrics) still uses it.
    getNumThreads: cpu.getNumThreads,
    setNumThreads: cpu.setNumThreads,
    getIsa: cpu.getIsa,
    setIsa: cpu.setIsa,
    supportedIsas: cpu.supportedIsas,
    ...webgpuGemmKernels(rt),
    ...webgpuElementwiseKernels(rt),
    ...webgpuReduceKernels(rt),
    ...webgpuLossKernels(rt),
    ...webgpuOptimKernels(rt),
    ...webgpuConvKernels(rt),
    ...webgpuPoolKernels(rt),
    ...webgpuNormKernels(rt),
    ...webgpuChannelNormKernels(rt),
  };
  const missingKernels = backendKernelNames.filter((k) => typeof kernels[k] !== 'function');
  const complete = { ...kernels } as Record<string, unknown>;
  for (const name of missingKernels) {
    complete[name] = () => {
      throw new Error(`${name}: this kernel is not available on device 'webgpu'`);
    };
  }
  return { ...(complete as unknown as Kernels), ...webgpuMemory(rt), runtime: rt, adapter: info, missingKernels };
}

let enabling: Promise<WebgpuBackend> | null = null;

/**
 * Registers the WebGPU backend as device 'webgpu' (once per process) and returns it. Throws an
 * error naming the reason when there is no WebGPU: the optional package missing, no Vulkan
 * driver, or no adapter.
 */
export async function enableWebgpu(): Promise<WebgpuBackend> {
  if (availableDevices().includes('webgpu')) {
    const be = backendOn('webgpu') as Partial<WebgpuBackend>;
    if (be.runtime !== undefined) return be as WebgpuBackend;
  }
  enabling ??= createWebgpuBackend().then((be) => {
    registerBackend('webgpu', be);
    return be;
  });
  try {
    return await enabling;
  } catch (e) {
    enabling = null;
    throw e;
  }
}
