// WebGPU batch and group normalization kernels (WGSL), with the CPU's formulas (native/kernels/norm.cc):
//   mean = sum(x) / m, var = sum((x - mean)^2) / m (biased), invstd = 1 / sqrt(var + eps),
//   y = act(x * a + b) with a = gamma * invstd, b = beta - mean * a.
// Per-channel statistics (BN over N * S values of a channel) run in three steps: partial sums of
// chunks of 4096 values, one workgroup per (chunk, channel) with a shared-memory tree; a finish
// kernel per channel adding the chunk sums in order (deterministic) and writing the statistics
// and the per-channel coefficients; then one invocation per value applies them. Sums are
// shifted by the channel's first value, as on the CPU. Filtered BN (threshold T > 0) first
// computes mu0 and rstd0 (unbiased variance + 1e-10), then the kept count and statistics of the
// values with -T < (x - mu0) * rstd0 < T; its backward applies the statistics terms of dx to
// kept values only. GroupNorm runs one workgroup per (n, group) of Cg * S contiguous values;
// its dgamma / dbeta go through the per-channel partial sums with each sample's group statistics.
// The fused activations (BatchNormAct2d, GroupNormAct) recompute the pre-activation v = x * a + b
// in the backward, as the CPU does.
import type { NormAct, NormKernels } from '../kernels/norm.js';
import { grid1d, type GpuRuntime, type Grid, type KernelSpec, type ParamValues } from './runtime.js';
import { GpuStorage, gpuStorage } from './storage.js';
import type { Storage } from '../storage.js';

type BatchGroupKernels = Omit<NormKernels, 'channelNormForward' | 'channelNormBackward' | 'frnForward' | 'frnBackward' |
  'evoNormS0Forward' | 'evoNormS0Backward' | 'evoNormB0Forward' | 'evoNormB0Backward' | 'localResponseNormForward' | 'localResponseNormBackward'>;

const WG = 256;
const CHUNK = 4096;
const ACT: Record<NormAct, number> = { none: 0, relu: 1, leakyRelu: 2, sigmoid: 3, tanh: 4 };

/** act(v) and dy * act'(v) by code (0 none, 1 relu, 2 leaky relu with slope p, 3 sigmoid, 4 tanh); relu' at 0 is 0. */
export const ACT_WGSL = `
fn act_tanh(v: f32) -> f32 {
  let t = 1.0 - 2.0 / (exp(2.0 * abs(v)) + 1.0);
  return select(t, -t, v < 0.0);
}
fn act_fwd(v: f32, code: u32, p: f32) -> f32 {
  switch code {
    case 1u: { return select(0.0, v, v > 0.0); }
    case 2u: { return select(v * p, v, v > 0.0); }
    case 3u: { return 1.0 / (1.0 + exp(-v)); }
    case 4u: { return act_tanh(v); }
    default: { return v; }
  }
}
fn act_grad(v: f32, dy: f32, code: u32, p: f32) -> f32 {
  switch code {
    case 1u: { return select(0.0, dy, v > 0.0); }
    case 2u: { return select(dy * p, dy, v > 0.0); }
    case 3u: { let s = 1.0 / (1.0 + exp(-v)); return dy * (s * (1.0 - s)); }
    case 4u: { let t = act_tanh(v); return dy * (1.0 - t * t); }
    default: { return dy; }
  }
}`;

const TREE3 = `
var<workgroup> t0: array<f32, ${WG}>;
var<workgroup> t1: array<f32, ${WG}>;
var<workgroup> t2: array<f32, ${WG}>;
fn tree3(lane: u32, a: f32, b: f32, c: f32) {
  t0[lane] = a;
  t1[lane] = b;
  t2[lane] = c;
  workgroupBarrier();
  for (var h = ${WG / 2}u; h > 0u; h /= 2u) {
    if (lane < h) { t0[lane] += t0[lane + h]; t1[lane] += t1[lane + h]; t2[lane] += t2[lane + h]; }
    workgroupBarrier();
  }
}`;

/**
 * Partial sums over chunk wid.x of channel c = wid.y (values idx = n * S + s):
 *   mode 0: sum(x - K), sum((x - K)^2)              (BN statistics, K = the channel's first value)
 *   mode 1: count, sum(x - K), sum((x - K)^2) of kept values   (Filtered BN)
 *   mode 2: sum(g), sum(g * (x - mean[c]))          (BN backward; g = dy * act'(x * sa[c] + sb[c]))
 *   mode 3: sum(g * xhat), sum(g) with xhat and v from the group statistics of (n, c / Cg)  (GN dgamma, dbeta)
 * part[(c * chunks + chunk) * 3 + k].
 */
