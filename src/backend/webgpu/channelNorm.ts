// WebGPU kernels of the per-position and batch-independent norms (WGSL), with the formulas of
// native/kernels/channel_norm.cc and local_response_norm.cc:
// - channelNorm (LayerNorm2d, RmsNorm2d): one invocation per position (n, s) looping over its C
//   channels (neighbouring invocations read neighbouring positions, so loads coalesce);
// - FRN, EvoNorm-S0 and EvoNorm-B0: one workgroup per row (n, c) or group (n, g), shared-memory
//   trees for the row sums;
// - parameter gradients: per-row sums into a buffer, then per channel the rows added in n order
//   (deterministic);
// - LocalResponseNorm: one invocation per value over its channel window; the backward
//   recomputes each window sum it needs instead of storing them.
import type { NormKernels } from '../kernels/norm.js';
import { grid1d, type GpuRuntime, type Grid, type KernelSpec, type ParamValues } from './runtime.js';
import { GpuStorage, gpuStorage } from './storage.js';
import type { Storage } from '../storage.js';

type ChannelNormKernels = Pick<NormKernels, 'channelNormForward' | 'channelNormBackward' | 'frnForward' | 'frnBackward' |
  'evoNormS0Forward' | 'evoNormS0Backward' | 'evoNormB0Forward' | 'evoNormB0Backward' | 'localResponseNormForward' | 'localResponseNormBackward'>;

const WG = 256;
const ROW_WG = 128;

const TREE = `
var<workgroup> r0: array<f32, ${ROW_WG}>;
var<workgroup> r1: array<f32, ${ROW_WG}>;
var<workgroup> r2: array<f32, ${ROW_WG}>;
var<workgroup> r3: array<f32, ${ROW_WG}>;
var<workgroup> r4: array<f32, ${ROW_WG}>;
// Sums five lane values over the workgroup; the totals are left in r0[0] .. r4[0].
fn tree5(lane: u32, a: f32, b: f32, c: f32, d: f32, e: f32) {
  r0[lane] = a; r1[lane] = b; r2[lane] = c; r3[lane] = d; r4[lane] = e;
  workgroupBarrier();
  for (var h = ${ROW_WG / 2}u; h > 0u; h /= 2u) {
    if (lane < h) { r0[lane] += r0[lane + h]; r1[lane] += r1[lane + h]; r2[lane] += r2[lane + h]; r3[lane] += r3[lane + h]; r4[lane] += r4[lane + h]; }
    workgroupBarrier();
  }
}
fn sigmoid(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }
// d max(z, t) / dz as torch.maximum: 1 where z > t, 1/2 at a tie, else 0.
fn max_share(z: f32, t: f32) -> f32 { if (z > t) { return 1.0; } if (z == t) { return 0.5; } return 0.0; }`;

// mu = mean_c x (center), r = 1 / sqrt(mean_c (x - mu)^2 + eps), y = (x - mu) r gamma[c] + beta[c].
const CN_FORWARD: KernelSpec = {
  name: 'channelNormForward',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 'gamma', type: 'f32', access: 'read', optional: true },
    { name: 'beta', type: 'f32', access: 'read', optional: true },
    { name: 'y', type: 'f32', access: 'read_write' },
    { name: 'mean', type: 'f32', access: 'read_write', optional: true },
    { name: 'invstd', type: 'f32', access: 'read_write' },
  ],
  params: [
    { name: 'NS', type: 'u32' }, { name: 'C', type: 'u32' }, { name: 'S', type: 'u32' }, { name: 'center', type: 'u32' },
    { name: 'hasGamma', type: 'u32' }, { name: 'hasBeta', type: 'u32' }, { name: 'eps', type: 'f32' },
  ],
  workgroupSize: [WG],
  body: `
  let p = linear_id(gid, nwg);
  if (p >= P.NS) { return; }
  let n = p / P.S;
  let base = P.x_off + n * P.C * P.S + p % P.S;
  var mu = 0.0;
  if (P.center != 0u) {
    for (var c = 0u; c < P.C; c++) { mu += x[base + c * P.S]; }
    mu /= f32(P.C);
  }
  var q = 0.0;
  for (var c = 0u; c < P.C; c++) { let d = x[base + c * P.S] - mu; q += d * d; }
  let r = 1.0 / sqrt(q / f32(P.C) + P.eps);
  if (P.center != 0u) { mean[P.mean_off + p] = mu; }
  invstd[P.invstd_off + p] = r;
  let ob = P.y_off + n * P.C * P.S + p % P.S;
  for (var c = 0u; c < P.C; c++) {
    var g = 1.0;
    if (P.hasGamma != 0u) { g = gamma[P.gamma_off + c]; }
    var b = 0.0;
    if (P.hasBeta != 0u) { b = beta[P.beta_off + c]; }
    y[ob + c * P.S] = (x[base + c * P.S] - mu) * r * g + b;
  }`,
};

