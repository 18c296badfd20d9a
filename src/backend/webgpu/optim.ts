// WebGPU optimizer updates (WGSL): one invocation per parameter value, the formulas of
// native/kernels/optim.cc (torch.optim 1.13) in f32, state buffers updated in place.
import type { OptimKernels } from '../kernels/optim.js';
import { grid1d, type GpuRuntime, type KernelSpec } from './runtime.js';
import { gpuStorage } from './storage.js';
import type { Storage } from '../storage.js';

const WG = 256;

// d = g + wd·p; buf = first ? d : m·buf + (1 − dampening)·d; d = nesterov ? d + m·buf : buf; p −= lr·d.
const SGD: KernelSpec = {
  name: 'sgdStep',
  storages: [
    { name: 'p', type: 'f32', access: 'read_write' },
    { name: 'g', type: 'f32', access: 'read' },
    { name: 'buf', type: 'f32', access: 'read_write', optional: true },
  ],
  params: [
    { name: 'n', type: 'u32' }, { name: 'hasBuf', type: 'u32' }, { name: 'nesterov', type: 'u32' }, { name: 'first', type: 'u32' },
    { name: 'lr', type: 'f32' }, { name: 'm', type: 'f32' }, { name: 'damp', type: 'f32' }, { name: 'wd', type: 'f32' },
  ],
  workgroupSize: [WG],
  body: `
  let i = linear_id(gid, nwg);
  if (i >= P.n) { return; }
  let pi = p[P.p_off + i];
  let d = g[P.g_off + i] + P.wd * pi;
  if (P.hasBuf == 0u) { p[P.p_off + i] = pi - P.lr * d; return; }
  var b = d;
  if (P.first == 0u) { b = P.m * buf[P.buf_off + i] + (1.0 - P.damp) * d; }
  buf[P.buf_off + i] = b;
  var step = b;
  if (P.nesterov != 0u) { step = d + P.m * b; }
  p[P.p_off + i] = pi - P.lr * step;`,
};

// AdamW: p ·= (1 − lr·wd); Adam: g += wd·p; m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²;
// p −= stepSize · m / (sqrt(v)·invSqrtBc2 + eps), stepSize = lr / (1 − β1^t), invSqrtBc2 = 1 / sqrt(1 − β2^t).
const ADAM: KernelSpec = {
  name: 'adamStep',
  storages: [
    { name: 'p', type: 'f32', access: 'read_write' },
    { name: 'g', type: 'f32', access: 'read' },
    { name: 'm', type: 'f32', access: 'read_write' },
    { name: 'v', type: 'f32', access: 'read_write' },
  ],
  params: [
    { name: 'n', type: 'u32' }, { name: 'decoupled', type: 'u32' }, { name: 'lr', type: 'f32' }, { name: 'b1', type: 'f32' },
    { name: 'b2', type: 'f32' }, { name: 'eps', type: 'f32' }, { name: 'wd', type: 'f32' }, { name: 'stepSize', type: 'f32' },
    { name: 'invSqrtBc2', type: 'f32' },
  ],
  workgroupSize: [WG],
  body: `
  let i = linear_id(gid, nwg);
  if (i >= P.n) { return; }
  var gi = g[P.g_off + i];
  var pi = p[P.p_off + i];
  if (P.decoupled != 0u) { pi *= 1.0 - P.lr * P.wd; } else { gi += P.wd * pi; }
  let mi = P.b1 * m[P.m_off + i] + (1.0 - P.b1) * gi;
  let vi = P.b2 * v[P.v_off + i] + (1.0 - P.b2) * gi * gi;
  m[P.m_off + i] = mi;
  v[P.v_off + i] = vi;
  p[P.p_off + i] = pi - P.stepSize * mi / (sqrt(vi) * P.invSqrtBc2 + P.eps);`,
};

