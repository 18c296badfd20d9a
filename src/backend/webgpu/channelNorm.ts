// WebGPU kernels of the batch-independent and per-position norms (WGSL): channelNorm (RMSNorm,
// LayerNorm2d), FilterResponseNorm, EvoNorm B0/S0 and LocalResponseNorm, implementing those
// entries of NormKernels (kernels/norm.ts) with the CPU's formulas (native/kernels/channel_norm.cc,
// native/kernels/local_response_norm.cc).
//
// Layout of the work:
// - Per-position norms (channelNorm): workgroups of 32 positions x 8 channel lanes; each lane sums
//   every 8th channel of its position, then a shared-memory tree over the 8 lanes. Neighbouring
//   invocations read neighbouring positions of one channel row (coalesced).
// - Per-row norms (FRN and EvoNorm-B0 rows (n, c) of S values, EvoNorm-S0 groups (n, g) of Cg * S
//   values, the channel-norm parameter sums per row): `lanes` invocations per row (the row length
//   rounded up to a power of two, at most 256), 256 / lanes rows per workgroup, segmented
//   shared-memory trees on vec4 (up to four sums at once). Mean and variance are two-pass:
//   mu = sum(x) / M, then var = sum((x - mu)^2) / M.
// - Per-channel gradients (dgamma, dbeta, dv, ...) are summed per row into a partials buffer laid
//   out [K, C, J] (J sums per channel), then FINISH sums each channel's K partials with a tree of
//   64 invocations. Every sum has a fixed order: results do not depend on timing (no atomics).
// - LocalResponseNorm: one invocation per value, the window sum taken directly over its (at most
//   min(size, C)) channels; the CPU slides a double-precision window instead, which f32 could not
//   do without cancellation. The backward writes t = dy x p / s to a temporary, then subtracts
//   each value's window sum of t.
import type { NormKernels } from '../kernels/norm.js';
import type { Storage } from '../storage.js';
import { grid1d, type GpuRuntime, type Grid, type KernelSpec, type ParamDecl } from './runtime.js';
import { gpuStorage } from './storage.js';
import { checkSize, f32in, f32out, gridOf, optionalAtLeast, storageAtLeast } from './checks.js';
import { SIGMOID } from './wgsl.js';

type ChannelNormKernels = Pick<NormKernels, 'channelNormForward' | 'channelNormBackward' | 'frnForward' | 'frnBackward' |
  'evoNormS0Forward' | 'evoNormS0Backward' | 'evoNormB0Forward' | 'evoNormB0Backward' | 'localResponseNormForward' | 'localResponseNormBackward'>;

const WG = 256;
/** Positions per channel-norm workgroup and channel lanes per position (POS * CL = WG). */
const POS = 32;
const CL = 8;
/** Invocations per channel in FINISH. */
const FIN = 64;

const u = (name: string): ParamDecl => ({ name, type: 'u32' });
const f = (name: string): ParamDecl => ({ name, type: 'f32' });

/**
 * Row-kernel helpers: row_setup() gives this invocation's row (lane = lidx % lanes) and
 * seg_sum(v) the sum of v over the lanes of the row, returned to every lane. Both must be
 * reached by every invocation of the workgroup (uniform control flow).
 */
const ROW_SCOPE = `
var<workgroup> red: array<vec4<f32>, ${WG}>;
var<private> li: u32;
var<private> lane: u32;
fn row_setup(lidx: u32, wid: vec3u, nwg: vec3u) -> u32 {
  li = lidx;
  lane = lidx % P.lanes;
  return (wid.x + wid.y * nwg.x) * (${WG}u / P.lanes) + lidx / P.lanes;
}
fn seg_sum(v: vec4<f32>) -> vec4<f32> {
  red[li] = v;
  workgroupBarrier();
  for (var h = ${WG / 2}u; h > 0u; h = h >> 1u) {
    if (h < P.lanes && lane < h) { red[li] = red[li] + red[li + h]; }
    workgroupBarrier();
  }
  let s = red[li - lane];
  workgroupBarrier();
  return s;
}
${SIGMOID}
// d max(z, t) / dz as torch.maximum: 1 where z > t, 1/2 at a tie, else 0.
fn max_share(z: f32, t: f32) -> f32 { return select(select(0.0, 0.5, z == t), 1.0, z > t); }`;

const rowParams = (...more: ParamDecl[]): ParamDecl[] => [u('lanes'), u('rows'), ...more];

/** Shared memory and the tree over the CL channel lanes of a position (workgroup [POS, CL]). */
const POS_SCOPE = `
var<workgroup> red: array<f32, ${WG}>;
fn lane_sum(v: f32, lidx: u32, lx: u32) -> f32 {
  red[lidx] = v;
  workgroupBarrier();
  for (var h = ${CL / 2}u; h > 0u; h = h >> 1u) {
    if (lidx < h * ${POS}u) { red[lidx] = red[lidx] + red[lidx + h * ${POS}u]; }
    workgroupBarrier();
  }
  let s = red[lx];
  workgroupBarrier();
  return s;
}`;

/**
 * Channel norm forward per position p = (n, s) over its C values (x[n C S + c S + s]):
 * mu = center ? sum(x) / C : 0, r = 1 / sqrt(sum((x - mu)^2) / C + eps), y = (x - mu) r g[c] + b[c].
 */