const CHANNEL_PARTIALS: KernelSpec = {
  name: 'normChannelPartials',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 'dy', type: 'f32', access: 'read', optional: true },
    { name: 's0', type: 'f32', access: 'read', optional: true },
    { name: 's1', type: 'f32', access: 'read', optional: true },
    { name: 'coef', type: 'f32', access: 'read', optional: true },
    { name: 'gamma', type: 'f32', access: 'read', optional: true },
    { name: 'beta', type: 'f32', access: 'read', optional: true },
    { name: 'part', type: 'f32', access: 'read_write' },
  ],
  params: [
    { name: 'N', type: 'u32' }, { name: 'C', type: 'u32' }, { name: 'S', type: 'u32' }, { name: 'chunks', type: 'u32' }, { name: 'mode', type: 'u32' },
    { name: 'act', type: 'u32' }, { name: 'G', type: 'u32' }, { name: 'Cg', type: 'u32' }, { name: 'hasGamma', type: 'u32' }, { name: 'hasBeta', type: 'u32' },
    { name: 'T', type: 'f32' }, { name: 'p', type: 'f32' },
  ],
  workgroupSize: [WG],
  moduleScope: ACT_WGSL + TREE3,
  body: `
  let c = wid.y;
  let chunk = wid.x;
  let m = P.N * P.S;
  let start = chunk * ${CHUNK}u;
  let end = min(m, start + ${CHUNK}u);
  let K = x[P.x_off + c * P.S];
  var a = 0.0;
  var b = 0.0;
  var e = 0.0;
  for (var idx = start + lidx; idx < end; idx += ${WG}u) {
    let n = idx / P.S;
    let at = (n * P.C + c) * P.S + idx % P.S;
    let xv = x[P.x_off + at];
    switch P.mode {
      case 0u: { let d = xv - K; a += d; b += d * d; }
      case 1u: {
        let z = (xv - s0[P.s0_off + c]) * s1[P.s1_off + c];
        if (z > -P.T && z < P.T) { let d = xv - K; a += 1.0; b += d; e += d * d; }
      }
      case 2u: {
        var g = dy[P.dy_off + at];
        if (P.act != 0u) { g = act_grad(xv * coef[P.coef_off + c] + coef[P.coef_off + P.C + c], g, P.act, P.p); }
        a += g;
        b += g * (xv - s0[P.s0_off + c]);
      }
      default: {
        let gi = n * P.G + c / P.Cg;
        let mu = s0[P.s0_off + gi];
        let r = s1[P.s1_off + gi];
        var g = dy[P.dy_off + at];
        if (P.act != 0u) {
          var gm = 1.0;
          if (P.hasGamma != 0u) { gm = gamma[P.gamma_off + c]; }
          var bt = 0.0;
          if (P.hasBeta != 0u) { bt = beta[P.beta_off + c]; }
          let av = gm * r;
          g = act_grad(xv * av + (bt - mu * av), g, P.act, P.p);
        }
        a += g * (xv - mu) * r;
        b += g;
      }
    }
  }
  tree3(lidx, a, b, e);
  if (lidx == 0u) {
    let o = P.part_off + (c * P.chunks + chunk) * 3u;
    part[o] = t0[0];
    part[o + 1u] = t1[0];
    part[o + 2u] = t2[0];
  }`,
};

/** The chunk sums of channel c added in chunk order, as t[k]. */
const CHANNEL_TOTALS = `
fn totals(c: u32) -> vec3f {
  var t = vec3f(0.0);
  for (var k = 0u; k < P.chunks; k++) {
    let o = P.part_off + (c * P.chunks + k) * 3u;
    t += vec3f(part[o], part[o + 1u], part[o + 2u]);
  }
  return t;
}
fn nan() -> f32 { var bits = 0x7fc00000u; return bitcast<f32>(bits); }`;

/**
 * BN forward statistics per channel. pass 0 (plain BN): mean, var, invstd and the coefficients
 * coef[c] = a, coef[C + c] = b. pass 1 (FBN, first pass): mu0 and rstd0 = 1 / sqrt(unbiased var + 1e-10).
 * pass 2 (FBN, kept values): kept, then the statistics of the kept values (NaN when none is kept).
 */
const FINISH_FORWARD: KernelSpec = {
  name: 'batchNormFinish',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 'part', type: 'f32', access: 'read' },
    { name: 'gamma', type: 'f32', access: 'read', optional: true },
    { name: 'beta', type: 'f32', access: 'read', optional: true },
    { name: 'mean', type: 'f32', access: 'read_write' },
    { name: 'invstd', type: 'f32', access: 'read_write' },
    { name: 'variance', type: 'f32', access: 'read_write' },
    { name: 'coef', type: 'f32', access: 'read_write' },
    { name: 'mu0', type: 'f32', access: 'read_write', optional: true },
    { name: 'rstd0', type: 'f32', access: 'read_write', optional: true },
    { name: 'kept', type: 'f32', access: 'read_write', optional: true },
  ],
  params: [
    { name: 'C', type: 'u32' }, { name: 'S', type: 'u32' }, { name: 'chunks', type: 'u32' }, { name: 'stage', type: 'u32' }, { name: 'act', type: 'u32' },
    { name: 'hasGamma', type: 'u32' }, { name: 'hasBeta', type: 'u32' }, { name: 'm', type: 'f32' }, { name: 'eps', type: 'f32' },
  ],
  workgroupSize: [64],
  moduleScope: CHANNEL_TOTALS,
  body: `
  let c = linear_id(gid, nwg);
  if (c >= P.C) { return; }
  let K = x[P.x_off + c * P.S];
  let t = totals(c);
  var mu: f32;
  var v: f32;
  if (P.stage == 1u) {
    let d = t.x / P.m;
    let v0 = max(0.0, (t.y - t.x * d) / (P.m - 1.0));
    mu0[P.mu0_off + c] = K + d;
    rstd0[P.rstd0_off + c] = 1.0 / sqrt(v0 + 1e-10);
    return;
  }
  if (P.stage == 2u) {
    kept[P.kept_off + c] = t.x;
    if (t.x < 1.0) { mu = nan(); v = nan(); } else { let d = t.y / t.x; mu = K + d; v = max(t.z / t.x - d * d, 0.0); }
  } else {
    let d = t.x / P.m;
    mu = K + d;
    v = max(t.y / P.m - d * d, 0.0);
  }
  let r = 1.0 / sqrt(v + P.eps);
  mean[P.mean_off + c] = mu;
  variance[P.variance_off + c] = v;
  invstd[P.invstd_off + c] = r;
  var gm = 1.0;
  if (P.hasGamma != 0u) { gm = gamma[P.gamma_off + c]; }
  var bt = 0.0;
  if (P.hasBeta != 0u) { bt = beta[P.beta_off + c]; }
  let a = gm * r;
  coef[P.coef_off + c] = a;
  coef[P.coef_off + P.C + c] = bt - mu * a;`,
};

