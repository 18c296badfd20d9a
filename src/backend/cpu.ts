// The CPU backend: the native addon's exports, behind the typed adapters of cpu/<family>.ts
// where a family has one, are the kernels, checked once at load time; memory is Float32Arrays
// from the buffer pool and slabs of cpu/alloc.ts behind storage handles.
import type { Backend, Kernels } from './backend.js';
import { loadAddon } from './native.js';
import { cpuMemory } from './cpu/memory.js';
import { cpuConvKernels, type NativeConvKernels } from './cpu/conv.js';
import { cpuPoolKernels, type NativePoolKernels } from './cpu/pool.js';
import { cpuGemmKernels, type NativeGemmKernels } from './cpu/gemm.js';
import { cpuElementwiseKernels, type NativeElementwiseKernels } from './cpu/elementwise.js';
import { cpuReduceKernels, type NativeReduceKernels } from './cpu/reduce.js';
import { cpuNormKernels, type NativeNormKernels } from './cpu/norm.js';
import { cpuLossKernels, type NativeLossKernels } from './cpu/loss.js';
import { cpuOptimKernels, type NativeOptimKernels } from './cpu/optim.js';
import type { RuntimeKernels } from './kernels/runtime.js';

/**
 * Every kernel name of the Backend type, grouped by family: true for a kernel the native addon
 * exports, 'js' for one the CPU adapters implement over host arrays. `satisfies Record<keyof
 * Kernels, ...>` makes the compiler reject a missing or unknown name, so this list cannot drift
 * from the type.
 */
const KERNELS = {
  getNumThreads: true, setNumThreads: true, getIsa: true, setIsa: true, supportedIsas: true,
  sgemm: true,
  binary: true, unary: true, unaryBackward: true, sumToShape: true, minMaxBackward: 'js',
  reduce: true, permute: true, extremeBackward: 'js', copyRegion: 'js',
  sgdStep: true, adamStep: true, rmspropStep: true,
  softmaxForward: true, softmaxBackward: true, crossEntropyForward: true, crossEntropyBackward: true, nllLossForward: true, nllLossBackward: 'js',
  classTargets: 'js',
  mseLossForward: true, mseLossBackward: true, bceWithLogitsForward: true, bceWithLogitsBackward: true, dropoutMask: true,
  conv2dForward: true, conv2dBackwardInput: true, conv2dBackwardWeight: true,
  maxPool2dForward: true, maxPool2dBackward: true, avgPool2dForward: true, avgPool2dBackward: true,
  adaptiveAvgPool2dForward: true, adaptiveAvgPool2dBackward: true,
  batchNormForward: true, batchNormBackward: true, normChannelAffine: true, groupNormForward: true, groupNormBackward: true,
  normEvalScaleShift: 'js', runningStatsUpdate: 'js', batchRenormParams: 'js',
  channelNormForward: true, channelNormBackward: true, frnForward: true, frnBackward: true,
  evoNormS0Forward: true, evoNormS0Backward: true, evoNormB0Forward: true, evoNormB0Backward: true,
  localResponseNormForward: true, localResponseNormBackward: true,
} as const satisfies Record<keyof Kernels, true | 'js'>;

/** The names of every kernel of the Backend type. */
export const backendKernelNames = Object.keys(KERNELS) as (keyof Kernels)[];

type NativeKernels = RuntimeKernels & NativeGemmKernels & NativeElementwiseKernels & NativeReduceKernels & NativeLossKernels &
  NativeOptimKernels & NativeConvKernels & NativePoolKernels & NativeNormKernels;

/**
 * The addon functions the typed adapters (cpu/<family>.ts) call, by their positional native
 * signatures; `satisfies` keeps the list equal to the adapters' Native*Kernels interfaces.
 */
const NATIVE = Object.keys({
  getNumThreads: true, setNumThreads: true, getIsa: true, setIsa: true, supportedIsas: true,
  sgemm: true, binary: true, unary: true, unaryBackward: true, sumToShape: true, reduce: true, permute: true,
  softmaxForward: true, softmaxBackward: true, crossEntropyForward: true, crossEntropyBackward: true, nllLossForward: true,
  mseLossForward: true, mseLossBackward: true, bceWithLogitsForward: true, bceWithLogitsBackward: true, dropoutMask: true,
  sgdStep: true, adamStep: true, rmspropStep: true,
  conv2dForward: true, conv2dBackwardInput: true, conv2dBackwardWeight: true,
  maxPool2dForward: true, maxPool2dBackward: true, avgPool2dForward: true, avgPool2dBackward: true,
  adaptiveAvgPool2dForward: true, adaptiveAvgPool2dBackward: true,
  batchNormForward: true, batchNormBackward: true, normChannelAffine: true, groupNormForward: true, groupNormBackward: true,
  channelNormForward: true, channelNormBackward: true, frnForward: true, frnBackward: true,
  evoNormS0Forward: true, evoNormS0Backward: true, evoNormB0Forward: true, evoNormB0Backward: true,
  localResponseNormForward: true, localResponseNormBackward: true,
} as const satisfies Record<keyof NativeKernels, true>);

/** Throws unless the addon has every function the adapters call. */
function checkedAddon(addon: Record<string, unknown>): NativeKernels {
  const missing = NATIVE.filter((k) => typeof addon[k] !== 'function');
  if (missing.length > 0) {
    throw new Error(`normlab: the native addon lacks kernels ${missing.join(', ')}; rebuild it with 'npm install'.`);
  }
  return addon as unknown as NativeKernels;
}

const addon = checkedAddon(loadAddon() as Record<string, unknown>);

export const cpu: Backend = {
  getNumThreads: addon.getNumThreads,
  setNumThreads: addon.setNumThreads,
  getIsa: addon.getIsa,
  setIsa: addon.setIsa,
  supportedIsas: addon.supportedIsas,
  ...cpuGemmKernels(addon),
  ...cpuElementwiseKernels(addon),
  ...cpuReduceKernels(addon),
  ...cpuLossKernels(addon),
  ...cpuOptimKernels(addon),
  ...cpuConvKernels(addon),
  ...cpuPoolKernels(addon),
  ...cpuNormKernels(addon),
  ...cpuMemory,
};