// gdy = gamma[c] dy: dx = r (gdy - [center] sum(gdy) / C - xhat sum(gdy xhat) / C).
const CN_DX: KernelSpec = {
  name: 'channelNormDx',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 'dy', type: 'f32', access: 'read' },
    { name: 'mean', type: 'f32', access: 'read', optional: true },
    { name: 'invstd', type: 'f32', access: 'read' },
    { name: 'gamma', type: 'f32', access: 'read', optional: true },
    { name: 'dx', type: 'f32', access: 'read_write' },
  ],
  params: [{ name: 'NS', type: 'u32' }, { name: 'C', type: 'u32' }, { name: 'S', type: 'u32' }, { name: 'center', type: 'u32' }, { name: 'hasGamma', type: 'u32' }],
  workgroupSize: [WG],
  body: `
  let p = linear_id(gid, nwg);
  if (p >= P.NS) { return; }
  let off = (p / P.S) * P.C * P.S + p % P.S;
  var mu = 0.0;
  if (P.center != 0u) { mu = mean[P.mean_off + p]; }
  let r = invstd[P.invstd_off + p];
  var s1 = 0.0;
  var s2 = 0.0;
  for (var c = 0u; c < P.C; c++) {
    var g = 1.0;
    if (P.hasGamma != 0u) { g = gamma[P.gamma_off + c]; }
    let gd = g * dy[P.dy_off + off + c * P.S];
    s1 += gd;
    s2 += gd * (x[P.x_off + off + c * P.S] - mu) * r;
  }
  var m1 = 0.0;
  if (P.center != 0u) { m1 = s1 / f32(P.C); }
  let m2 = s2 / f32(P.C);
  for (var c = 0u; c < P.C; c++) {
    var g = 1.0;
    if (P.hasGamma != 0u) { g = gamma[P.gamma_off + c]; }
    let xh = (x[P.x_off + off + c * P.S] - mu) * r;
    dx[P.dx_off + off + c * P.S] = r * (g * dy[P.dy_off + off + c * P.S] - m1 - xh * m2);
  }`,
};

/**
 * Per-row sums for the parameter gradients, row = (n, c) of S values; part[row * 5 + k]:
 *   mode 0 channelNorm: sum dy xhat (per-position statistics), sum dy
 *   mode 1 FRN:         r sum dz x, sum dz, sum (dy - dz)       (dz = dy d max(z, tau)/dz)
 *   mode 2 EvoNorm-S0:  sum du x^2 s (1 - s), sum dy u rs, sum dy  (group statistics of (n, c / Cg))
 *   mode 3 EvoNorm-B0:  dleft, dsd, dv, dw, db                     (see B0_DX)
 */
const ROW_SUMS: KernelSpec = {
  name: 'channelNormRowSums',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 'dy', type: 'f32', access: 'read' },
    { name: 'st0', type: 'f32', access: 'read', optional: true },
    { name: 'st1', type: 'f32', access: 'read' },
    { name: 'pa', type: 'f32', access: 'read', optional: true },
    { name: 'pb', type: 'f32', access: 'read', optional: true },
    { name: 'pc', type: 'f32', access: 'read', optional: true },
    { name: 'part', type: 'f32', access: 'read_write' },
  ],
  params: [
    { name: 'rows', type: 'u32' }, { name: 'C', type: 'u32' }, { name: 'S', type: 'u32' }, { name: 'mode', type: 'u32' }, { name: 'flag', type: 'u32' },
    { name: 'Cg', type: 'u32' }, { name: 'G', type: 'u32' }, { name: 'eps', type: 'f32' },
  ],
  workgroupSize: [ROW_WG],
  moduleScope: TREE,
  body: `
  let row = wid.x + wid.y * nwg.x;
  let live = row < P.rows;
  let c = row % P.C;
  let n = row / P.C;
  var a = 0.0; var b = 0.0; var e = 0.0; var f = 0.0; var h = 0.0;
  if (live) {
    for (var s = lidx; s < P.S; s += ${ROW_WG}u) {
      let i = row * P.S + s;
      let xv = x[P.x_off + i];
      let g = dy[P.dy_off + i];
      switch P.mode {
        case 0u: {
          let pos = n * P.S + s;
          var mu = 0.0;
          if (P.flag != 0u) { mu = st0[P.st0_off + pos]; }
          a += g * (xv - mu) * st1[P.st1_off + pos];
          b += g;
        }
        case 1u: {
          let r = st1[P.st1_off + row];
          var dz = g;
          if (P.flag != 0u) {
            let z = xv * r * pa[P.pa_off + c] + pb[P.pb_off + c];
            dz = g * max_share(z, pc[P.pc_off + c]);
          }
          a += dz * xv * r;
          b += dz;
          e += g - dz;
        }
        case 2u: {
          let grp = n * P.G + c / P.Cg;
          let rs = st1[P.st1_off + grp];
          let sg = sigmoid(pa[P.pa_off + c] * xv);
          let du = g * pb[P.pb_off + c] * rs;
          a += du * xv * xv * sg * (1.0 - sg);
          b += g * xv * sg * rs;
          e += g;
        }
        default: {
          let left = sqrt(pc[P.pc_off + c] + P.eps);
          let sd = st1[P.st1_off + row];
          let rt = pa[P.pa_off + c] * xv + sd;
          let den = max(rt, left);
          let q = xv / den;
          let dden = -(g * pb[P.pb_off + c]) * q / den;
          let toR = max_share(rt, left);
          a += dden * (1.0 - toR);
          b += dden * toR;
          e += dden * toR * xv;
          f += g * q;
          h += g;
        }
      }
    }
  }
  tree5(lidx, a, b, e, f, h);
  if (live && lidx == 0u) {
    let o = P.part_off + row * 5u;
    part[o] = r0[0]; part[o + 1u] = r1[0]; part[o + 2u] = r2[0]; part[o + 3u] = r3[0]; part[o + 4u] = r4[0];
  }`,
};