/** y = act(x * coef[c] + coef[C + c]) (with coef = [scale; shift] this is normChannelAffine). */
const APPLY: KernelSpec = {
  name: 'normApply',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 'sc', type: 'f32', access: 'read' },
    { name: 'sh', type: 'f32', access: 'read' },
    { name: 'y', type: 'f32', access: 'read_write' },
  ],
  params: [{ name: 'n', type: 'u32' }, { name: 'C', type: 'u32' }, { name: 'S', type: 'u32' }, { name: 'act', type: 'u32' }, { name: 'p', type: 'f32' }],
  workgroupSize: [WG],
  moduleScope: ACT_WGSL,
  body: `
  let i = linear_id(gid, nwg);
  if (i >= P.n) { return; }
  let c = (i / P.S) % P.C;
  y[P.y_off + i] = act_fwd(x[P.x_off + i] * sc[P.sc_off + c] + sh[P.sh_off + c], P.act, P.p);`,
};

/**
 * BN backward per channel: dgamma = sum(g * xhat) = t.y * r, dbeta = sum(g) = t.x, and the dx
 * coefficients dx = ca * g + cb * x + cc with ca = gamma * r and, for batch statistics,
 * cb = -ca / m * r * sdyxhat, cc = -ca / m * sdy - cb * mean (m = kept count for FBN).
 */
const FINISH_BACKWARD: KernelSpec = {
  name: 'batchNormBackwardFinish',
  storages: [
    { name: 'part', type: 'f32', access: 'read', optional: true },
    { name: 'mean', type: 'f32', access: 'read' },
    { name: 'invstd', type: 'f32', access: 'read' },
    { name: 'gamma', type: 'f32', access: 'read', optional: true },
    { name: 'count', type: 'f32', access: 'read', optional: true },
    { name: 'dgamma', type: 'f32', access: 'read_write', optional: true },
    { name: 'dbeta', type: 'f32', access: 'read_write', optional: true },
    { name: 'dcoef', type: 'f32', access: 'read_write' },
  ],
  params: [
    { name: 'C', type: 'u32' }, { name: 'chunks', type: 'u32' }, { name: 'hasSums', type: 'u32' }, { name: 'hasGamma', type: 'u32' },
    { name: 'hasCount', type: 'u32' }, { name: 'hasDgamma', type: 'u32' }, { name: 'hasDbeta', type: 'u32' }, { name: 'batchStats', type: 'u32' },
    { name: 'm', type: 'f32' },
  ],
  workgroupSize: [64],
  moduleScope: CHANNEL_TOTALS,
  body: `
  let c = linear_id(gid, nwg);
  if (c >= P.C) { return; }
  let r = invstd[P.invstd_off + c];
  var t = vec3f(0.0);
  if (P.hasSums != 0u) { t = totals(c); }
  let sdy = t.x;
  let sdyxhat = t.y * r;
  if (P.hasDgamma != 0u) { dgamma[P.dgamma_off + c] = sdyxhat; }
  if (P.hasDbeta != 0u) { dbeta[P.dbeta_off + c] = sdy; }
  var gm = 1.0;
  if (P.hasGamma != 0u) { gm = gamma[P.gamma_off + c]; }
  let av = gm * r;
  var bv = 0.0;
  var cv = 0.0;
  if (P.batchStats != 0u) {
    var m = P.m;
    if (P.hasCount != 0u) { m = count[P.count_off + c]; }
    bv = -av / m * r * sdyxhat;
    cv = -av / m * sdy - bv * mean[P.mean_off + c];
  }
  dcoef[P.dcoef_off + c] = av;
  dcoef[P.dcoef_off + P.C + c] = bv;
  dcoef[P.dcoef_off + 2u * P.C + c] = cv;`,
};

/** dx = ca * g + (cb * x + cc), the statistics term only for kept values under Filtered BN. */
const APPLY_DX: KernelSpec = {
  name: 'batchNormDx',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 'dy', type: 'f32', access: 'read' },
    { name: 'dcoef', type: 'f32', access: 'read' },
    { name: 'coef', type: 'f32', access: 'read', optional: true },
    { name: 'mu0', type: 'f32', access: 'read', optional: true },
    { name: 'rstd0', type: 'f32', access: 'read', optional: true },
    { name: 'dx', type: 'f32', access: 'read_write' },
  ],
  params: [
    { name: 'n', type: 'u32' }, { name: 'C', type: 'u32' }, { name: 'S', type: 'u32' }, { name: 'act', type: 'u32' }, { name: 'masked', type: 'u32' },
    { name: 'p', type: 'f32' }, { name: 'T', type: 'f32' },
  ],
  workgroupSize: [WG],
  moduleScope: ACT_WGSL,
  body: `
  let i = linear_id(gid, nwg);
  if (i >= P.n) { return; }
  let c = (i / P.S) % P.C;
  let xv = x[P.x_off + i];
  var g = dy[P.dy_off + i];
  if (P.act != 0u) { g = act_grad(xv * coef[P.coef_off + c] + coef[P.coef_off + P.C + c], g, P.act, P.p); }
  var stat = dcoef[P.dcoef_off + P.C + c] * xv + dcoef[P.dcoef_off + 2u * P.C + c];
  if (P.masked != 0u) {
    let z = (xv - mu0[P.mu0_off + c]) * rstd0[P.rstd0_off + c];
    if (!(z > -P.T && z < P.T)) { stat = 0.0; }
  }
  dx[P.dx_off + i] = dcoef[P.dcoef_off + c] * g + stat;`,
};