const CN_FORWARD: KernelSpec = {
  name: 'channelNormForward',
  storages: [f32in('x'), f32in('gamma', true), f32in('beta', true), f32out('y'), f32out('mean', true), f32out('invstd')],
  params: [u('NS'), u('S'), u('C'), f('eps'), f('invC'), u('center'), u('hasGamma'), u('hasBeta'), u('hasMean')],
  workgroupSize: [POS, CL],
  moduleScope: POS_SCOPE,
  body: `
  let p = (wid.x + wid.y * nwg.x) * ${POS}u + lid.x;
  let live = p < P.NS;
  var base = 0u;
  if (live) { let n = p / P.S; base = n * P.C * P.S + (p - n * P.S); }
  var s = 0.0;
  if (live && P.center != 0u) { for (var c = lid.y; c < P.C; c += ${CL}u) { s += x[P.x_off + base + c * P.S]; } }
  let mu = lane_sum(s, lidx, lid.x) * P.invC;
  var q = 0.0;
  if (live) { for (var c = lid.y; c < P.C; c += ${CL}u) { let d = x[P.x_off + base + c * P.S] - mu; q += d * d; } }
  let r = 1.0 / sqrt(lane_sum(q, lidx, lid.x) / f32(P.C) + P.eps);
  if (!live) { return; }
  for (var c = lid.y; c < P.C; c += ${CL}u) {
    var g = 1.0;
    if (P.hasGamma != 0u) { g = gamma[P.gamma_off + c]; }
    var b = 0.0;
    if (P.hasBeta != 0u) { b = beta[P.beta_off + c]; }
    y[P.y_off + base + c * P.S] = (x[P.x_off + base + c * P.S] - mu) * r * g + b;
  }
  if (lid.y == 0u) {
    invstd[P.invstd_off + p] = r;
    if (P.hasMean != 0u) { mean[P.mean_off + p] = mu; }
  }`,
};

/**
 * Channel norm input gradient per position (gdy = g[c] dy, xh = (x - mu) r):
 * dx = r (gdy - [center] sum(gdy) / C - xh sum(gdy xh) / C).
 */
const CN_DX: KernelSpec = {
  name: 'channelNormBackwardDx',
  storages: [f32in('x'), f32in('dy'), f32in('mean', true), f32in('invstd'), f32in('gamma', true), f32out('dx')],
  params: [u('NS'), u('S'), u('C'), f('invC'), u('center'), u('hasGamma')],
  workgroupSize: [POS, CL],
  moduleScope: POS_SCOPE,
  body: `
  let p = (wid.x + wid.y * nwg.x) * ${POS}u + lid.x;
  let live = p < P.NS;
  var base = 0u;
  var mu = 0.0;
  var r = 0.0;
  if (live) {
    let n = p / P.S;
    base = n * P.C * P.S + (p - n * P.S);
    if (P.center != 0u) { mu = mean[P.mean_off + p]; }
    r = invstd[P.invstd_off + p];
  }
  var sa = 0.0;
  var sb = 0.0;
  if (live) {
    for (var c = lid.y; c < P.C; c += ${CL}u) {
      var g = 1.0;
      if (P.hasGamma != 0u) { g = gamma[P.gamma_off + c]; }
      let i = base + c * P.S;
      let gd = g * dy[P.dy_off + i];
      sa += gd;
      sb += gd * (x[P.x_off + i] - mu) * r;
    }
  }
  sa = lane_sum(sa, lidx, lid.x) * P.invC;
  sb = lane_sum(sb, lidx, lid.x) * P.invC;
  if (P.center == 0u) { sa = 0.0; }
  if (!live) { return; }
  for (var c = lid.y; c < P.C; c += ${CL}u) {
    var g = 1.0;
    if (P.hasGamma != 0u) { g = gamma[P.gamma_off + c]; }
    let i = base + c * P.S;
    let xh = (x[P.x_off + i] - mu) * r;
    dx[P.dx_off + i] = r * (g * dy[P.dy_off + i] - sa - xh * sb);
  }`,
};

/** Channel norm parameter partials per row (n, c) over its S positions: part = [sum dy xh, sum dy]. */
const CN_ROWS: KernelSpec = {
  name: 'channelNormBackwardRows',
  storages: [f32in('x'), f32in('dy'), f32in('mean', true), f32in('invstd'), f32out('part')],
  params: rowParams(u('S'), u('C'), u('center')),
  workgroupSize: [WG],
  moduleScope: ROW_SCOPE,
  body: `
  let row = row_setup(lidx, wid, nwg);
  let live = row < P.rows;
  var acc = vec4<f32>(0.0);
  if (live) {
    let ps = (row / P.C) * P.S;
    for (var i = lane; i < P.S; i += P.lanes) {
      var mu = 0.0;
      if (P.center != 0u) { mu = mean[P.mean_off + ps + i]; }
      let d = dy[P.dy_off + row * P.S + i];
      let xh = (x[P.x_off + row * P.S + i] - mu) * invstd[P.invstd_off + ps + i];
      acc += vec4<f32>(d * xh, d, 0.0, 0.0);
    }
  }
  acc = seg_sum(acc);
  if (live && lane == 0u) {
    part[P.part_off + row * 2u] = acc.x;
    part[P.part_off + row * 2u + 1u] = acc.y;
  }`,
};

/**
 * Per-channel totals: out_j[c] = sum over k < K of part[(k C + c) J + j] for j < J (J <= 4), into
 * o0..o3 where present (bit j of mask) and into tot[c J + j] when hasTot.
 */
const FINISH: KernelSpec = {
  name: 'channelTotals',
  storages: [f32in('part'), f32out('o0', true), f32out('o1', true), f32out('o2', true), f32out('o3', true), f32out('tot', true)],
  params: [u('K'), u('C'), u('J'), u('mask'), u('hasTot')],
  workgroupSize: [FIN],
  moduleScope: `var<workgroup> red: array<vec4<f32>, ${FIN}>;`,
  body: `
  let c = wid.x + wid.y * nwg.x;
  let live = c < P.C;
  var s = vec4<f32>(0.0);
  if (live) {
    for (var k = lidx; k < P.K; k += ${FIN}u) {
      let b = P.part_off + (k * P.C + c) * P.J;
      for (var j = 0u; j < P.J; j++) { s[j] += part[b + j]; }
    }
  }
  red[lidx] = s;
  workgroupBarrier();
  for (var h = ${FIN / 2}u; h > 0u; h = h >> 1u) {
    if (lidx < h) { red[lidx] = red[lidx] + red[lidx + h]; }
    workgroupBarrier();
  }
  if (!live || lidx != 0u) { return; }
  let t = red[0];
  if ((P.mask & 1u) != 0u) { o0[P.o0_off + c] = t.x; }
  if ((P.mask & 2u) != 0u) { o1[P.o1_off + c] = t.y; }
  if ((P.mask & 4u) != 0u) { o2[P.o2_off + c] = t.z; }
  if ((P.mask & 8u) != 0u) { o3[P.o3_off + c] = t.w; }
  if (P.hasTot != 0u) { for (var j = 0u; j < P.J; j++) { tot[P.tot_off + c * P.J + j] = t[j]; } }`,
};