/** out_j[c] = sum over n of part[(n * C + c) * 5 + k_j], for the outputs given. */
const CHANNEL_TOTALS: KernelSpec = {
  name: 'channelNormTotals',
  storages: [
    { name: 'part', type: 'f32', access: 'read' },
    { name: 'o0', type: 'f32', access: 'read_write', optional: true },
    { name: 'o1', type: 'f32', access: 'read_write', optional: true },
    { name: 'o2', type: 'f32', access: 'read_write', optional: true },
  ],
  params: [
    { name: 'N', type: 'u32' }, { name: 'C', type: 'u32' }, { name: 'k0', type: 'u32' }, { name: 'k1', type: 'u32' }, { name: 'k2', type: 'u32' },
    { name: 'has', type: 'u32' },
  ],
  workgroupSize: [64],
  body: `
  let c = linear_id(gid, nwg);
  if (c >= P.C) { return; }
  var t = array<f32, 5>(0.0, 0.0, 0.0, 0.0, 0.0);
  for (var n = 0u; n < P.N; n++) {
    let o = P.part_off + (n * P.C + c) * 5u;
    for (var k = 0u; k < 5u; k++) { t[k] += part[o + k]; }
  }
  if ((P.has & 1u) != 0u) { o0[P.o0_off + c] = t[P.k0]; }
  if ((P.has & 2u) != 0u) { o1[P.o1_off + c] = t[P.k1]; }
  if ((P.has & 4u) != 0u) { o2[P.o2_off + c] = t[P.k2]; }`,
};

// FRN + TLU per row: r = 1 / sqrt(mean(x^2) + eps), z = x r gamma[c] + beta[c], y = max(z, tau[c]).
const FRN_FORWARD: KernelSpec = {
  name: 'frnForward',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 'gamma', type: 'f32', access: 'read' },
    { name: 'beta', type: 'f32', access: 'read' },
    { name: 'tau', type: 'f32', access: 'read', optional: true },
    { name: 'y', type: 'f32', access: 'read_write' },
    { name: 'rstd', type: 'f32', access: 'read_write' },
  ],
  params: [{ name: 'rows', type: 'u32' }, { name: 'C', type: 'u32' }, { name: 'S', type: 'u32' }, { name: 'hasTau', type: 'u32' }, { name: 'eps', type: 'f32' }],
  workgroupSize: [ROW_WG],
  moduleScope: TREE,
  body: `
  let row = wid.x + wid.y * nwg.x;
  let live = row < P.rows;
  var q = 0.0;
  if (live) { for (var s = lidx; s < P.S; s += ${ROW_WG}u) { let v = x[P.x_off + row * P.S + s]; q += v * v; } }
  tree5(lidx, q, 0.0, 0.0, 0.0, 0.0);
  if (!live) { return; }
  let r = 1.0 / sqrt(r0[0] / f32(P.S) + P.eps);
  let c = row % P.C;
  if (lidx == 0u) { rstd[P.rstd_off + row] = r; }
  for (var s = lidx; s < P.S; s += ${ROW_WG}u) {
    let z = x[P.x_off + row * P.S + s] * r * gamma[P.gamma_off + c] + beta[P.beta_off + c];
    var v = z;
    if (P.hasTau != 0u) { v = max(z, tau[P.tau_off + c]); }
    y[P.y_off + row * P.S + s] = v;
  }`,
};

// dx = gamma[c] r (dz - x r^2 sum(dz x) / S).
const FRN_DX: KernelSpec = {
  name: 'frnDx',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 'dy', type: 'f32', access: 'read' },
    { name: 'rstd', type: 'f32', access: 'read' },
    { name: 'gamma', type: 'f32', access: 'read' },
    { name: 'beta', type: 'f32', access: 'read' },
    { name: 'tau', type: 'f32', access: 'read', optional: true },
    { name: 'dx', type: 'f32', access: 'read_write' },
  ],
  params: [{ name: 'rows', type: 'u32' }, { name: 'C', type: 'u32' }, { name: 'S', type: 'u32' }, { name: 'hasTau', type: 'u32' }],
  workgroupSize: [ROW_WG],
  moduleScope: TREE + `
fn dz_at(i: u32, c: u32, r: f32) -> f32 {
  let g = dy[P.dy_off + i];
  if (P.hasTau == 0u) { return g; }
  let z = x[P.x_off + i] * r * gamma[P.gamma_off + c] + beta[P.beta_off + c];
  return g * max_share(z, tau[P.tau_off + c]);
}`,
  body: `
  let row = wid.x + wid.y * nwg.x;
  let live = row < P.rows;
  let c = row % P.C;
  var r = 0.0;
  if (live) { r = rstd[P.rstd_off + row]; }
  var a = 0.0;
  if (live) { for (var s = lidx; s < P.S; s += ${ROW_WG}u) { let i = row * P.S + s; a += dz_at(i, c, r) * x[P.x_off + i]; } }
  tree5(lidx, a, 0.0, 0.0, 0.0, 0.0);
  if (!live) { return; }
  let k = r * r * r0[0] / f32(P.S);
  let gr = gamma[P.gamma_off + c] * r;
  for (var s = lidx; s < P.S; s += ${ROW_WG}u) {
    let i = row * P.S + s;
    dx[P.dx_off + i] = gr * (dz_at(i, c, r) - x[P.x_off + i] * k);
  }`,
};

