// The CPU backend: the native addon's exports, behind the typed adapters of cpu/<family>.ts
// where a family has one, are the kernels, checked once at load time; memory is Float32Arrays
// from the buffer pool and slabs of cpu/alloc.ts behind storage handles.
import type { Backend, Kernels } from './backend.js';
import { loadAddon } from './native.js';
import { cpuMemory } from './cpu/memory.js';
import { cpuLossKernels, type NativeLossKernels } from './cpu/loss.js';
import { cpuOptimKernels, type NativeOptimKernels } from './cpu/optim.js';

/**
 * Every kernel name of the Backend type, grouped by family. `satisfies Record<keyof Kernels, true>`
 * makes the compiler reject a missing or unknown name, so this list cannot drift from the type.
 */
const KERNELS = {
  getNumThreads: true, setNumThreads: true, getIsa: true, setIsa: true, supportedIsas: true,
  sgemm: true,
  binary: true, unary: true, unaryBackward: true, sumToShape: true,
  reduce: true, permute: true,
  sgdStep: true, adamStep: true, rmspropStep: true,
  softmaxForward: true, softmaxBackward: true, crossEntropyForward: true, crossEntropyBackward: true, nllLossForward: true, nllLossBackward: true,
  classTargets: true,
  mseLossForward: true, mseLossBackward: true, bceWithLogitsForward: true, bceWithLogitsBackward: true, dropoutMask: true,
  conv2dForward: true, conv2dBackwardInput: true, conv2dBackwardWeight: true,
  maxPool2dForward: true, maxPool2dBackward: true, avgPool2dForward: true, avgPool2dBackward: true,
  adaptiveAvgPool2dForward: true, adaptiveAvgPool2dBackward: true,
  batchNormForward: true, batchNormBackward: true, normChannelAffine: true, groupNormForward: true, groupNormBackward: true, copyFloats: true,
  channelNormForward: true, channelNormBackward: true, frnForward: true, frnBackward: true,
  evoNormS0Forward: true, evoNormS0Backward: true, evoNormB0Forward: true, evoNormB0Backward: true,
} as const satisfies Record<keyof Kernels, true>;

/** The names of every kernel of the Backend type. */
export const backendKernelNames = Object.keys(KERNELS) as (keyof Kernels)[];

/** The addon functions that the typed adapters (cpu/<family>.ts) call. */
const ADAPTED_NATIVE = Object.keys({
  softmaxForward: true, softmaxBackward: true, crossEntropyForward: true, crossEntropyBackward: true, nllLossForward: true,
  mseLossForward: true, mseLossBackward: true, bceWithLogitsForward: true, bceWithLogitsBackward: true, dropoutMask: true,
  sgdStep: true, adamStep: true, rmspropStep: true,
} as const satisfies Record<keyof NativeLossKernels | keyof NativeOptimKernels, true>);

/**
 * Throws unless the addon has every function the adapters call and the composed backend has
 * every kernel (an adapter may add kernels of its own in JS, over host memory).
 */
function checked(addon: Record<string, unknown>, be: Record<string, unknown>): Backend {
  const missing = [
    ...ADAPTED_NATIVE.filter((k) => typeof addon[k] !== 'function'),
    ...backendKernelNames.filter((k) => typeof be[k] !== 'function'),
  ];
  if (missing.length > 0) {
    throw new Error(`normlab: the native addon lacks kernels ${missing.join(', ')}; rebuild it with 'npm install'.`);
  }
  return be as unknown as Backend;
}

const addonKernels = loadAddon() as Record<string, unknown>;

export const cpu: Backend = checked(addonKernels, {
  ...addonKernels,
  ...cpuMemory,
  ...cpuLossKernels(addonKernels as unknown as NativeLossKernels),
  ...cpuOptimKernels(addonKernels as unknown as NativeOptimKernels),
});