/**
 * FRN + TLU per row (n, c): r = 1 / sqrt(mean(x^2) + eps), z = x r gamma[c] + beta[c],
 * y = max(z, tau[c]) with a tau (z > tau ? z : tau), else z.
 */
const FRN_FORWARD: KernelSpec = {
  name: 'frnForward',
  storages: [f32in('x'), f32in('gamma'), f32in('beta'), f32in('tau', true), f32out('y'), f32out('rstd')],
  params: rowParams(u('S'), u('C'), f('eps'), u('hasTau')),
  workgroupSize: [WG],
  moduleScope: ROW_SCOPE,
  body: `
  let row = row_setup(lidx, wid, nwg);
  let live = row < P.rows;
  let off = row * P.S;
  var q = 0.0;
  if (live) { for (var i = lane; i < P.S; i += P.lanes) { let v = x[P.x_off + off + i]; q += v * v; } }
  q = seg_sum(vec4<f32>(q, 0.0, 0.0, 0.0)).x;
  if (!live) { return; }
  let c = row % P.C;
  let r = 1.0 / sqrt(q / f32(P.S) + P.eps);
  if (lane == 0u) { rstd[P.rstd_off + row] = r; }
  let a = r * gamma[P.gamma_off + c];
  let b = beta[P.beta_off + c];
  var t = 0.0;
  if (P.hasTau != 0u) { t = tau[P.tau_off + c]; }
  for (var i = lane; i < P.S; i += P.lanes) {
    var z = x[P.x_off + off + i] * a + b;
    if (P.hasTau != 0u) { z = select(t, z, z > t); }
    y[P.y_off + off + i] = z;
  }`,
};

/**
 * FRN + TLU backward per row: dz = dy share(z, tau), sums qx = sum(dz x), qz = sum(dz),
 * qt = sum(dy - dz); dx = a (dz - x r^2 qx / S) with a = r gamma[c]; part = [r qx, qz, qt].
 */
const FRN_BACKWARD: KernelSpec = {
  name: 'frnBackward',
  storages: [f32in('x'), f32in('dy'), f32in('rstd'), f32in('gamma'), f32in('beta'), f32in('tau', true), f32out('dx', true), f32out('part')],
  params: rowParams(u('S'), u('C'), u('hasTau'), u('hasDx')),
  workgroupSize: [WG],
  moduleScope: ROW_SCOPE,
  body: `
  let row = row_setup(lidx, wid, nwg);
  let live = row < P.rows;
  let off = row * P.S;
  var r = 0.0;
  var a = 0.0;
  var b = 0.0;
  var t = 0.0;
  var acc = vec4<f32>(0.0);
  if (live) {
    let c = row % P.C;
    r = rstd[P.rstd_off + row];
    a = r * gamma[P.gamma_off + c];
    b = beta[P.beta_off + c];
    if (P.hasTau != 0u) { t = tau[P.tau_off + c]; }
    for (var i = lane; i < P.S; i += P.lanes) {
      let xv = x[P.x_off + off + i];
      let d = dy[P.dy_off + off + i];
      var w = 1.0;
      if (P.hasTau != 0u) { w = max_share(xv * a + b, t); }
      let dz = d * w;
      acc += vec4<f32>(dz * xv, dz, d - dz, 0.0);
    }
  }
  acc = seg_sum(acc);
  if (!live) { return; }
  if (lane == 0u) {
    part[P.part_off + row * 3u] = r * acc.x;
    part[P.part_off + row * 3u + 1u] = acc.y;
    part[P.part_off + row * 3u + 2u] = acc.z;
  }
  if (P.hasDx == 0u) { return; }
  let k = r * r * acc.x / f32(P.S);
  for (var i = lane; i < P.S; i += P.lanes) {
    let xv = x[P.x_off + off + i];
    var w = 1.0;
    if (P.hasTau != 0u) { w = max_share(xv * a + b, t); }
    dx[P.dx_off + off + i] = a * (dy[P.dy_off + off + i] * w - xv * k);
  }`,
};

/**
 * EvoNorm-S0 forward per group (n, g) of M = Cg S values (channel c = g Cg + i / S):
 * rs = 1 / sqrt(var + eps), y = x sigmoid(v[c] x) rs w[c] + b[c].
 */
const S0_FORWARD: KernelSpec = {
  name: 'evoNormS0Forward',
  storages: [f32in('x'), f32in('v'), f32in('w'), f32in('b'), f32out('y'), f32out('mean'), f32out('rstd')],
  params: rowParams(u('M'), u('S'), u('Cg'), u('G'), f('eps')),
  workgroupSize: [WG],
  moduleScope: ROW_SCOPE,
  body: `
  let row = row_setup(lidx, wid, nwg);
  let live = row < P.rows;
  let off = P.x_off + row * P.M;
  var s = 0.0;
  if (live) { for (var i = lane; i < P.M; i += P.lanes) { s += x[off + i]; } }
  let mu = seg_sum(vec4<f32>(s, 0.0, 0.0, 0.0)).x / f32(P.M);
  var q = 0.0;
  if (live) { for (var i = lane; i < P.M; i += P.lanes) { let d = x[off + i] - mu; q += d * d; } }
  q = seg_sum(vec4<f32>(q, 0.0, 0.0, 0.0)).x;
  if (!live) { return; }
  let rs = 1.0 / sqrt(q / f32(P.M) + P.eps);
  if (lane == 0u) {
    mean[P.mean_off + row] = mu;
    rstd[P.rstd_off + row] = rs;
  }
  let c0 = (row % P.G) * P.Cg;
  for (var i = lane; i < P.M; i += P.lanes) {
    let c = c0 + i / P.S;
    let xv = x[off + i];
    y[P.y_off + row * P.M + i] = xv * sigmoid(v[P.v_off + c] * xv) * (rs * w[P.w_off + c]) + b[P.b_off + c];
  }`,
};