// EvoNorm-S0 per group (n, g) of M = Cg S values: rs = 1 / sqrt(var + eps), y = x sigmoid(v x) rs w[c] + b[c].
const S0_FORWARD: KernelSpec = {
  name: 'evoNormS0Forward',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 'v', type: 'f32', access: 'read' },
    { name: 'w', type: 'f32', access: 'read' },
    { name: 'b', type: 'f32', access: 'read' },
    { name: 'y', type: 'f32', access: 'read_write' },
    { name: 'mean', type: 'f32', access: 'read_write' },
    { name: 'rstd', type: 'f32', access: 'read_write' },
  ],
  params: [{ name: 'NG', type: 'u32' }, { name: 'G', type: 'u32' }, { name: 'Cg', type: 'u32' }, { name: 'S', type: 'u32' }, { name: 'eps', type: 'f32' }],
  workgroupSize: [ROW_WG],
  moduleScope: TREE,
  body: `
  let i = wid.x + wid.y * nwg.x;
  let live = i < P.NG;
  let M = P.Cg * P.S;
  let base = i * M;
  var a = 0.0;
  if (live) { for (var j = lidx; j < M; j += ${ROW_WG}u) { a += x[P.x_off + base + j]; } }
  tree5(lidx, a, 0.0, 0.0, 0.0, 0.0);
  let mu = r0[0] / f32(M);
  workgroupBarrier();
  var q = 0.0;
  if (live) { for (var j = lidx; j < M; j += ${ROW_WG}u) { let d = x[P.x_off + base + j] - mu; q += d * d; } }
  tree5(lidx, q, 0.0, 0.0, 0.0, 0.0);
  if (!live) { return; }
  let rs = 1.0 / sqrt(r0[0] / f32(M) + P.eps);
  if (lidx == 0u) { mean[P.mean_off + i] = mu; rstd[P.rstd_off + i] = rs; }
  let c0 = (i % P.G) * P.Cg;
  for (var j = lidx; j < M; j += ${ROW_WG}u) {
    let c = c0 + j / P.S;
    let xv = x[P.x_off + base + j];
    y[P.y_off + base + j] = xv * sigmoid(v[P.v_off + c] * xv) * rs * w[P.w_off + c] + b[P.b_off + c];
  }`,
};

// A = sum over the group of dy w[c] u, du = dy w[c] rs: dx = du (s + v x s (1 - s)) - rs^3 A (x - mean) / M.
const S0_DX: KernelSpec = {
  name: 'evoNormS0Dx',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 'dy', type: 'f32', access: 'read' },
    { name: 'v', type: 'f32', access: 'read' },
    { name: 'w', type: 'f32', access: 'read' },
    { name: 'mean', type: 'f32', access: 'read' },
    { name: 'rstd', type: 'f32', access: 'read' },
    { name: 'dx', type: 'f32', access: 'read_write' },
  ],
  params: [{ name: 'NG', type: 'u32' }, { name: 'G', type: 'u32' }, { name: 'Cg', type: 'u32' }, { name: 'S', type: 'u32' }],
  workgroupSize: [ROW_WG],
  moduleScope: TREE,
  body: `
  let i = wid.x + wid.y * nwg.x;
  let live = i < P.NG;
  let M = P.Cg * P.S;
  let base = i * M;
  let c0 = (i % P.G) * P.Cg;
  var a = 0.0;
  if (live) {
    for (var j = lidx; j < M; j += ${ROW_WG}u) {
      let c = c0 + j / P.S;
      let xv = x[P.x_off + base + j];
      a += dy[P.dy_off + base + j] * w[P.w_off + c] * xv * sigmoid(v[P.v_off + c] * xv);
    }
  }
  tree5(lidx, a, 0.0, 0.0, 0.0, 0.0);
  if (!live) { return; }
  let mu = mean[P.mean_off + i];
  let rs = rstd[P.rstd_off + i];
  let k = rs * rs * rs * r0[0] / f32(M);
  for (var j = lidx; j < M; j += ${ROW_WG}u) {
    let c = c0 + j / P.S;
    let xv = x[P.x_off + base + j];
    let vv = v[P.v_off + c];
    let s = sigmoid(vv * xv);
    let du = dy[P.dy_off + base + j] * w[P.w_off + c] * rs;
    dx[P.dx_off + base + j] = du * (s + vv * xv * s * (1.0 - s)) - k * (xv - mu);
  }`,
};