/** The pre-activation coefficients (a = gamma * invstd, b = beta - mean * a) per channel, for a backward with an activation. */
const PREACT: KernelSpec = {
  name: 'normPreact',
  storages: [
    { name: 'mean', type: 'f32', access: 'read' },
    { name: 'invstd', type: 'f32', access: 'read' },
    { name: 'gamma', type: 'f32', access: 'read', optional: true },
    { name: 'beta', type: 'f32', access: 'read', optional: true },
    { name: 'coef', type: 'f32', access: 'read_write' },
  ],
  params: [{ name: 'C', type: 'u32' }, { name: 'hasGamma', type: 'u32' }, { name: 'hasBeta', type: 'u32' }],
  workgroupSize: [64],
  body: `
  let c = linear_id(gid, nwg);
  if (c >= P.C) { return; }
  var gm = 1.0;
  if (P.hasGamma != 0u) { gm = gamma[P.gamma_off + c]; }
  var bt = 0.0;
  if (P.hasBeta != 0u) { bt = beta[P.beta_off + c]; }
  let a = gm * invstd[P.invstd_off + c];
  coef[P.coef_off + c] = a;
  coef[P.coef_off + P.C + c] = bt - mean[P.mean_off + c] * a;`,
};

/** GroupNorm forward: workgroup i = (n, g) over its L = Cg * S values: statistics, then y. */
const GN_FORWARD: KernelSpec = {
  name: 'groupNormForward',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 'gamma', type: 'f32', access: 'read', optional: true },
    { name: 'beta', type: 'f32', access: 'read', optional: true },
    { name: 'y', type: 'f32', access: 'read_write' },
    { name: 'mean', type: 'f32', access: 'read_write' },
    { name: 'invstd', type: 'f32', access: 'read_write' },
    { name: 'variance', type: 'f32', access: 'read_write', optional: true },
  ],
  params: [
    { name: 'NG', type: 'u32' }, { name: 'G', type: 'u32' }, { name: 'Cg', type: 'u32' }, { name: 'S', type: 'u32' }, { name: 'act', type: 'u32' },
    { name: 'hasGamma', type: 'u32' }, { name: 'hasBeta', type: 'u32' }, { name: 'hasVar', type: 'u32' }, { name: 'eps', type: 'f32' }, { name: 'p', type: 'f32' },
  ],
  workgroupSize: [WG],
  moduleScope: ACT_WGSL + TREE3,
  body: `
  let i = wid.x + wid.y * nwg.x;
  let live = i < P.NG;
  let L = P.Cg * P.S;
  let base = P.x_off + i * L;
  var K = 0.0;
  if (live) { K = x[base]; }
  var a = 0.0;
  var b = 0.0;
  if (live) { for (var j = lidx; j < L; j += ${WG}u) { let d = x[base + j] - K; a += d; b += d * d; } }
  tree3(lidx, a, b, 0.0);
  if (!live) { return; }
  let d = t0[0] / f32(L);
  let mu = K + d;
  let v = max(0.0, t1[0] / f32(L) - d * d);
  let r = 1.0 / sqrt(v + P.eps);
  if (lidx == 0u) {
    mean[P.mean_off + i] = mu;
    invstd[P.invstd_off + i] = r;
    if (P.hasVar != 0u) { variance[P.variance_off + i] = v; }
  }
  let c0 = (i % P.G) * P.Cg;
  for (var j = lidx; j < L; j += ${WG}u) {
    let c = c0 + j / P.S;
    var gm = 1.0;
    if (P.hasGamma != 0u) { gm = gamma[P.gamma_off + c]; }
    var bt = 0.0;
    if (P.hasBeta != 0u) { bt = beta[P.beta_off + c]; }
    let av = gm * r;
    y[P.y_off + i * L + j] = act_fwd(x[base + j] * av + (bt - mu * av), P.act, P.p);
  }`,
};

/**
 * GroupNorm dx: with gdy = gamma[c] * g, s1 = sum(gdy), s2 = sum(gdy * (x - mu)) over the group,
 * dx = r * gdy - r/m * s1 - (x - mu) * r^3 / m * s2 (m = Cg * S).
 */
