// The CPU backend: the native addon's exports are the kernels, checked once at load time; memory
// is Float32Arrays from the buffer pool and slabs of cpu/alloc.ts behind storage handles.
import type { Backend, Kernels } from './backend.js';
import { loadAddon } from './native.js';
import { cpuMemory } from './cpu/memory.js';
import { cpuConvKernels, type NativeConvKernels } from './cpu/conv.js';
import { cpuPoolKernels, type NativePoolKernels } from './cpu/pool.js';
import { cpuGemmKernels, type NativeGemmKernels } from './cpu/gemm.js';
import { cpuElementwiseKernels, type NativeElementwiseKernels } from './cpu/elementwise.js';
import { cpuReduceKernels, type NativeReduceKernels } from './cpu/reduce.js';
import { cpuNormKernels, type NativeNormKernels } from './cpu/norm.js';

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
  softmaxForward: true, softmaxBackward: true, crossEntropyForward: true, crossEntropyBackward: true, nllLossForward: true,
  mseLossForward: true, mseLossBackward: true, bceWithLogitsForward: true, bceWithLogitsBackward: true, dropoutMask: true,
  conv2dForward: true, conv2dBackwardInput: true, conv2dBackwardWeight: true,
  maxPool2dForward: true, maxPool2dBackward: true, avgPool2dForward: true, avgPool2dBackward: true,
  adaptiveAvgPool2dForward: true, adaptiveAvgPool2dBackward: true,
  batchNormForward: true, batchNormBackward: true, normChannelAffine: true, groupNormForward: true, groupNormBackward: true,
  normEvalScaleShift: 'js', runningStatsUpdate: 'js', batchRenormParams: 'js',
  channelNormForward: true, channelNormBackward: true, frnForward: true, frnBackward: true,
  evoNormS0Forward: true, evoNormS0Backward: true, evoNormB0Forward: true, evoNormB0Backward: true,
} as const satisfies Record<keyof Kernels, true | 'js'>;

/** The names of every kernel of the Backend type. */
export const backendKernelNames = Object.keys(KERNELS) as (keyof Kernels)[];

function checked(addon: Record<string, unknown>): Kernels {
  const missing = backendKernelNames.filter((k) => KERNELS[k] === true && typeof addon[k] !== 'function');
  if (missing.length > 0) {
    throw new Error(`normlab: the native addon lacks kernels ${missing.join(', ')}; rebuild it with 'npm install'.`);
  }
  return addon as unknown as Kernels;
}

const addon = loadAddon() as Record<string, unknown>;
// Typed adapters replace the addon's positional exports of the same names.
const addonKernels = checked({ ...addon, ...cpuNormKernels(addon as unknown as NativeNormKernels) });

export const cpu: Backend = {
  ...addonKernels,
  ...cpuConvKernels(addonKernels as unknown as NativeConvKernels),
  ...cpuPoolKernels(addonKernels as unknown as NativePoolKernels),
  ...cpuGemmKernels(addonKernels as unknown as NativeGemmKernels),
  ...cpuElementwiseKernels(addonKernels as unknown as NativeElementwiseKernels),
  ...cpuReduceKernels(addonKernels as unknown as NativeReduceKernels),
  ...cpuMemory,
};