// EvoNorm-B0 per row: sd = sqrt(row var + eps), den = max(sqrt(variance[c] + eps), v x + sd), y = x / den w + b.
const B0_FORWARD: KernelSpec = {
  name: 'evoNormB0Forward',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 'variance', type: 'f32', access: 'read' },
    { name: 'v', type: 'f32', access: 'read' },
    { name: 'w', type: 'f32', access: 'read' },
    { name: 'b', type: 'f32', access: 'read' },
    { name: 'y', type: 'f32', access: 'read_write' },
    { name: 'mean', type: 'f32', access: 'read_write' },
    { name: 'sd', type: 'f32', access: 'read_write' },
  ],
  params: [{ name: 'rows', type: 'u32' }, { name: 'C', type: 'u32' }, { name: 'S', type: 'u32' }, { name: 'eps', type: 'f32' }],
  workgroupSize: [ROW_WG],
  moduleScope: TREE,
  body: `
  let row = wid.x + wid.y * nwg.x;
  let live = row < P.rows;
  let base = row * P.S;
  var a = 0.0;
  if (live) { for (var s = lidx; s < P.S; s += ${ROW_WG}u) { a += x[P.x_off + base + s]; } }
  tree5(lidx, a, 0.0, 0.0, 0.0, 0.0);
  let mu = r0[0] / f32(P.S);
  workgroupBarrier();
  var q = 0.0;
  if (live) { for (var s = lidx; s < P.S; s += ${ROW_WG}u) { let d = x[P.x_off + base + s] - mu; q += d * d; } }
  tree5(lidx, q, 0.0, 0.0, 0.0, 0.0);
  if (!live) { return; }
  let sdv = sqrt(r0[0] / f32(P.S) + P.eps);
  let c = row % P.C;
  if (lidx == 0u) { mean[P.mean_off + row] = mu; sd[P.sd_off + row] = sdv; }
  let left = sqrt(variance[P.variance_off + c] + P.eps);
  for (var s = lidx; s < P.S; s += ${ROW_WG}u) {
    let xv = x[P.x_off + base + s];
    let den = max(left, v[P.v_off + c] * xv + sdv);
    y[P.y_off + base + s] = xv / den * w[P.w_off + c] + b[P.b_off + c];
  }`,
};

// dx = dq / den + dden toR v + kI (x - mu) + kB (x - muB), kI = dsd / (sd S) from the row sums,
// kB[c] = dleft_c / left_c / (N S) in training (0 in eval, where left is constant).
const B0_DX: KernelSpec = {
  name: 'evoNormB0Dx',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 'dy', type: 'f32', access: 'read' },
    { name: 'variance', type: 'f32', access: 'read' },
    { name: 'v', type: 'f32', access: 'read' },
    { name: 'w', type: 'f32', access: 'read' },
    { name: 'mean', type: 'f32', access: 'read' },
    { name: 'sd', type: 'f32', access: 'read' },
    { name: 'part', type: 'f32', access: 'read' },
    { name: 'muB', type: 'f32', access: 'read', optional: true },
    { name: 'kB', type: 'f32', access: 'read', optional: true },
    { name: 'dx', type: 'f32', access: 'read_write' },
  ],
  params: [{ name: 'n', type: 'u32' }, { name: 'C', type: 'u32' }, { name: 'S', type: 'u32' }, { name: 'training', type: 'u32' }, { name: 'eps', type: 'f32' }],
  workgroupSize: [WG],
  moduleScope: 'fn max_share(z: f32, t: f32) -> f32 { if (z > t) { return 1.0; } if (z == t) { return 0.5; } return 0.0; }',
  body: `
  let i = linear_id(gid, nwg);
  if (i >= P.n) { return; }
  let row = i / P.S;
  let c = row % P.C;
  let xv = x[P.x_off + i];
  let sdv = sd[P.sd_off + row];
  let left = sqrt(variance[P.variance_off + c] + P.eps);
  let vv = v[P.v_off + c];
  let rt = vv * xv + sdv;
  let den = max(rt, left);
  let dq = dy[P.dy_off + i] * w[P.w_off + c];
  let dden = -dq * xv / (den * den);
  let toR = max_share(rt, left);
  let kI = part[P.part_off + row * 5u + 1u] / sdv / f32(P.S);
  var out = dq / den + dden * toR * vv + kI * (xv - mean[P.mean_off + row]);
  if (P.training != 0u) { out += kB[P.kB_off + c] * (xv - muB[P.muB_off + c]); }
  dx[P.dx_off + i] = out;`,
};

/** kB[c] = sum over n of dleft / left_c / (N S) (from the B0 row sums). */
const B0_KB: KernelSpec = {
  name: 'evoNormB0Kb',
  storages: [{ name: 'part', type: 'f32', access: 'read' }, { name: 'variance', type: 'f32', access: 'read' }, { name: 'kB', type: 'f32', access: 'read_write' }],
  params: [{ name: 'N', type: 'u32' }, { name: 'C', type: 'u32' }, { name: 'S', type: 'u32' }, { name: 'eps', type: 'f32' }],
  workgroupSize: [64],
  body: `
  let c = linear_id(gid, nwg);
  if (c >= P.C) { return; }
  var t = 0.0;
  for (var n = 0u; n < P.N; n++) { t += part[P.part_off + (n * P.C + c) * 5u]; }
  kB[P.kB_off + c] = t / sqrt(variance[P.variance_off + c] + P.eps) / f32(P.N * P.S);`,
};