const GN_DX: KernelSpec = {
  name: 'groupNormDx',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 'dy', type: 'f32', access: 'read' },
    { name: 'mean', type: 'f32', access: 'read' },
    { name: 'invstd', type: 'f32', access: 'read' },
    { name: 'gamma', type: 'f32', access: 'read', optional: true },
    { name: 'beta', type: 'f32', access: 'read', optional: true },
    { name: 'dx', type: 'f32', access: 'read_write' },
  ],
  params: [
    { name: 'NG', type: 'u32' }, { name: 'G', type: 'u32' }, { name: 'Cg', type: 'u32' }, { name: 'S', type: 'u32' }, { name: 'act', type: 'u32' },
    { name: 'hasGamma', type: 'u32' }, { name: 'hasBeta', type: 'u32' }, { name: 'p', type: 'f32' },
  ],
  workgroupSize: [WG],
  moduleScope: ACT_WGSL + TREE3 + `
fn gam(c: u32) -> f32 { if (P.hasGamma != 0u) { return gamma[P.gamma_off + c]; } return 1.0; }
fn bet(c: u32) -> f32 { if (P.hasBeta != 0u) { return beta[P.beta_off + c]; } return 0.0; }`,
  body: `
  let i = wid.x + wid.y * nwg.x;
  let live = i < P.NG;
  let L = P.Cg * P.S;
  let base = i * L;
  var mu = 0.0;
  var r = 0.0;
  if (live) { mu = mean[P.mean_off + i]; r = invstd[P.invstd_off + i]; }
  let c0 = (i % P.G) * P.Cg;
  var s1 = 0.0;
  var s2 = 0.0;
  if (live) {
    for (var j = lidx; j < L; j += ${WG}u) {
      let c = c0 + j / P.S;
      let xv = x[P.x_off + base + j];
      var g = dy[P.dy_off + base + j];
      if (P.act != 0u) { let av = gam(c) * r; g = act_grad(xv * av + (bet(c) - mu * av), g, P.act, P.p); }
      let gd = gam(c) * g;
      s1 += gd;
      s2 += gd * (xv - mu);
    }
  }
  tree3(lidx, s1, s2, 0.0);
  if (!live) { return; }
  let m = f32(L);
  let bv = -r * r * r / m * t1[0];
  let cv = -r / m * t0[0] - bv * mu;
  for (var j = lidx; j < L; j += ${WG}u) {
    let c = c0 + j / P.S;
    let xv = x[P.x_off + base + j];
    var g = dy[P.dy_off + base + j];
    if (P.act != 0u) { let av = gam(c) * r; g = act_grad(xv * av + (bet(c) - mu * av), g, P.act, P.p); }
    dx[P.dx_off + base + j] = r * gam(c) * g + (bv * xv + cv);
  }`,
};

/** dgamma[c] = t.x, dbeta[c] = t.y from the GN partial sums (mode 3). */
const GN_PARAM_FINISH: KernelSpec = {
  name: 'groupNormParamFinish',
  storages: [
    { name: 'part', type: 'f32', access: 'read' },
    { name: 'dgamma', type: 'f32', access: 'read_write', optional: true },
    { name: 'dbeta', type: 'f32', access: 'read_write', optional: true },
  ],
  params: [{ name: 'C', type: 'u32' }, { name: 'chunks', type: 'u32' }, { name: 'hasDgamma', type: 'u32' }, { name: 'hasDbeta', type: 'u32' }],
  workgroupSize: [64],
  moduleScope: CHANNEL_TOTALS,
  body: `
  let c = linear_id(gid, nwg);
  if (c >= P.C) { return; }
  let t = totals(c);
  if (P.hasDgamma != 0u) { dgamma[P.dgamma_off + c] = t.x; }
  if (P.hasDbeta != 0u) { dbeta[P.dbeta_off + c] = t.y; }`,
};

/** Eval-mode scale and shift: invstd = 1 / sqrt(runningVar + eps), scale = weight * invstd, shift = bias - runningMean * scale. */
const EVAL_SCALE_SHIFT: KernelSpec = {
  name: 'normEvalScaleShift',
  storages: [
    { name: 'rm', type: 'f32', access: 'read' },
    { name: 'rv', type: 'f32', access: 'read' },
    { name: 'w', type: 'f32', access: 'read', optional: true },
    { name: 'b', type: 'f32', access: 'read', optional: true },
    { name: 'scale', type: 'f32', access: 'read_write' },
    { name: 'shift', type: 'f32', access: 'read_write' },
    { name: 'invstd', type: 'f32', access: 'read_write' },
  ],
  params: [{ name: 'C', type: 'u32' }, { name: 'hasW', type: 'u32' }, { name: 'hasB', type: 'u32' }, { name: 'eps', type: 'f32' }],
  workgroupSize: [64],
  body: `
  let c = linear_id(gid, nwg);
  if (c >= P.C) { return; }
  let r = 1.0 / sqrt(rv[P.rv_off + c] + P.eps);
  var wv = 1.0;
  if (P.hasW != 0u) { wv = w[P.w_off + c]; }
  var bv = 0.0;
  if (P.hasB != 0u) { bv = b[P.b_off + c]; }
  let s = wv * r;
  invstd[P.invstd_off + c] = r;
  scale[P.scale_off + c] = s;
  shift[P.shift_off + c] = bv - rm[P.rm_off + c] * s;`,
};

/** running = (1 - f) running + f value (see RunningStatsUpdateArgs); transform 0 value, 1 unbiased, 2 std. */
const RUNNING_UPDATE: KernelSpec = {
  name: 'runningStatsUpdate',
  storages: [
    { name: 'run', type: 'f32', access: 'read_write' },
    { name: 'batch', type: 'f32', access: 'read' },
    { name: 'batches', type: 'f32', access: 'read', optional: true },
    { name: 'counts', type: 'f32', access: 'read', optional: true },
  ],
  params: [
    { name: 'C', type: 'u32' }, { name: 'R', type: 'u32' }, { name: 'single', type: 'u32' }, { name: 'useBatches', type: 'u32' },
    { name: 'transform', type: 'u32' }, { name: 'countMode', type: 'u32' }, { name: 'momentum', type: 'f32' }, { name: 'count', type: 'f32' },
    { name: 'eps', type: 'f32' },
  ],
  workgroupSize: [64],
  body: `
  let c = linear_id(gid, nwg);
  if (c >= P.C) { return; }
  var f = P.momentum;
  if (P.useBatches != 0u) { f = 1.0 / batches[P.batches_off]; }
  var stat = 0.0;
  var m = P.count;
  if (P.single != 0u) {
    stat = batch[P.batch_off];
    if (P.countMode == 1u) { m = counts[P.counts_off]; }
  } else {
    for (var r = 0u; r < P.R; r++) { stat += batch[P.batch_off + r * P.C + c] / f32(P.R); }
    if (P.countMode == 1u) { m = counts[P.counts_off + c]; }
  }
  var value = stat;
  if (P.transform == 1u) { if (m > 1.0) { value = stat * m / (m - 1.0); } }
  if (P.transform == 2u) { value = sqrt(stat + P.eps); }
  run[P.run_off + c] = (1.0 - f) * run[P.run_off + c] + f * value;`,
};