/**
 * EvoNorm-S0 backward sums per row (n, c) of S values (sg = sigmoid(v x), rs of the row's group):
 * du = sum(dy x sg), dvs = sum(dy x^2 sg (1 - sg)), db = sum(dy);
 * part = [w rs dvs, rs du, db, w du] (the last summed over the group gives A).
 */
const S0_ROWS: KernelSpec = {
  name: 'evoNormS0BackwardRows',
  storages: [f32in('x'), f32in('dy'), f32in('v'), f32in('w'), f32in('rstd'), f32out('part')],
  params: rowParams(u('S'), u('C'), u('Cg'), u('G')),
  workgroupSize: [WG],
  moduleScope: ROW_SCOPE,
  body: `
  let row = row_setup(lidx, wid, nwg);
  let live = row < P.rows;
  var acc = vec4<f32>(0.0);
  var vc = 0.0;
  if (live) {
    vc = v[P.v_off + row % P.C];
    for (var i = lane; i < P.S; i += P.lanes) {
      let xv = x[P.x_off + row * P.S + i];
      let d = dy[P.dy_off + row * P.S + i];
      let sg = sigmoid(vc * xv);
      acc += vec4<f32>(d * xv * sg, d * xv * xv * sg * (1.0 - sg), d, 0.0);
    }
  }
  acc = seg_sum(acc);
  if (!live || lane != 0u) { return; }
  let c = row % P.C;
  let n = row / P.C;
  let rs = rstd[P.rstd_off + n * P.G + c / P.Cg];
  let wc = w[P.w_off + c];
  part[P.part_off + row * 4u] = wc * rs * acc.y;
  part[P.part_off + row * 4u + 1u] = rs * acc.x;
  part[P.part_off + row * 4u + 2u] = acc.z;
  part[P.part_off + row * 4u + 3u] = wc * acc.x;`,
};

/** kvar[n G + g] = rs^3 A / M, A = sum over the group's channels of part[.. + 3] (channel order). */
const S0_KVAR: KernelSpec = {
  name: 'evoNormS0BackwardKvar',
  storages: [f32in('part'), f32in('rstd'), f32out('kvar')],
  params: [u('NG'), u('C'), u('Cg'), u('G'), u('M')],
  workgroupSize: [64],
  body: `
  let i = linear_id(gid, nwg);
  if (i >= P.NG) { return; }
  let first = (i / P.G) * P.C + (i % P.G) * P.Cg;
  var A = 0.0;
  for (var k = 0u; k < P.Cg; k++) { A += part[P.part_off + (first + k) * 4u + 3u]; }
  let rs = rstd[P.rstd_off + i];
  kvar[P.kvar_off + i] = rs * rs * rs * A / f32(P.M);`,
};

/** EvoNorm-S0 dx = dy w rs (sg + v x sg (1 - sg)) - kvar (x - mean), one invocation per value. */
const S0_DX: KernelSpec = {
  name: 'evoNormS0BackwardDx',
  storages: [f32in('x'), f32in('dy'), f32in('v'), f32in('w'), f32in('mean'), f32in('rstd'), f32in('kvar'), f32out('dx')],
  params: [u('n'), u('S'), u('C'), u('Cg'), u('G')],
  workgroupSize: [WG],
  moduleScope: SIGMOID,
  body: `
  let i = linear_id(gid, nwg);
  if (i >= P.n) { return; }
  let row = i / P.S;
  let c = row % P.C;
  let ng = (row / P.C) * P.G + c / P.Cg;
  let xv = x[P.x_off + i];
  let vc = v[P.v_off + c];
  let sg = sigmoid(vc * xv);
  let fac = sg + vc * xv * sg * (1.0 - sg);
  let a = w[P.w_off + c] * rstd[P.rstd_off + ng];
  dx[P.dx_off + i] = dy[P.dy_off + i] * a * fac - kvar[P.kvar_off + ng] * (xv - mean[P.mean_off + ng]);`,
};

/** EvoNorm-B0's batch term left[c] = sqrt(variance[c] + eps), in f32 (the CPU adapter rounds a double square root). */
const B0_SCOPE = `
fn b0_left(variance: f32) -> f32 { return sqrt(variance + P.eps); }`;

/**
 * EvoNorm-B0 forward per row (n, c): sd = sqrt(var + eps) (biased, two-pass),
 * left = sqrt(variance[c] + eps), y = x / max(left, v x + sd) w[c] + b[c].
 */
const B0_FORWARD: KernelSpec = {
  name: 'evoNormB0Forward',
  storages: [f32in('x'), f32in('variance'), f32in('v'), f32in('w'), f32in('b'), f32out('y'), f32out('mean'), f32out('sd')],
  params: rowParams(u('S'), u('C'), f('eps')),
  workgroupSize: [WG],
  moduleScope: ROW_SCOPE + B0_SCOPE,
  body: `
  let row = row_setup(lidx, wid, nwg);
  let live = row < P.rows;
  let off = row * P.S;
  var s = 0.0;
  if (live) { for (var i = lane; i < P.S; i += P.lanes) { s += x[P.x_off + off + i]; } }
  let mu = seg_sum(vec4<f32>(s, 0.0, 0.0, 0.0)).x / f32(P.S);
  var q = 0.0;
  if (live) { for (var i = lane; i < P.S; i += P.lanes) { let d = x[P.x_off + off + i] - mu; q += d * d; } }
  q = seg_sum(vec4<f32>(q, 0.0, 0.0, 0.0)).x;
  if (!live) { return; }
  let sdv = sqrt(q / f32(P.S) + P.eps);
  if (lane == 0u) {
    mean[P.mean_off + row] = mu;
    sd[P.sd_off + row] = sdv;
  }
  let c = row % P.C;
  let left = b0_left(variance[P.variance_off + c]);
  let vc = v[P.v_off + c];
  let wc = w[P.w_off + c];
  let bc = b[P.b_off + c];
  for (var i = lane; i < P.S; i += P.lanes) {
    let xv = x[P.x_off + off + i];
    let r = vc * xv + sdv;
    y[P.y_off + off + i] = xv / select(left, r, r > left) * wc + bc;
  }`,
};

