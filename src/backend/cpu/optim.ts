// The CPU optimizer kernels: native/optim.cc's positional functions behind the typed argument
// objects of kernels/optim.ts.
import type { OptimKernels } from '../kernels/optim.js';
import type { Storage } from '../storage.js';
import { hostArray } from './storage.js';

/** The addon's optimizer functions; a buffer the update does not use may be empty. */
export interface NativeOptimKernels {
  sgdStep(p: Float32Array, g: Float32Array, buf: Float32Array, lr: number, momentum: number, dampening: number, weightDecay: number, nesterov: boolean, firstStep: boolean): void;
  adamStep(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number, decoupled: boolean): void;
  rmspropStep(p: Float32Array, g: Float32Array, sq: Float32Array, buf: Float32Array, gAvg: Float32Array, lr: number, alpha: number, eps: number, weightDecay: number, momentum: number, centered: boolean): void;
}

const EMPTY = new Float32Array(0);

function optional(s: Storage | null, fn: string): Float32Array {
  return s === null ? EMPTY : hostArray(s, fn);
}

export function cpuOptimKernels(addon: NativeOptimKernels): OptimKernels {
  return {
    sgdStep({ p, g, buf, lr, momentum, dampening, weightDecay, nesterov, firstStep }) {
      const fn = 'sgdStep';
      addon.sgdStep(hostArray(p, fn), hostArray(g, fn), optional(buf, fn), lr, momentum, dampening, weightDecay, nesterov, firstStep);
    },
    adamStep({ p, g, m, v, lr, beta1, beta2, eps, weightDecay, step, decoupled }) {
      const fn = 'adamStep';
      addon.adamStep(hostArray(p, fn), hostArray(g, fn), hostArray(m, fn), hostArray(v, fn), lr, beta1, beta2, eps, weightDecay, step, decoupled);
    },
    rmspropStep({ p, g, sq, buf, gAvg, lr, alpha, eps, weightDecay, momentum, centered }) {
      const fn = 'rmspropStep';
      addon.rmspropStep(hostArray(p, fn), hostArray(g, fn), hostArray(sq, fn), optional(buf, fn), optional(gAvg, fn), lr, alpha, eps, weightDecay, momentum, centered);
    },
  };
}