/** Batch Renormalization's per-channel terms (BatchRenormParamsArgs). */
const RENORM_PARAMS: KernelSpec = {
  name: 'batchRenormParams',
  storages: [
    { name: 'mean', type: 'f32', access: 'read' },
    { name: 'bvar', type: 'f32', access: 'read' },
    { name: 'invstd', type: 'f32', access: 'read' },
    { name: 'rm', type: 'f32', access: 'read' },
    { name: 'rs', type: 'f32', access: 'read' },
    { name: 'w', type: 'f32', access: 'read', optional: true },
    { name: 'b', type: 'f32', access: 'read', optional: true },
    { name: 'batches', type: 'f32', access: 'read', optional: true },
    { name: 'r', type: 'f32', access: 'read_write' },
    { name: 'd', type: 'f32', access: 'read_write' },
    { name: 'gamma', type: 'f32', access: 'read_write' },
    { name: 'scale', type: 'f32', access: 'read_write' },
    { name: 'shift', type: 'f32', access: 'read_write' },
  ],
  params: [
    { name: 'C', type: 'u32' }, { name: 'hasW', type: 'u32' }, { name: 'hasB', type: 'u32' }, { name: 'warmup', type: 'u32' }, { name: 'hasBatches', type: 'u32' },
    { name: 'eps', type: 'f32' }, { name: 'rMax', type: 'f32' }, { name: 'dMax', type: 'f32' }, { name: 'warmupSteps', type: 'f32' },
  ],
  workgroupSize: [64],
  body: `
  let c = linear_id(gid, nwg);
  if (c >= P.C) { return; }
  var warm = P.warmup != 0u;
  if (P.hasBatches != 0u && batches[P.batches_off] < P.warmupSteps) { warm = true; }
  var rv = 1.0;
  var dv = 0.0;
  let mu = mean[P.mean_off + c];
  if (!warm) {
    let s = rs[P.rs_off + c];
    rv = min(max(sqrt(bvar[P.bvar_off + c] + P.eps) / s, 1.0 / P.rMax), P.rMax);
    dv = min(max((mu - rm[P.rm_off + c]) / s, -P.dMax), P.dMax);
  }
  var gm = 1.0;
  if (P.hasW != 0u) { gm = w[P.w_off + c]; }
  var bt = 0.0;
  if (P.hasB != 0u) { bt = b[P.b_off + c]; }
  r[P.r_off + c] = rv;
  d[P.d_off + c] = dv;
  let g = rv * gm;
  gamma[P.gamma_off + c] = g;
  let sc = g * invstd[P.invstd_off + c];
  scale[P.scale_off + c] = sc;
  shift[P.shift_off + c] = dv * gm + bt - mu * sc;`,
};

function need(fn: string, arg: string, s: Storage | null | undefined, n: number): void {
  if (s == null) return;
  const g = gpuStorage(s, `${fn} (${arg})`);
  if (g.length !== n) throw new RangeError(`${fn}: ${arg} has ${g.length} values, expected ${n}`);
}

function sizes(fn: string, v: Record<string, number>): void {
  for (const [k, n] of Object.entries(v)) if (!Number.isInteger(n) || n < 0) throw new RangeError(`${fn}: ${k} must be an integer >= 0, got ${n}`);
}

function act(fn: string, a: NormAct | undefined): number {
  const code = ACT[a ?? 'none'];
  if (code === undefined) throw new RangeError(`${fn}: act must be one of ${Object.keys(ACT).join(', ')}, got ${JSON.stringify(a)}`);
  return code;
}

function groupGrid(n: number): Grid {
  return n <= 65535 ? [Math.max(1, n), 1, 1] : [65535, Math.ceil(n / 65535), 1];
}

/** A view of the first n values of s (for the halves of a coefficient buffer). */
function part(s: GpuStorage, offset: number, n: number): GpuStorage {
  return new GpuStorage('float32', s.alloc, s.offset + offset, n);
}