/**
 * EvoNorm-B0 backward sums per row (r = v x + sd, den = max(r, left), q = x / den,
 * dden = -(dy w) q / den, toR = share(r, left)): part = [sum dden (1 - toR), sum dden toR x,
 * sum dy q, sum dy]; ki[row] = sum(dden toR) / sd / S. fused (eval): dx here, as
 * dq / den + dden toR v + ki (x - mean).
 */
const B0_ROWS: KernelSpec = {
  name: 'evoNormB0BackwardRows',
  storages: [f32in('x'), f32in('dy'), f32in('variance'), f32in('v'), f32in('w'), f32in('mean'), f32in('sd'), f32out('dx', true), f32out('part'), f32out('ki', true)],
  params: rowParams(u('S'), u('C'), f('eps'), u('fused'), u('hasKi')),
  workgroupSize: [WG],
  moduleScope: ROW_SCOPE + B0_SCOPE,
  body: `
  let row = row_setup(lidx, wid, nwg);
  let live = row < P.rows;
  let off = row * P.S;
  var left = 0.0;
  var vc = 0.0;
  var wc = 0.0;
  var sdv = 0.0;
  var acc = vec4<f32>(0.0);
  var dr = 0.0;
  if (live) {
    let c = row % P.C;
    left = b0_left(variance[P.variance_off + c]);
    vc = v[P.v_off + c];
    wc = w[P.w_off + c];
    sdv = sd[P.sd_off + row];
    for (var i = lane; i < P.S; i += P.lanes) {
      let xv = x[P.x_off + off + i];
      let d = dy[P.dy_off + off + i];
      let r = vc * xv + sdv;
      let den = select(left, r, r > left);
      let q = xv / den;
      let dden = -(d * wc) * q / den;
      let toR = max_share(r, left);
      acc += vec4<f32>(dden * (1.0 - toR), dden * toR * xv, d * q, d);
      dr += dden * toR;
    }
  }
  acc = seg_sum(acc);
  dr = seg_sum(vec4<f32>(dr, 0.0, 0.0, 0.0)).x;
  if (!live) { return; }
  let kI = dr / sdv / f32(P.S);
  if (lane == 0u) {
    part[P.part_off + row * 4u] = acc.x;
    part[P.part_off + row * 4u + 1u] = acc.y;
    part[P.part_off + row * 4u + 2u] = acc.z;
    part[P.part_off + row * 4u + 3u] = acc.w;
    if (P.hasKi != 0u) { ki[P.ki_off + row] = kI; }
  }
  if (P.fused == 0u) { return; }
  let mu = mean[P.mean_off + row];
  for (var i = lane; i < P.S; i += P.lanes) {
    let xv = x[P.x_off + off + i];
    let r = vc * xv + sdv;
    let den = select(left, r, r > left);
    let dq = dy[P.dy_off + off + i] * wc;
    let dden = -dq * xv / (den * den);
    dx[P.dx_off + off + i] = dq / den + dden * max_share(r, left) * vc + kI * (xv - mu);
  }`,
};

/**
 * EvoNorm-B0 training dx, one invocation per value: the fused form plus the batch variance's
 * share kB (x - muB[c]), kB = dleft[c] / left[c] / (N S) (dleft: tot[4 c]).
 */
const B0_DX: KernelSpec = {
  name: 'evoNormB0BackwardDx',
  storages: [f32in('x'), f32in('dy'), f32in('variance'), f32in('v'), f32in('w'), f32in('mean'), f32in('sd'), f32in('ki'), f32in('muB'), f32in('tot'), f32out('dx')],
  params: [u('n'), u('S'), u('C'), f('NS'), f('eps')],
  workgroupSize: [WG],
  moduleScope: `${B0_SCOPE}
fn max_share(z: f32, t: f32) -> f32 { return select(select(0.0, 0.5, z == t), 1.0, z > t); }`,
  body: `
  let i = linear_id(gid, nwg);
  if (i >= P.n) { return; }
  let row = i / P.S;
  let c = row % P.C;
  let left = b0_left(variance[P.variance_off + c]);
  let vc = v[P.v_off + c];
  let xv = x[P.x_off + i];
  let r = vc * xv + sd[P.sd_off + row];
  let den = select(left, r, r > left);
  let dq = dy[P.dy_off + i] * w[P.w_off + c];
  let dden = -dq * xv / (den * den);
  let kB = tot[P.tot_off + c * 4u] / left / P.NS;
  dx[P.dx_off + i] = dq / den + dden * max_share(r, left) * vc + ki[P.ki_off + row] * (xv - mean[P.mean_off + row]) + kB * (xv - muB[P.muB_off + c]);`,
};

/**
 * LRN helpers: the window sum of squares s = k + an * sum x_{c'}^2 over c' in
 * [c - before, c + after] within [0, C), and s^(-beta) with powf's values at s <= 0.
 */
const LRN_SCOPE = `
fn window_s(base: u32, c: u32) -> f32 {
  let lo = u32(max(i32(c) - i32(P.before), 0));
  let hi = min(c + P.after, P.C - 1u);
  var acc = 0.0;
  for (var j = lo; j <= hi; j++) { let v = x[P.x_off + base + j * P.S]; acc += v * v; }
  return P.k + P.an * acc;
}
fn inf_or_nan(sign: f32) -> f32 { var z = 0.0; return sign / z; }
fn pow_neg(s: f32) -> f32 {
  if (P.beta34 != 0u) { let r = sqrt(s); return 1.0 / (r * sqrt(r)); }
  if (s > 0.0) { return 1.0 / pow(s, P.beta); }
  if (s == 0.0) {
    if (P.beta > 0.0) { return inf_or_nan(1.0); }
    if (P.beta == 0.0) { return 1.0; }
    return 0.0;
  }
  if (s < 0.0 && P.beta == floor(P.beta)) {
    let m = 1.0 / pow(-s, P.beta);
    return select(m, -m, P.beta * 0.5 != floor(P.beta * 0.5));
  }
  return inf_or_nan(0.0);
}`;