/** The window sum s_c = k + alpha / size * sum of x_{c'}^2 over c' in [c - before, c + after] at one position. */
const LRN_SCOPE = `
fn lrn_s(base: u32, c: i32) -> f32 {
  var q = 0.0;
  let lo = max(0, c - i32(P.before));
  let hi = min(i32(P.C) - 1, c + i32(P.after));
  for (var j = lo; j <= hi; j++) { let v = x[P.x_off + base + u32(j) * P.S]; q += v * v; }
  return P.k + P.alpha / f32(P.size) * q;
}`;

const LRN_FORWARD: KernelSpec = {
  name: 'localResponseNormForward',
  storages: [{ name: 'x', type: 'f32', access: 'read' }, { name: 'y', type: 'f32', access: 'read_write' }],
  params: [
    { name: 'n', type: 'u32' }, { name: 'C', type: 'u32' }, { name: 'S', type: 'u32' }, { name: 'size', type: 'u32' }, { name: 'before', type: 'u32' },
    { name: 'after', type: 'u32' }, { name: 'alpha', type: 'f32' }, { name: 'beta', type: 'f32' }, { name: 'k', type: 'f32' },
  ],
  workgroupSize: [WG],
  moduleScope: LRN_SCOPE,
  body: `
  let i = linear_id(gid, nwg);
  if (i >= P.n) { return; }
  let c = (i / P.S) % P.C;
  let base = (i / (P.S * P.C)) * P.C * P.S + i % P.S;
  y[P.y_off + i] = x[P.x_off + i] * pow(lrn_s(base, i32(c)), -P.beta);`,
};

// dx_j = dy_j p_j - 2 alpha beta / size * x_j * sum over c in [j - after, j + before] of dy_c x_c p_c / s_c.
const LRN_BACKWARD: KernelSpec = {
  name: 'localResponseNormBackward',
  storages: [{ name: 'x', type: 'f32', access: 'read' }, { name: 'dy', type: 'f32', access: 'read' }, { name: 'dx', type: 'f32', access: 'read_write' }],
  params: [
    { name: 'n', type: 'u32' }, { name: 'C', type: 'u32' }, { name: 'S', type: 'u32' }, { name: 'size', type: 'u32' }, { name: 'before', type: 'u32' },
    { name: 'after', type: 'u32' }, { name: 'alpha', type: 'f32' }, { name: 'beta', type: 'f32' }, { name: 'k', type: 'f32' },
  ],
  workgroupSize: [WG],
  moduleScope: LRN_SCOPE,
  body: `
  let i = linear_id(gid, nwg);
  if (i >= P.n) { return; }
  let j = i32((i / P.S) % P.C);
  let base = (i / (P.S * P.C)) * P.C * P.S + i % P.S;
  var t = 0.0;
  let lo = max(0, j - i32(P.after));
  let hi = min(i32(P.C) - 1, j + i32(P.before));
  for (var c = lo; c <= hi; c++) {
    let s = lrn_s(base, c);
    let at = base + u32(c) * P.S;
    t += dy[P.dy_off + at] * x[P.x_off + at] * pow(s, -P.beta) / s;
  }
  let xj = x[P.x_off + i];
  dx[P.dx_off + i] = dy[P.dy_off + i] * pow(lrn_s(base, j), -P.beta) - 2.0 * P.alpha * P.beta / f32(P.size) * xj * t;`,
};

function need(fn: string, arg: string, s: Storage | null | undefined, n: number): void {
  if (s == null) return;
  const g = gpuStorage(s, `${fn} (${arg})`);
  if (g.length !== n) throw new RangeError(`${fn}: ${arg} has ${g.length} values, expected ${n}`);
}

function sizes(fn: string, v: Record<string, number>): void {
  for (const [k, n] of Object.entries(v)) if (!Number.isInteger(n) || n < 0) throw new RangeError(`${fn}: ${k} must be an integer >= 0, got ${n}`);
}

function rowGrid(rows: number): Grid {
  return rows <= 65535 ? [Math.max(1, rows), 1, 1] : [65535, Math.ceil(rows / 65535), 1];
}