export function webgpuNormKernels(rt: GpuRuntime): BatchGroupKernels {
  const chunksOf = (m: number): number => Math.max(1, Math.ceil(m / CHUNK));
  /** Runs CHANNEL_PARTIALS; returns the partial buffer (caller releases). */
  const partials = (mode: number, N: number, C: number, S: number, st: (Storage | null)[], params: ParamValues): GpuStorage => {
    const chunks = chunksOf(N * S);
    const buf = rt.allocate(C * chunks * 3, 'float32');
    rt.run(CHANNEL_PARTIALS, [...st, buf], { N, C, S, chunks, mode, ...params }, [chunks, C, 1]);
    return buf;
  };

  return {
    batchNormForward(a) {
      const fn = 'batchNormForward';
      const { N, C, S } = a;
      sizes(fn, { N, C, S });
      const code = act(fn, a.act);
      const filtered = a.threshold > 0;
      if (filtered && code !== 0) throw new RangeError(`${fn}: Filtered BN takes no activation, got act '${a.act}'`);
      need(fn, 'x', a.x, N * C * S);
      for (const [k, s] of [['gamma', a.gamma], ['beta', a.beta], ['mean', a.mean], ['invstd', a.invstd], ['variance', a.variance]] as const) need(fn, k, s, C);
      need(fn, 'y', a.y, N * C * S);
      if (filtered) {
        if (a.mu0 === null || a.rstd0 === null || a.kept === null) throw new TypeError(`${fn}: Filtered BN (threshold ${a.threshold}) needs mu0, rstd0 and kept`);
        for (const [k, s] of [['mu0', a.mu0], ['rstd0', a.rstd0], ['kept', a.kept]] as const) need(fn, k, s, C);
      }
      if (C === 0 || N * S === 0) return;
      const m = N * S;
      const chunks = chunksOf(m);
      const coef = rt.allocate(2 * C, 'float32');
      const common = { C, S, chunks, act: code, hasGamma: a.gamma !== null, hasBeta: a.beta !== null, m, eps: a.eps };
      const fin = (buf: GpuStorage, pass: number): void =>
        rt.run(FINISH_FORWARD, [a.x, buf, a.gamma, a.beta, a.mean, a.invstd, a.variance, coef, a.mu0, a.rstd0, a.kept], { ...common, stage: pass }, grid1d(C, 64));
      const p0 = partials(0, N, C, S, [a.x, null, null, null, null, null, null], { act: 0, G: 1, Cg: 1, hasGamma: 0, hasBeta: 0, T: 0, p: 0 });
      if (!filtered) fin(p0, 0);
      else {
        fin(p0, 1);
        const p1 = partials(1, N, C, S, [a.x, null, a.mu0, a.rstd0, null, null, null], { act: 0, G: 1, Cg: 1, hasGamma: 0, hasBeta: 0, T: a.threshold, p: 0 });
        fin(p1, 2);
        rt.release(p1);
      }
      rt.release(p0);
      if (a.y !== null) rt.run(APPLY, [a.x, part(coef, 0, C), part(coef, C, C), a.y], { n: N * C * S, C, S, act: code, p: a.actParam ?? 0 }, grid1d(N * C * S, WG));
      rt.release(coef);
    },
    batchNormBackward(a) {
      const fn = 'batchNormBackward';
      const { N, C, S } = a;
      sizes(fn, { N, C, S });
      const code = act(fn, a.act);
      need(fn, 'x', a.x, N * C * S);
      need(fn, 'dy', a.dy, N * C * S);
      need(fn, 'dx', a.dx, N * C * S);
      for (const [k, s] of [['mean', a.mean], ['invstd', a.invstd], ['gamma', a.gamma], ['dgamma', a.dgamma], ['dbeta', a.dbeta], ['count', a.count], ['beta', a.beta]] as const) need(fn, k, s, C);
      const filtered = a.threshold > 0 && a.batchStats;
      if (filtered && (a.mu0 === null || a.rstd0 === null)) throw new TypeError(`${fn}: Filtered BN (threshold ${a.threshold}) needs mu0 and rstd0`);
      if (C === 0) return;
      const m = N * S;
      const chunks = chunksOf(m);
      let coef: GpuStorage | null = null;
      if (code !== 0) {
        coef = rt.allocate(2 * C, 'float32');
        rt.run(PREACT, [a.mean, a.invstd, a.gamma, a.beta ?? null, coef], { C, hasGamma: a.gamma !== null, hasBeta: a.beta != null }, grid1d(C, 64));
      }
      const needSums = a.dgamma !== null || a.dbeta !== null || (a.dx !== null && a.batchStats);
      const sums = needSums && m > 0
        ? partials(2, N, C, S, [a.x, a.dy, a.mean, null, coef, null, null], { act: code, G: 1, Cg: 1, hasGamma: 0, hasBeta: 0, T: 0, p: a.actParam ?? 0 })
        : null;
      const dcoef = rt.allocate(3 * C, 'float32');
      rt.run(FINISH_BACKWARD, [sums, a.mean, a.invstd, a.gamma, a.count, a.dgamma, a.dbeta, dcoef], {
        C, chunks, hasSums: sums !== null, hasGamma: a.gamma !== null, hasCount: a.count !== null, hasDgamma: a.dgamma !== null, hasDbeta: a.dbeta !== null,
        batchStats: a.batchStats, m,
      }, grid1d(C, 64));
      if (sums !== null) rt.release(sums);
      if (a.dx !== null && m > 0) {
        rt.run(APPLY_DX, [a.x, a.dy, dcoef, coef, filtered ? a.mu0 : null, filtered ? a.rstd0 : null, a.dx], {
          n: N * C * S, C, S, act: code, masked: filtered, p: a.actParam ?? 0, T: a.threshold,
        }, grid1d(N * C * S, WG));
      }
      rt.release(dcoef);
      if (coef !== null) rt.release(coef);
    },
    normChannelAffine(a) {
      const fn = 'normChannelAffine';
      const { N, C, S } = a;
      sizes(fn, { N, C, S });
      need(fn, 'x', a.x, N * C * S);
      need(fn, 'y', a.y, N * C * S);
      need(fn, 'scale', a.scale, C);
      need(fn, 'shift', a.shift, C);
      if (N * C * S === 0) return;
      rt.run(APPLY, [a.x, a.scale, a.shift, a.y], { n: N * C * S, C, S, act: 0, p: 0 }, grid1d(N * C * S, WG));
    },
    normEvalScaleShift(a) {
      const fn = 'normEvalScaleShift';
      const C = gpuStorage(a.runningMean, fn).length;
      for (const [k, s] of [['runningVar', a.runningVar], ['weight', a.weight], ['bias', a.bias], ['scale', a.scale], ['shift', a.shift], ['invstd', a.invstd]] as const) need(fn, k, s, C);
      if (C === 0) return;
      rt.run(EVAL_SCALE_SHIFT, [a.runningMean, a.runningVar, a.weight, a.bias, a.scale, a.shift, a.invstd], { C, hasW: a.weight !== null, hasB: a.bias !== null, eps: a.eps }, grid1d(C, 64));
    },
    runningStatsUpdate(a) {
      const fn = 'runningStatsUpdate';
      const C = gpuStorage(a.running, fn).length;
      const B = gpuStorage(a.batch, fn).length;
      if (B !== 1 && (B === 0 || B % C !== 0)) throw new RangeError(`${fn}: batch must have 1 value or a multiple of ${C} (running's length), got ${B}`);
      if (a.momentum === null && a.batches === null) throw new Error(`${fn}: batches (num_batches_tracked) is required when momentum is null`);
      const counts = a.count !== null && typeof a.count !== 'number' ? a.count : null;
      if (counts !== null) need(fn, 'count', counts, B);
      if (C === 0) return;
      const transform = { value: 0, unbiased: 1, std: 2 }[a.transform];
      if (transform === undefined) throw new RangeError(`${fn}: transform must be 'value', 'unbiased' or 'std', got ${JSON.stringify(a.transform)}`);
      rt.run(RUNNING_UPDATE, [a.running, a.batch, a.momentum === null ? a.batches : null, counts], {
        C, R: B === 1 ? 1 : B / C, single: B === 1, useBatches: a.momentum === null, transform, countMode: counts !== null ? 1 : 0,
        momentum: a.momentum ?? 0, count: typeof a.count === 'number' ? a.count : 0, eps: a.eps,
      }, grid1d(C, 64));
    },
    batchRenormParams(a) {
      const fn = 'batchRenormParams';
      const C = gpuStorage(a.mean, fn).length;
      for (const [k, s] of [['variance', a.variance], ['invstd', a.invstd], ['renormMean', a.renormMean], ['renormStd', a.renormStd], ['weight', a.weight],
        ['bias', a.bias], ['r', a.r], ['d', a.d], ['gamma', a.gamma], ['scale', a.scale], ['shift', a.shift]] as const) need(fn, k, s, C);
      if (C === 0) return;
      rt.run(RENORM_PARAMS, [a.mean, a.variance, a.invstd, a.renormMean, a.renormStd, a.weight, a.bias, a.batches, a.r, a.d, a.gamma, a.scale, a.shift], {
        C, hasW: a.weight !== null, hasB: a.bias !== null, warmup: a.warmup, hasBatches: a.batches !== null, eps: a.eps, rMax: a.rMax, dMax: a.dMax,
        warmupSteps: a.warmupSteps,
      }, grid1d(C, 64));
    },
    groupNormForward(a) {
      const fn = 'groupNormForward';
      const { N, G, Cg, S } = a;
      sizes(fn, { N, G, Cg, S });
      const C = G * Cg;
      need(fn, 'x', a.x, N * C * S);
      need(fn, 'y', a.y, N * C * S);
      need(fn, 'gamma', a.gamma, C);
      need(fn, 'beta', a.beta, C);
      for (const [k, s] of [['mean', a.mean], ['invstd', a.invstd], ['variance', a.variance]] as const) need(fn, k, s, N * G);
      if (N * G === 0 || Cg * S === 0) return;
      rt.run(GN_FORWARD, [a.x, a.gamma, a.beta, a.y, a.mean, a.invstd, a.variance], {
        NG: N * G, G, Cg, S, act: act(fn, a.act), hasGamma: a.gamma !== null, hasBeta: a.beta !== null, hasVar: a.variance !== null, eps: a.eps, p: a.actParam ?? 0,
      }, groupGrid(N * G));
    },
    groupNormBackward(a) {
      const fn = 'groupNormBackward';
      const { N, G, Cg, S } = a;
      sizes(fn, { N, G, Cg, S });
      const C = G * Cg;
      const code = act(fn, a.act);
      need(fn, 'x', a.x, N * C * S);
      need(fn, 'dy', a.dy, N * C * S);
      need(fn, 'dx', a.dx, N * C * S);
      for (const [k, s] of [['gamma', a.gamma], ['beta', a.beta], ['dgamma', a.dgamma], ['dbeta', a.dbeta]] as const) need(fn, k, s, C);
      need(fn, 'mean', a.mean, N * G);
      need(fn, 'invstd', a.invstd, N * G);
      if (C === 0) return;
      if (a.dgamma !== null || a.dbeta !== null) {
        if (N * S === 0) {
          if (a.dgamma !== null) rt.clear(gpuStorage(a.dgamma, fn));
          if (a.dbeta !== null) rt.clear(gpuStorage(a.dbeta, fn));
        } else {
          const sums = partials(3, N, C, S, [a.x, a.dy, a.mean, a.invstd, null, a.gamma, a.beta ?? null], {
            act: code, G, Cg, hasGamma: a.gamma !== null, hasBeta: a.beta != null, T: 0, p: a.actParam ?? 0,
          });
          rt.run(GN_PARAM_FINISH, [sums, a.dgamma, a.dbeta], { C, chunks: chunksOf(N * S), hasDgamma: a.dgamma !== null, hasDbeta: a.dbeta !== null }, grid1d(C, 64));
          rt.release(sums);
        }
      }
      if (a.dx !== null && N * G > 0 && Cg * S > 0) {
        rt.run(GN_DX, [a.x, a.dy, a.mean, a.invstd, a.gamma, a.beta ?? null, a.dx], {
          NG: N * G, G, Cg, S, act: code, hasGamma: a.gamma !== null, hasBeta: a.beta != null, p: a.actParam ?? 0,
        }, groupGrid(N * G));
      }
    },
  };
}