const LRN_PARAMS = [u('n'), u('S'), u('C'), u('before'), u('after'), f('k'), f('an'), f('beta'), u('beta34')];

/** y = x s^(-beta), one invocation per value. */
const LRN_FORWARD: KernelSpec = {
  name: 'localResponseNormForward',
  storages: [f32in('x'), f32out('y')],
  params: LRN_PARAMS,
  workgroupSize: [WG],
  moduleScope: LRN_SCOPE,
  body: `
  let i = linear_id(gid, nwg);
  if (i >= P.n) { return; }
  let c = (i / P.S) % P.C;
  let base = i - c * P.S;
  y[P.y_off + i] = x[P.x_off + i] * pow_neg(window_s(base, c));`,
};

/** First LRN backward pass: dx = dy p and t = dy x p / s. */
const LRN_BACKWARD_T: KernelSpec = {
  name: 'localResponseNormBackwardT',
  storages: [f32in('x'), f32in('dy'), f32out('dx'), f32out('t')],
  params: LRN_PARAMS,
  workgroupSize: [WG],
  moduleScope: LRN_SCOPE,
  body: `
  let i = linear_id(gid, nwg);
  if (i >= P.n) { return; }
  let c = (i / P.S) % P.C;
  let s = window_s(i - c * P.S, c);
  let p = pow_neg(s);
  let d = dy[P.dy_off + i];
  dx[P.dx_off + i] = d * p;
  t[P.t_off + i] = d * x[P.x_off + i] * p / s;`,
};

/** Second LRN backward pass: dx_j -= coef x_j sum of t_c over c in [j - after, j + before]. */
const LRN_BACKWARD_DX: KernelSpec = {
  name: 'localResponseNormBackwardDx',
  storages: [f32in('x'), f32in('t'), f32out('dx')],
  params: [u('n'), u('S'), u('C'), u('before'), u('after'), f('coef')],
  workgroupSize: [WG],
  body: `
  let i = linear_id(gid, nwg);
  if (i >= P.n) { return; }
  let c = (i / P.S) % P.C;
  let base = i - c * P.S;
  let lo = u32(max(i32(c) - i32(P.after), 0));
  let hi = min(c + P.before, P.C - 1u);
  var acc = 0.0;
  for (var j = lo; j <= hi; j++) { acc += t[P.t_off + base + j * P.S]; }
  dx[P.dx_off + i] = dx[P.dx_off + i] - P.coef * x[P.x_off + i] * acc;`,
};

// ---- host side ----

/** Lanes per row of `len` values: the next power of two, 1 to WG. */
function lanesFor(len: number): number {
  let l = 1;
  while (l < len && l < WG) l *= 2;
  return l;
}

/** Grid and lanes of a row kernel over `rows` rows of `len` values. */
function rowLaunch(rows: number, len: number): { lanes: number; grid: Grid } {
  const lanes = lanesFor(len);
  return { lanes, grid: gridOf(Math.ceil(rows / (WG / lanes))) };
}