export function webgpuChannelNormKernels(rt: GpuRuntime): ChannelNormKernels {
  /** Row sums into a [rows, 5] buffer (the caller releases it). */
  const rowSums = (rows: number, st: (Storage | null)[], params: ParamValues): GpuStorage => {
    const part = rt.allocate(rows * 5, 'float32');
    rt.run(ROW_SUMS, [...st, part], { rows, ...params }, rowGrid(rows));
    return part;
  };
  /** Per-channel totals of chosen row-sum columns into up to three outputs. */
  const totals = (part: GpuStorage, N: number, C: number, outs: [Storage | null, number][]): void => {
    const has = outs.reduce((m, [s], j) => (s !== null ? m | (1 << j) : m), 0);
    if (has === 0) return;
    const pad = [...outs, [null, 0], [null, 0], [null, 0]].slice(0, 3) as [Storage | null, number][];
    rt.run(CHANNEL_TOTALS, [part, pad[0][0], pad[1][0], pad[2][0]], { N, C, k0: pad[0][1], k1: pad[1][1], k2: pad[2][1], has }, grid1d(C, 64));
  };
  const lrnParams = (fn: string, a: { N: number; C: number; S: number; size: number; alpha: number; beta: number; k: number }): ParamValues => {
    sizes(fn, { N: a.N, C: a.C, S: a.S });
    if (!Number.isInteger(a.size) || a.size < 1) throw new RangeError(`${fn}: size must be an integer >= 1, got ${a.size}`);
    return { n: a.N * a.C * a.S, C: a.C, S: a.S, size: a.size, before: Math.floor(a.size / 2), after: Math.floor((a.size - 1) / 2), alpha: a.alpha, beta: a.beta, k: a.k };
  };

  return {
    channelNormForward(a) {
      const fn = 'channelNormForward';
      const { N, C, S } = a;
      sizes(fn, { N, C, S });
      need(fn, 'x', a.x, N * C * S);
      need(fn, 'y', a.y, N * C * S);
      need(fn, 'gamma', a.gamma, C);
      need(fn, 'beta', a.beta, C);
      need(fn, 'mean', a.mean, N * S);
      need(fn, 'invstd', a.invstd, N * S);
      if (a.center && a.mean === null) throw new TypeError(`${fn}: mean is required when center is true`);
      if (N * S === 0 || C === 0) return;
      rt.run(CN_FORWARD, [a.x, a.gamma, a.beta, a.y, a.center ? a.mean : null, a.invstd], {
        NS: N * S, C, S, center: a.center, hasGamma: a.gamma !== null, hasBeta: a.beta !== null, eps: a.eps,
      }, grid1d(N * S, WG));
    },
    channelNormBackward(a) {
      const fn = 'channelNormBackward';
      const { N, C, S } = a;
      sizes(fn, { N, C, S });
      need(fn, 'x', a.x, N * C * S);
      need(fn, 'dy', a.dy, N * C * S);
      need(fn, 'dx', a.dx, N * C * S);
      need(fn, 'mean', a.mean, N * S);
      need(fn, 'invstd', a.invstd, N * S);
      for (const [k, s] of [['gamma', a.gamma], ['dgamma', a.dgamma], ['dbeta', a.dbeta]] as const) need(fn, k, s, C);
      if (C === 0) return;
      const mean = a.center ? a.mean : null;
      if (a.dgamma !== null || a.dbeta !== null) {
        const part = rowSums(N * C, [a.x, a.dy, mean, a.invstd, null, null, null], { C, S, mode: 0, flag: a.center, Cg: 1, G: 1, eps: 0 });
        totals(part, N, C, [[a.dgamma, 0], [a.dbeta, 1]]);
        rt.release(part);
      }
      if (a.dx !== null && N * S > 0) {
        rt.run(CN_DX, [a.x, a.dy, mean, a.invstd, a.gamma, a.dx], { NS: N * S, C, S, center: a.center, hasGamma: a.gamma !== null }, grid1d(N * S, WG));
      }
    },
    frnForward(a) {
      const fn = 'frnForward';
      const { N, C, S } = a;
      sizes(fn, { N, C, S });
      need(fn, 'x', a.x, N * C * S);
      need(fn, 'y', a.y, N * C * S);
      for (const [k, s] of [['gamma', a.gamma], ['beta', a.beta], ['tau', a.tau]] as const) need(fn, k, s, C);
      need(fn, 'rstd', a.rstd, N * C);
      if (N * C === 0) return;
      rt.run(FRN_FORWARD, [a.x, a.gamma, a.beta, a.tau, a.y, a.rstd], { rows: N * C, C, S, hasTau: a.tau !== null, eps: a.eps }, rowGrid(N * C));
    },
    frnBackward(a) {
      const fn = 'frnBackward';
      const { N, C, S } = a;
      sizes(fn, { N, C, S });
      need(fn, 'x', a.x, N * C * S);
      need(fn, 'dy', a.dy, N * C * S);
      need(fn, 'dx', a.dx, N * C * S);
      need(fn, 'rstd', a.rstd, N * C);
      for (const [k, s] of [['gamma', a.gamma], ['beta', a.beta], ['tau', a.tau], ['dgamma', a.dgamma], ['dbeta', a.dbeta], ['dtau', a.dtau]] as const) need(fn, k, s, C);
      if (N * C === 0) return;
      if (a.dgamma !== null || a.dbeta !== null || a.dtau !== null) {
        const part = rowSums(N * C, [a.x, a.dy, null, a.rstd, a.gamma, a.beta, a.tau], { C, S, mode: 1, flag: a.tau !== null, Cg: 1, G: 1, eps: 0 });
        totals(part, N, C, [[a.dgamma, 0], [a.dbeta, 1], [a.tau === null ? null : a.dtau, 2]]);
        rt.release(part);
        if (a.tau === null && a.dtau !== null) rt.clear(gpuStorage(a.dtau, fn));
      }
      if (a.dx !== null) rt.run(FRN_DX, [a.x, a.dy, a.rstd, a.gamma, a.beta, a.tau, a.dx], { rows: N * C, C, S, hasTau: a.tau !== null }, rowGrid(N * C));
    },
    evoNormS0Forward(a) {
      const fn = 'evoNormS0Forward';
      const { N, G, Cg, S } = a;
      sizes(fn, { N, G, Cg, S });
      const C = G * Cg;
      need(fn, 'x', a.x, N * C * S);
      need(fn, 'y', a.y, N * C * S);
      for (const [k, s] of [['v', a.v], ['w', a.w], ['b', a.b]] as const) need(fn, k, s, C);
      need(fn, 'mean', a.mean, N * G);
      need(fn, 'rstd', a.rstd, N * G);
      if (N * G === 0 || Cg * S === 0) return;
      rt.run(S0_FORWARD, [a.x, a.v, a.w, a.b, a.y, a.mean, a.rstd], { NG: N * G, G, Cg, S, eps: a.eps }, rowGrid(N * G));
    },
    evoNormS0Backward(a) {
      const fn = 'evoNormS0Backward';
      const { N, G, Cg, S } = a;
      sizes(fn, { N, G, Cg, S });
      const C = G * Cg;
      need(fn, 'x', a.x, N * C * S);
      need(fn, 'dy', a.dy, N * C * S);
      need(fn, 'dx', a.dx, N * C * S);
      for (const [k, s] of [['v', a.v], ['w', a.w], ['dv', a.dv], ['dw', a.dw], ['db', a.db]] as const) need(fn, k, s, C);
      need(fn, 'mean', a.mean, N * G);
      need(fn, 'rstd', a.rstd, N * G);
      if (C === 0) return;
      if (a.dv !== null || a.dw !== null || a.db !== null) {
        const part = rowSums(N * C, [a.x, a.dy, a.mean, a.rstd, a.v, a.w, null], { C, S, mode: 2, flag: 0, Cg, G, eps: 0 });
        totals(part, N, C, [[a.dv, 0], [a.dw, 1], [a.db, 2]]);
        rt.release(part);
      }
      if (a.dx !== null && N * G > 0 && Cg * S > 0) rt.run(S0_DX, [a.x, a.dy, a.v, a.w, a.mean, a.rstd, a.dx], { NG: N * G, G, Cg, S }, rowGrid(N * G));
    },
    evoNormB0Forward(a) {
      const fn = 'evoNormB0Forward';
      const { N, C, S } = a;
      sizes(fn, { N, C, S });
      need(fn, 'x', a.x, N * C * S);
      need(fn, 'y', a.y, N * C * S);
      for (const [k, s] of [['variance', a.variance], ['v', a.v], ['w', a.w], ['b', a.b]] as const) need(fn, k, s, C);
      need(fn, 'mean', a.mean, N * C);
      need(fn, 'sd', a.sd, N * C);
      if (N * C === 0) return;
      rt.run(B0_FORWARD, [a.x, a.variance, a.v, a.w, a.b, a.y, a.mean, a.sd], { rows: N * C, C, S, eps: a.eps }, rowGrid(N * C));
    },
    evoNormB0Backward(a) {
      const fn = 'evoNormB0Backward';
      const { N, C, S } = a;
      sizes(fn, { N, C, S });
      need(fn, 'x', a.x, N * C * S);
      need(fn, 'dy', a.dy, N * C * S);
      need(fn, 'dx', a.dx, N * C * S);
      for (const [k, s] of [['variance', a.variance], ['v', a.v], ['w', a.w], ['batchMean', a.batchMean], ['dv', a.dv], ['dw', a.dw], ['db', a.db]] as const) need(fn, k, s, C);
      need(fn, 'mean', a.mean, N * C);
      need(fn, 'sd', a.sd, N * C);
      if (N * C === 0) return;
      const part = rowSums(N * C, [a.x, a.dy, null, a.sd, a.v, a.w, a.variance], { C, S, mode: 3, flag: 0, Cg: 1, G: 1, eps: a.eps });
      totals(part, N, C, [[a.dv, 2], [a.dw, 3], [a.db, 4]]);
      if (a.dx !== null) {
        const training = a.batchMean !== null;
        const kB = training ? rt.allocate(C, 'float32') : null;
        if (kB !== null) rt.run(B0_KB, [part, a.variance, kB], { N, C, S, eps: a.eps }, grid1d(C, 64));
        rt.run(B0_DX, [a.x, a.dy, a.variance, a.v, a.w, a.mean, a.sd, part, a.batchMean, kB, a.dx], { n: N * C * S, C, S, training, eps: a.eps }, grid1d(N * C * S, WG));
        if (kB !== null) rt.release(kB);
      }
      rt.release(part);
    },
    localResponseNormForward(a) {
      const fn = 'localResponseNormForward';
      const p = lrnParams(fn, a);
      need(fn, 'x', a.x, a.N * a.C * a.S);
      need(fn, 'y', a.y, a.N * a.C * a.S);
      if (p.n === 0) return;
      rt.run(LRN_FORWARD, [a.x, a.y], p, grid1d(p.n as number, WG));
    },
    localResponseNormBackward(a) {
      const fn = 'localResponseNormBackward';
      const p = lrnParams(fn, a);
      need(fn, 'x', a.x, a.N * a.C * a.S);
      need(fn, 'dy', a.dy, a.N * a.C * a.S);
      need(fn, 'dx', a.dx, a.N * a.C * a.S);
      if (p.n === 0) return;
      rt.run(LRN_BACKWARD, [a.x, a.dy, a.dx], p, grid1d(p.n as number, WG));
    },
  };
}