// g += wd·p; sq = α·sq + (1 − α)·g²; centered: ga = α·ga + (1 − α)·g, avg = sqrt(sq − ga²) + eps,
// else avg = sqrt(sq) + eps; momentum: buf = μ·buf + g/avg, p −= lr·buf; else p −= lr·g/avg.
const RMSPROP: KernelSpec = {
  name: 'rmspropStep',
  storages: [
    { name: 'p', type: 'f32', access: 'read_write' },
    { name: 'g', type: 'f32', access: 'read' },
    { name: 'sq', type: 'f32', access: 'read_write' },
    { name: 'buf', type: 'f32', access: 'read_write', optional: true },
    { name: 'ga', type: 'f32', access: 'read_write', optional: true },
  ],
  params: [
    { name: 'n', type: 'u32' }, { name: 'hasBuf', type: 'u32' }, { name: 'centered', type: 'u32' }, { name: 'lr', type: 'f32' },
    { name: 'alpha', type: 'f32' }, { name: 'eps', type: 'f32' }, { name: 'wd', type: 'f32' }, { name: 'mu', type: 'f32' },
  ],
  workgroupSize: [WG],
  body: `
  let i = linear_id(gid, nwg);
  if (i >= P.n) { return; }
  let pi = p[P.p_off + i];
  let gi = g[P.g_off + i] + P.wd * pi;
  let s = P.alpha * sq[P.sq_off + i] + (1.0 - P.alpha) * gi * gi;
  sq[P.sq_off + i] = s;
  var avg: f32;
  if (P.centered != 0u) {
    let c = P.alpha * ga[P.ga_off + i] + (1.0 - P.alpha) * gi;
    ga[P.ga_off + i] = c;
    avg = sqrt(s - c * c) + P.eps;
  } else {
    avg = sqrt(s) + P.eps;
  }
  if (P.hasBuf != 0u) {
    let b = P.mu * buf[P.buf_off + i] + gi / avg;
    buf[P.buf_off + i] = b;
    p[P.p_off + i] = pi - P.lr * b;
  } else {
    p[P.p_off + i] = pi - P.lr * gi / avg;
  }`,
};

/** The parameter's length; every state buffer given must match it. */
function sameLength(fn: string, p: Storage, others: Record<string, Storage | null>): number {
  const n = gpuStorage(p, `${fn} (p)`).length;
  for (const [name, s] of Object.entries(others)) {
    if (s === null) continue;
    const len = gpuStorage(s, `${fn} (${name})`).length;
    if (len !== n) throw new RangeError(`${fn}: ${name} has ${len} values, expected ${n} (the parameter's)`);
  }
  return n;
}

export function webgpuOptimKernels(rt: GpuRuntime): OptimKernels {
  return {
    sgdStep(a) {
      const hasBuf = a.momentum !== 0;
      if (hasBuf && a.buf === null) throw new TypeError('sgdStep: buf is required when momentum is not 0');
      const n = sameLength('sgdStep', a.p, { g: a.g, buf: hasBuf ? a.buf : null });
      rt.run(SGD, [a.p, a.g, hasBuf ? a.buf : null], {
        n, hasBuf, nesterov: a.nesterov, first: a.firstStep, lr: a.lr, m: a.momentum, damp: a.dampening, wd: a.weightDecay,
      }, grid1d(n, WG));
    },
    adamStep(a) {
      const n = sameLength('adamStep', a.p, { g: a.g, m: a.m, v: a.v });
      const bc1 = 1 - Math.pow(a.beta1, a.step);
      const bc2 = 1 - Math.pow(a.beta2, a.step);
      rt.run(ADAM, [a.p, a.g, a.m, a.v], {
        n, decoupled: a.decoupled, lr: a.lr, b1: a.beta1, b2: a.beta2, eps: a.eps, wd: a.weightDecay,
        stepSize: Math.fround(a.lr / bc1), invSqrtBc2: Math.fround(1 / Math.sqrt(bc2)),
      }, grid1d(n, WG));
    },
    rmspropStep(a) {
      // As the CPU kernel: the momentum path runs when a buffer is given.
      const hasBuf = a.buf !== null;
      if (a.centered && a.gAvg === null) throw new TypeError('rmspropStep: gAvg is required when centered');
      const n = sameLength('rmspropStep', a.p, { g: a.g, sq: a.sq, buf: hasBuf ? a.buf : null, gAvg: a.centered ? a.gAvg : null });
      rt.run(RMSPROP, [a.p, a.g, a.sq, hasBuf ? a.buf : null, a.centered ? a.gAvg : null], {
        n, hasBuf, centered: a.centered, lr: a.lr, alpha: a.alpha, eps: a.eps, wd: a.weightDecay, mu: a.momentum,
      }, grid1d(n, WG));
    },
  };
}