export function webgpuChannelNormKernels(rt: GpuRuntime): ChannelNormKernels {
  /** Per-channel totals of partials [K, C, J] into outs (null: skipped) and tot (C * J) if given. */
  const finish = (part: Storage, K: number, C: number, J: number, outs: (Storage | null)[], tot: Storage | null): void => {
    const o = [0, 1, 2, 3].map((j) => outs[j] ?? null);
    const mask = o.reduce((m, s, j) => (s === null ? m : m | (1 << j)), 0);
    if (C === 0 || (mask === 0 && tot === null)) return;
    const buffers = [...o, tot].filter((s): s is Storage => s !== null).map((s) => gpuStorage(s, 'channel totals').alloc.buffer);
    if (new Set(buffers).size === buffers.length) {
      rt.run(FINISH, [part, o[0], o[1], o[2], o[3], tot], { K, C, J, mask, hasTot: tot !== null }, gridOf(C));
      return;
    }
    // Outputs that are views of one buffer (one written binding each): one pass per output.
    o.forEach((s, j) => {
      if (s !== null) rt.run(FINISH, [part, j === 0 ? s : null, j === 1 ? s : null, j === 2 ? s : null, j === 3 ? s : null, null], { K, C, J, mask: 1 << j, hasTot: false }, gridOf(C));
    });
    if (tot !== null) rt.run(FINISH, [part, null, null, null, null, tot], { K, C, J, mask: 0, hasTot: true }, gridOf(C));
  };

  const lrnCheck = (fn: string, N: number, C: number, S: number, size: number): void => {
    checkSize(fn, 'N', N);
    checkSize(fn, 'C', C);
    checkSize(fn, 'S', S);
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`${fn}: size must be a positive window size, got ${size}`);
  };
  const lrnParams = (n: number, S: number, C: number, size: number, alpha: number, beta: number, k: number) => ({
    n, S, C, before: Math.floor(size / 2), after: Math.floor((size - 1) / 2), k, an: alpha / size, beta, beta34: Math.fround(beta) === 0.75,
  });

  return {
    channelNormForward(a) {
      const fn = 'channelNormForward';
      const { N, C, S } = a;
      checkSize(fn, 'N', N);
      checkSize(fn, 'C', C);
      checkSize(fn, 'S', S);
      storageAtLeast(fn, 'x', a.x, N * C * S);
      optionalAtLeast(fn, 'gamma', a.gamma, C);
      optionalAtLeast(fn, 'beta', a.beta, C);
      storageAtLeast(fn, 'y', a.y, N * C * S);
      optionalAtLeast(fn, 'mean', a.mean, N * S);
      storageAtLeast(fn, 'invstd', a.invstd, N * S);
      const NS = N * S;
      if (NS === 0) return;
      rt.run(CN_FORWARD, [a.x, a.gamma, a.beta, a.y, a.mean, a.invstd], {
        NS, S, C, eps: a.eps, invC: 1 / C, center: a.center, hasGamma: a.gamma !== null, hasBeta: a.beta !== null, hasMean: a.mean !== null,
      }, gridOf(Math.ceil(NS / POS)));
    },
    channelNormBackward(a) {
      const fn = 'channelNormBackward';
      const { N, C, S } = a;
      checkSize(fn, 'N', N);
      checkSize(fn, 'C', C);
      checkSize(fn, 'S', S);
      const total = N * C * S;
      storageAtLeast(fn, 'x', a.x, total);
      storageAtLeast(fn, 'dy', a.dy, total);
      optionalAtLeast(fn, 'mean', a.mean, N * S);
      if (a.center && a.mean === null) throw new TypeError(`${fn}: mean must be given when center is true`);
      storageAtLeast(fn, 'invstd', a.invstd, N * S);
      optionalAtLeast(fn, 'gamma', a.gamma, C);
      optionalAtLeast(fn, 'dx', a.dx, total);
      optionalAtLeast(fn, 'dgamma', a.dgamma, C);
      optionalAtLeast(fn, 'dbeta', a.dbeta, C);
      const mean = a.center ? a.mean : null;
      if (a.dx !== null && N * S > 0) {
        rt.run(CN_DX, [a.x, a.dy, mean, a.invstd, a.gamma, a.dx], {
          NS: N * S, S, C, invC: 1 / C, center: a.center, hasGamma: a.gamma !== null,
        }, gridOf(Math.ceil((N * S) / POS)));
      }
      if (a.dgamma === null && a.dbeta === null) return;
      const rows = N * C;
      const part = rt.allocate(rows * 2, 'float32');
      if (rows > 0) {
        const { lanes, grid } = rowLaunch(rows, S);
        rt.run(CN_ROWS, [a.x, a.dy, mean, a.invstd, part], { lanes, rows, S, C, center: a.center }, grid);
      }
      finish(part, N, C, 2, [a.dgamma, a.dbeta], null);
      rt.release(part);
    },
    frnForward(a) {
      const fn = 'frnForward';
      const { N, C, S } = a;
      checkSize(fn, 'N', N);
      checkSize(fn, 'C', C);
      checkSize(fn, 'S', S);
      storageAtLeast(fn, 'x', a.x, N * C * S);
      storageAtLeast(fn, 'gamma', a.gamma, C);
      storageAtLeast(fn, 'beta', a.beta, C);
      optionalAtLeast(fn, 'tau', a.tau, C);
      storageAtLeast(fn, 'y', a.y, N * C * S);
      storageAtLeast(fn, 'rstd', a.rstd, N * C);
      const rows = N * C;
      if (rows === 0) return;
      const { lanes, grid } = rowLaunch(rows, S);
      rt.run(FRN_FORWARD, [a.x, a.gamma, a.beta, a.tau, a.y, a.rstd], { lanes, rows, S, C, eps: a.eps, hasTau: a.tau !== null }, grid);
    },
    frnBackward(a) {
      const fn = 'frnBackward';
      const { N, C, S } = a;
      checkSize(fn, 'N', N);
      checkSize(fn, 'C', C);
      checkSize(fn, 'S', S);
      const total = N * C * S;
      storageAtLeast(fn, 'x', a.x, total);
      storageAtLeast(fn, 'dy', a.dy, total);
      storageAtLeast(fn, 'rstd', a.rstd, N * C);
      storageAtLeast(fn, 'gamma', a.gamma, C);
      storageAtLeast(fn, 'beta', a.beta, C);
      optionalAtLeast(fn, 'tau', a.tau, C);
      optionalAtLeast(fn, 'dx', a.dx, total);
      optionalAtLeast(fn, 'dgamma', a.dgamma, C);
      optionalAtLeast(fn, 'dbeta', a.dbeta, C);
      optionalAtLeast(fn, 'dtau', a.dtau, C);
      const rows = N * C;
      const part = rt.allocate(rows * 3, 'float32');
      if (rows > 0) {
        const { lanes, grid } = rowLaunch(rows, S);
        rt.run(FRN_BACKWARD, [a.x, a.dy, a.rstd, a.gamma, a.beta, a.tau, a.dx, part], {
          lanes, rows, S, C, hasTau: a.tau !== null, hasDx: a.dx !== null,
        }, grid);
      }
      finish(part, N, C, 3, [a.dgamma, a.dbeta, a.dtau], null);
      rt.release(part);
    },
    evoNormS0Forward(a) {
      const fn = 'evoNormS0Forward';
      const { N, G, Cg, S } = a;
      for (const [k, v] of [['N', N], ['G', G], ['Cg', Cg], ['S', S]] as const) checkSize(fn, k, v);
      const C = G * Cg;
      storageAtLeast(fn, 'x', a.x, N * C * S);
      storageAtLeast(fn, 'v', a.v, C);
      storageAtLeast(fn, 'w', a.w, C);
      storageAtLeast(fn, 'b', a.b, C);
      storageAtLeast(fn, 'y', a.y, N * C * S);
      storageAtLeast(fn, 'mean', a.mean, N * G);
      storageAtLeast(fn, 'rstd', a.rstd, N * G);
      const rows = N * G;
      if (rows === 0) return;
      const M = Cg * S;
      const { lanes, grid } = rowLaunch(rows, M);
      rt.run(S0_FORWARD, [a.x, a.v, a.w, a.b, a.y, a.mean, a.rstd], { lanes, rows, M, S, Cg, G, eps: a.eps }, grid);
    },
    evoNormS0Backward(a) {
      const fn = 'evoNormS0Backward';
      const { N, G, Cg, S } = a;
      for (const [k, v] of [['N', N], ['G', G], ['Cg', Cg], ['S', S]] as const) checkSize(fn, k, v);
      const C = G * Cg;
      const total = N * C * S;
      storageAtLeast(fn, 'x', a.x, total);
      storageAtLeast(fn, 'dy', a.dy, total);
      storageAtLeast(fn, 'v', a.v, C);
      storageAtLeast(fn, 'w', a.w, C);
      storageAtLeast(fn, 'mean', a.mean, N * G);
      storageAtLeast(fn, 'rstd', a.rstd, N * G);
      optionalAtLeast(fn, 'dx', a.dx, total);
      optionalAtLeast(fn, 'dv', a.dv, C);
      optionalAtLeast(fn, 'dw', a.dw, C);
      optionalAtLeast(fn, 'db', a.db, C);
      const rows = N * C;
      const part = rt.allocate(rows * 4, 'float32');
      if (rows > 0) {
        const { lanes, grid } = rowLaunch(rows, S);
        rt.run(S0_ROWS, [a.x, a.dy, a.v, a.w, a.rstd, part], { lanes, rows, S, C, Cg, G }, grid);
      }
      finish(part, N, C, 4, [a.dv, a.dw, a.db], null);
      if (a.dx !== null && total > 0) {
        const NG = N * G;
        const kvar = rt.allocate(NG, 'float32');
        rt.run(S0_KVAR, [part, a.rstd, kvar], { NG, C, Cg, G, M: Cg * S }, grid1d(NG, 64));
        rt.run(S0_DX, [a.x, a.dy, a.v, a.w, a.mean, a.rstd, kvar, a.dx], { n: total, S, C, Cg, G }, grid1d(total, WG));
        rt.release(kvar);
      }
      rt.release(part);
    },
    evoNormB0Forward(a) {
      const fn = 'evoNormB0Forward';
      const { N, C, S } = a;
      checkSize(fn, 'N', N);
      checkSize(fn, 'C', C);
      checkSize(fn, 'S', S);
      storageAtLeast(fn, 'x', a.x, N * C * S);
      storageAtLeast(fn, 'variance', a.variance, C);
      storageAtLeast(fn, 'v', a.v, C);
      storageAtLeast(fn, 'w', a.w, C);
      storageAtLeast(fn, 'b', a.b, C);
      storageAtLeast(fn, 'y', a.y, N * C * S);
      storageAtLeast(fn, 'mean', a.mean, N * C);
      storageAtLeast(fn, 'sd', a.sd, N * C);
      const rows = N * C;
      if (rows === 0) return;
      const { lanes, grid } = rowLaunch(rows, S);
      rt.run(B0_FORWARD, [a.x, a.variance, a.v, a.w, a.b, a.y, a.mean, a.sd], { lanes, rows, S, C, eps: a.eps }, grid);
    },
    evoNormB0Backward(a) {
      const fn = 'evoNormB0Backward';
      const { N, C, S } = a;
      checkSize(fn, 'N', N);
      checkSize(fn, 'C', C);
      checkSize(fn, 'S', S);
      const total = N * C * S;
      storageAtLeast(fn, 'x', a.x, total);
      storageAtLeast(fn, 'dy', a.dy, total);
      storageAtLeast(fn, 'variance', a.variance, C);
      storageAtLeast(fn, 'v', a.v, C);
      storageAtLeast(fn, 'w', a.w, C);
      storageAtLeast(fn, 'mean', a.mean, N * C);
      storageAtLeast(fn, 'sd', a.sd, N * C);
      optionalAtLeast(fn, 'batchMean', a.batchMean, C);
      optionalAtLeast(fn, 'dx', a.dx, total);
      optionalAtLeast(fn, 'dv', a.dv, C);
      optionalAtLeast(fn, 'dw', a.dw, C);
      optionalAtLeast(fn, 'db', a.db, C);
      const rows = N * C;
      // Eval (no batch mean): dx needs only its row's sums and is written by the row kernel.
      // Training: dx also needs the channel totals (the batch variance's share), so it runs after them.
      const fused = a.dx !== null && a.batchMean === null;
      const second = a.dx !== null && a.batchMean !== null && total > 0;
      const part = rt.allocate(rows * 4, 'float32');
      const ki = second ? rt.allocate(rows, 'float32') : null;
      const tot = second ? rt.allocate(C * 4, 'float32') : null;
      if (rows > 0) {
        const { lanes, grid } = rowLaunch(rows, S);
        rt.run(B0_ROWS, [a.x, a.dy, a.variance, a.v, a.w, a.mean, a.sd, fused ? a.dx : null, part, ki], {
          lanes, rows, S, C, eps: a.eps, fused, hasKi: ki !== null,
        }, grid);
      }
      finish(part, N, C, 4, [null, a.dv, a.dw, a.db], tot);
      if (second) {
        rt.run(B0_DX, [a.x, a.dy, a.variance, a.v, a.w, a.mean, a.sd, ki, a.batchMean, tot, a.dx], {
          n: total, S, C, NS: N * S, eps: a.eps,
        }, grid1d(total, WG));
        rt.release(ki as Storage);
        rt.release(tot as Storage);
      }
      rt.release(part);
    },
    localResponseNormForward(a) {
      const fn = 'localResponseNormForward';
      const { N, C, S } = a;
      lrnCheck(fn, N, C, S, a.size);
      const n = N * C * S;
      storageAtLeast(fn, 'x', a.x, n);
      storageAtLeast(fn, 'y', a.y, n);
      if (n === 0) return;
      rt.run(LRN_FORWARD, [a.x, a.y], lrnParams(n, S, C, a.size, a.alpha, a.beta, a.k), grid1d(n, WG));
    },
    localResponseNormBackward(a) {
      const fn = 'localResponseNormBackward';
      const { N, C, S } = a;
      lrnCheck(fn, N, C, S, a.size);
      const n = N * C * S;
      storageAtLeast(fn, 'x', a.x, n);
      storageAtLeast(fn, 'dy', a.dy, n);
      storageAtLeast(fn, 'dx', a.dx, n);
      if (n === 0) return;
      const p = lrnParams(n, S, C, a.size, a.alpha, a.beta, a.k);
      const t = rt.allocate(n, 'float32');
      rt.run(LRN_BACKWARD_T, [a.x, a.dy, a.dx, t], p, grid1d(n, WG));
      rt.run(LRN_BACKWARD_DX, [a.x, t, a.dx], {
        n, S, C, before: p.before, after: p.after, coef: (2 * a.alpha * a.beta) / a.size,
      }, grid1d(n, WG));
      rt.release(t);
    },
  };
}
