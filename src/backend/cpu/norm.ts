// The CPU normalization kernels: the native addon's positional entry points (native/norm.cc,
// native/channel_norm.cc, native/local_response_norm.cc) behind the typed argument objects of kernels/norm.ts, and the
// per-channel kernels (C values: eval scale/shift, running statistics, Batch Renorm's r and d),
// which run here on the host arrays.
import type { NormAct, NormKernels } from '../kernels/norm.js';
import type { Storage } from '../storage.js';
import { hostArray } from './storage.js';

type F = Float32Array;
type Fn = F | null;

/** The addon's normalization exports (positional, over Float32Arrays). */
export interface NativeNormKernels {
  batchNormForward(
    x: F, N: number, C: number, S: number, gamma: Fn, beta: Fn, eps: number, y: Fn, mean: F, invstd: F, variance: F,
    threshold: number, mu0: Fn, rstd0: Fn, kept: Fn, act: number, actParam: number,
  ): void;
  batchNormBackward(
    x: F, dy: F, N: number, C: number, S: number, mean: F, invstd: F, gamma: Fn, batchStats: boolean, dx: Fn, dgamma: Fn,
    dbeta: Fn, count: Fn, threshold: number, mu0: Fn, rstd0: Fn, beta: Fn, act: number, actParam: number,
  ): void;
  normChannelAffine(x: F, N: number, C: number, S: number, scale: F, shift: F, y: F): void;
  groupNormForward(
    x: F, N: number, G: number, Cg: number, S: number, gamma: Fn, beta: Fn, eps: number, y: F, mean: F, invstd: F, variance: Fn,
    act: number, actParam: number,
  ): void;
  groupNormBackward(
    x: F, dy: F, N: number, G: number, Cg: number, S: number, mean: F, invstd: F, gamma: Fn, dx: Fn, dgamma: Fn, dbeta: Fn,
    beta: Fn, act: number, actParam: number,
  ): void;
  channelNormForward(x: F, N: number, C: number, S: number, gamma: Fn, beta: Fn, eps: number, center: boolean, y: F, mean: Fn, invstd: F): void;
  channelNormBackward(x: F, dy: F, N: number, C: number, S: number, mean: Fn, invstd: F, gamma: Fn, center: boolean, dx: Fn, dgamma: Fn, dbeta: Fn): void;
  frnForward(x: F, N: number, C: number, S: number, gamma: F, beta: F, tau: Fn, eps: number, y: F, rstd: F): void;
  frnBackward(x: F, dy: F, N: number, C: number, S: number, rstd: F, gamma: F, beta: F, tau: Fn, dx: Fn, dgamma: Fn, dbeta: Fn, dtau: Fn): void;
  evoNormS0Forward(x: F, N: number, G: number, Cg: number, S: number, v: F, w: F, b: F, eps: number, y: F, mean: F, rstd: F): void;
  evoNormS0Backward(x: F, dy: F, N: number, G: number, Cg: number, S: number, v: F, w: F, mean: F, rstd: F, dx: Fn, dv: Fn, dw: Fn, db: Fn): void;
  evoNormB0Forward(x: F, N: number, C: number, S: number, left: F, v: F, w: F, b: F, eps: number, y: F, mean: F, sd: F): void;
  evoNormB0Backward(
    x: F, dy: F, N: number, C: number, S: number, left: F, v: F, w: F, mean: F, sd: F, batchMean: Fn, dx: Fn, dv: Fn, dw: Fn, db: Fn,
  ): void;
  localResponseNormForward(x: F, N: number, C: number, S: number, size: number, alpha: number, beta: number, k: number, y: F): void;
  localResponseNormBackward(
    x: F, dy: F, N: number, C: number, S: number, size: number, alpha: number, beta: number, k: number, dx: F,
  ): void;
}

/** Every export the adapter calls; `satisfies` keeps it equal to NativeNormKernels. */
const NATIVE_NAMES = Object.keys({
  batchNormForward: true, batchNormBackward: true, normChannelAffine: true, groupNormForward: true, groupNormBackward: true,
  channelNormForward: true, channelNormBackward: true, frnForward: true, frnBackward: true,
  evoNormS0Forward: true, evoNormS0Backward: true, evoNormB0Forward: true, evoNormB0Backward: true,
  localResponseNormForward: true, localResponseNormBackward: true,
} as const satisfies Record<keyof NativeNormKernels, true>);

/** The addon's activation codes (native/kernels/norm.h). */
const ACT_CODES: Record<NormAct, number> = { none: 0, relu: 1, leakyRelu: 2, sigmoid: 3, tanh: 4 };

function actCode(fn: string, act: NormAct | undefined): number {
  const code = ACT_CODES[act ?? 'none'];
  if (code === undefined) throw new RangeError(`${fn}: act must be one of ${Object.keys(ACT_CODES).map((k) => `'${k}'`).join(', ')}, got '${String(act)}'`);
  return code;
}

function checkLength(fn: string, arg: string, a: F, n: number): F {
  if (a.length !== n) throw new RangeError(`${fn}: ${arg} must have ${n} values, got ${a.length}`);
  return a;
}

/** left[c] = sqrt(variance[c] + eps) (EvoNorm-B0's batch term). */
function evoLeft(variance: F, eps: number): F {
  const left = new Float32Array(variance.length);
  for (let c = 0; c < variance.length; c++) left[c] = Math.sqrt(variance[c] + eps);
  return left;
}

export function cpuNormKernels(addon: NativeNormKernels): NormKernels {
  const missing = NATIVE_NAMES.filter((k) => typeof (addon as unknown as Record<string, unknown>)[k] !== 'function');
  if (missing.length > 0) throw new Error(`normlab: the native addon lacks kernels ${missing.join(', ')}; rebuild it with 'npm install'.`);
  const h = (s: Storage, fn: string): F => hostArray(s, fn);
  const o = (s: Storage | null, fn: string): Fn => (s === null ? null : hostArray(s, fn));
  return {
    batchNormForward(a) {
      const fn = 'batchNormForward';
      addon.batchNormForward(
        h(a.x, fn), a.N, a.C, a.S, o(a.gamma, fn), o(a.beta, fn), a.eps, o(a.y, fn), h(a.mean, fn), h(a.invstd, fn), h(a.variance, fn),
        a.threshold, o(a.mu0, fn), o(a.rstd0, fn), o(a.kept, fn), actCode(fn, a.act), a.actParam ?? 0,
      );
    },
    batchNormBackward(a) {
      const fn = 'batchNormBackward';
      addon.batchNormBackward(
        h(a.x, fn), h(a.dy, fn), a.N, a.C, a.S, h(a.mean, fn), h(a.invstd, fn), o(a.gamma, fn), a.batchStats,
        o(a.dx, fn), o(a.dgamma, fn), o(a.dbeta, fn), o(a.count, fn), a.threshold, o(a.mu0, fn), o(a.rstd0, fn),
        o(a.beta ?? null, fn), actCode(fn, a.act), a.actParam ?? 0,
      );
    },
    normChannelAffine(a) {
      const fn = 'normChannelAffine';
      addon.normChannelAffine(h(a.x, fn), a.N, a.C, a.S, h(a.scale, fn), h(a.shift, fn), h(a.y, fn));
    },
    normEvalScaleShift(a) {
      const fn = 'normEvalScaleShift';
      const rm = h(a.runningMean, fn);
      const C = rm.length;
      const rv = checkLength(fn, 'runningVar', h(a.runningVar, fn), C);
      const w = a.weight === null ? null : checkLength(fn, 'weight', h(a.weight, fn), C);
      const b = a.bias === null ? null : checkLength(fn, 'bias', h(a.bias, fn), C);
      const scale = checkLength(fn, 'scale', h(a.scale, fn), C);
      const shift = checkLength(fn, 'shift', h(a.shift, fn), C);
      const invstd = checkLength(fn, 'invstd', h(a.invstd, fn), C);
      for (let c = 0; c < C; c++) {
        const r = 1 / Math.sqrt(rv[c] + a.eps);
        const s = (w === null ? 1 : w[c]) * r;
        invstd[c] = r;
        scale[c] = s;
        shift[c] = (b === null ? 0 : b[c]) - rm[c] * s;
      }
    },
    runningStatsUpdate(a) {
      const fn = 'runningStatsUpdate';
      const run = h(a.running, fn);
      const batch = h(a.batch, fn);
      const C = run.length;
      if (batch.length !== 1 && (batch.length === 0 || batch.length % C !== 0)) {
        throw new RangeError(`${fn}: batch must have 1 value or a multiple of ${C} (running's length), got ${batch.length}`);
      }
      let f: number;
      if (a.momentum === null) {
        if (a.batches === null) throw new Error(`${fn}: batches (num_batches_tracked) is required when momentum is null`);
        f = 1 / h(a.batches, fn)[0];
      } else {
        f = a.momentum;
      }
      const counts = a.count !== null && typeof a.count !== 'number' ? checkLength(fn, 'count', h(a.count, fn), batch.length) : null;
      const R = batch.length === 1 ? 1 : batch.length / C;
      for (let c = 0; c < C; c++) {
        let stat = 0;
        let m = 0;
        if (batch.length === 1) {
          stat = batch[0];
          m = counts !== null ? counts[0] : (a.count as number | null) ?? 0;
        } else {
          // The row average, in double precision as the instance-norm update always was.
          for (let r = 0; r < R; r++) stat += batch[r * C + c] / R;
          m = counts !== null ? counts[c] : (a.count as number | null) ?? 0;
        }
        let value = stat;
        if (a.transform === 'unbiased') value = m > 1 ? (stat * m) / (m - 1) : stat;
        else if (a.transform === 'std') value = Math.sqrt(stat + a.eps);
        run[c] = (1 - f) * run[c] + f * value;
      }
    },
    batchRenormParams(a) {
      const fn = 'batchRenormParams';
      const mean = h(a.mean, fn);
      const C = mean.length;
      const bvar = checkLength(fn, 'variance', h(a.variance, fn), C);
      const invstd = checkLength(fn, 'invstd', h(a.invstd, fn), C);
      const rm = checkLength(fn, 'renormMean', h(a.renormMean, fn), C);
      const rs = checkLength(fn, 'renormStd', h(a.renormStd, fn), C);
      const w = a.weight === null ? null : checkLength(fn, 'weight', h(a.weight, fn), C);
      const b = a.bias === null ? null : checkLength(fn, 'bias', h(a.bias, fn), C);
      const r = checkLength(fn, 'r', h(a.r, fn), C);
      const d = checkLength(fn, 'd', h(a.d, fn), C);
      const gamma = checkLength(fn, 'gamma', h(a.gamma, fn), C);
      const scale = checkLength(fn, 'scale', h(a.scale, fn), C);
      const shift = checkLength(fn, 'shift', h(a.shift, fn), C);
      const warm = a.warmup || (a.batches !== null && h(a.batches, fn)[0] < a.warmupSteps);
      for (let c = 0; c < C; c++) {
        if (warm) {
          r[c] = 1;
          d[c] = 0;
        } else {
          const s = rs[c];
          r[c] = Math.min(Math.max(Math.sqrt(bvar[c] + a.eps) / s, 1 / a.rMax), a.rMax);
          d[c] = Math.min(Math.max((mean[c] - rm[c]) / s, -a.dMax), a.dMax);
        }
        const gm = w === null ? 1 : w[c];
        gamma[c] = r[c] * gm;
        scale[c] = gamma[c] * invstd[c];
        shift[c] = d[c] * gm + (b === null ? 0 : b[c]) - mean[c] * scale[c];
      }
    },
    groupNormForward(a) {
      const fn = 'groupNormForward';
      addon.groupNormForward(
        h(a.x, fn), a.N, a.G, a.Cg, a.S, o(a.gamma, fn), o(a.beta, fn), a.eps, h(a.y, fn), h(a.mean, fn), h(a.invstd, fn), o(a.variance, fn),
        actCode(fn, a.act), a.actParam ?? 0,
      );
    },
    groupNormBackward(a) {
      const fn = 'groupNormBackward';
      addon.groupNormBackward(
        h(a.x, fn), h(a.dy, fn), a.N, a.G, a.Cg, a.S, h(a.mean, fn), h(a.invstd, fn), o(a.gamma, fn), o(a.dx, fn), o(a.dgamma, fn), o(a.dbeta, fn),
        o(a.beta ?? null, fn), actCode(fn, a.act), a.actParam ?? 0,
      );
    },
    channelNormForward(a) {
      const fn = 'channelNormForward';
      addon.channelNormForward(h(a.x, fn), a.N, a.C, a.S, o(a.gamma, fn), o(a.beta, fn), a.eps, a.center, h(a.y, fn), o(a.mean, fn), h(a.invstd, fn));
    },
    channelNormBackward(a) {
      const fn = 'channelNormBackward';
      addon.channelNormBackward(
        h(a.x, fn), h(a.dy, fn), a.N, a.C, a.S, o(a.mean, fn), h(a.invstd, fn), o(a.gamma, fn), a.center, o(a.dx, fn), o(a.dgamma, fn), o(a.dbeta, fn),
      );
    },
    frnForward(a) {
      const fn = 'frnForward';
      addon.frnForward(h(a.x, fn), a.N, a.C, a.S, h(a.gamma, fn), h(a.beta, fn), o(a.tau, fn), a.eps, h(a.y, fn), h(a.rstd, fn));
    },
    frnBackward(a) {
      const fn = 'frnBackward';
      addon.frnBackward(
        h(a.x, fn), h(a.dy, fn), a.N, a.C, a.S, h(a.rstd, fn), h(a.gamma, fn), h(a.beta, fn), o(a.tau, fn),
        o(a.dx, fn), o(a.dgamma, fn), o(a.dbeta, fn), o(a.dtau, fn),
      );
    },
    evoNormS0Forward(a) {
      const fn = 'evoNormS0Forward';
      addon.evoNormS0Forward(h(a.x, fn), a.N, a.G, a.Cg, a.S, h(a.v, fn), h(a.w, fn), h(a.b, fn), a.eps, h(a.y, fn), h(a.mean, fn), h(a.rstd, fn));
    },
    evoNormS0Backward(a) {
      const fn = 'evoNormS0Backward';
      addon.evoNormS0Backward(
        h(a.x, fn), h(a.dy, fn), a.N, a.G, a.Cg, a.S, h(a.v, fn), h(a.w, fn), h(a.mean, fn), h(a.rstd, fn),
        o(a.dx, fn), o(a.dv, fn), o(a.dw, fn), o(a.db, fn),
      );
    },
    evoNormB0Forward(a) {
      const fn = 'evoNormB0Forward';
      const left = evoLeft(checkLength(fn, 'variance', h(a.variance, fn), a.C), a.eps);
      addon.evoNormB0Forward(h(a.x, fn), a.N, a.C, a.S, left, h(a.v, fn), h(a.w, fn), h(a.b, fn), a.eps, h(a.y, fn), h(a.mean, fn), h(a.sd, fn));
    },
    evoNormB0Backward(a) {
      const fn = 'evoNormB0Backward';
      const left = evoLeft(checkLength(fn, 'variance', h(a.variance, fn), a.C), a.eps);
      addon.evoNormB0Backward(
        h(a.x, fn), h(a.dy, fn), a.N, a.C, a.S, left, h(a.v, fn), h(a.w, fn), h(a.mean, fn), h(a.sd, fn), o(a.batchMean, fn),
        o(a.dx, fn), o(a.dv, fn), o(a.dw, fn), o(a.db, fn),
      );
    },
    localResponseNormForward(a) {
      const fn = 'localResponseNormForward';
      addon.localResponseNormForward(h(a.x, fn), a.N, a.C, a.S, a.size, a.alpha, a.beta, a.k, h(a.y, fn));
    },
    localResponseNormBackward(a) {
      const fn = 'localResponseNormBackward';
      addon.localResponseNormBackward(h(a.x, fn), h(a.dy, fn), a.N, a.C, a.S, a.size, a.alpha, a.beta, a.k, h(a.dx, fn));
    },
  };
}
