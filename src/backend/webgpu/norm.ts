// WebGPU kernels of the batch-statistics and group norms (WGSL): BatchNorm / Filtered BN forward
// and backward, the eval-mode affine, running statistics, Batch Renorm's terms and GroupNorm,
// implementing those entries of NormKernels (kernels/norm.ts) with the semantics of
// native/kernels/norm.cc.
//
// Work partition. x is [N, C, S]; channel c holds m = N * S values, value j of the channel at
// (j / S) * C * S + c * S + j % S. A channel is cut into `chunks` pieces of chunkLen consecutive j,
// one workgroup each, so a channel spreads over many workgroups. A pass over x is
//   partials: each (channel, chunk) workgroup reduces its piece into 3 floats of a temporary;
//   apply:    each (channel, chunk) workgroup first combines the channel's partials (at most 256,
//             one per thread, in a fixed tree order: every workgroup of a channel gets the same
//             bits), the chunk-0 workgroup writes the per-channel outputs, then all of them write
//             their piece of y or dx.
// BN forward is 2 dispatches (one read of x for the statistics, one read and one write for y),
// Filtered BN 3, BN backward 2 (x and dy read twice, dx written once); no float atomics anywhere,
// so results are deterministic.
//
// Statistics are carried as Chan triples (count, mean, M2 = sum of squared deviations). A thread
// sums d = x - K and d^2 over its values with K its own first value (Filtered BN: mu0), then turns
// them into a triple (mean = K + s1 / n, M2 = s2 - s1^2 / n: with K one of the thread's values,
// s2 <= (n + 1) M2, so the cancellation is bounded by the thread's handful of values); triples
// merge pairwise (mean += delta * nb / n, M2 += Mb + delta^2 na nb / n) in the workgroup tree and
// across chunks. GroupNorm statistics are the same kernels over the view [1, N * G, Cg * S].
import type {
  BatchNormBackwardArgs, BatchNormForwardArgs, BatchRenormParamsArgs, GroupNormBackwardArgs, GroupNormForwardArgs, NormAct,
  NormChannelAffineArgs, NormEvalScaleShiftArgs, NormKernels, RunningStatsUpdateArgs,
} from '../kernels/norm.js';
import type { Storage } from '../storage.js';
import { grid1d, type GpuRuntime, type Grid, type KernelSpec, type ParamValues } from './runtime.js';
import type { GpuStorage } from './storage.js';
import { checkSize, f32in, f32out, f32p, optionalExactly, storageExactly, u32p } from './checks.js';

/** The kernels of webgpu/channelNorm.ts. */
type ChannelNormKernelNames = 'channelNormForward' | 'channelNormBackward' | 'frnForward' | 'frnBackward' |
  'evoNormS0Forward' | 'evoNormS0Backward' | 'evoNormB0Forward' | 'evoNormB0Backward' | 'localResponseNormForward' | 'localResponseNormBackward';

export type BatchGroupNormKernels = Omit<NormKernels, ChannelNormKernelNames>;

/** Threads per workgroup of every kernel here; also the most chunks a channel is cut into. */
const WG = 256;
/** Values a thread loads per round of a walk (independent loads in flight). */
const LANES = 4;
/** Channel values per chunk at least (16 per thread), and the workgroups a pass aims for. */
const MIN_CHUNK = 4096;
const TARGET_PIECES = 2048;

/** A quiet NaN's bits. */
const NAN_BITS = 0x7fc00000;

/** Activation codes of native/kernels/norm.h. */
const ACT_CODES: Record<NormAct, number> = { none: 0, relu: 1, leakyRelu: 2, sigmoid: 3, tanh: 4 };

// ---- WGSL building blocks ----


/** The walk's parameters: the view, the chunking and the per-round step of a lane. */
const WALK_PARAMS = u32p('S', 'CS', 'm', 'chunks', 'chunkLen', 'pieces', 'stepS', 'stepR');

/** Workgroup tree reductions of one vec3 per thread: sums, and Chan merges of (count, mean, M2). */
const REDUCE_WGSL = `
var<workgroup> red: array<vec3f, ${WG}>;
fn chan(a: vec3f, b: vec3f) -> vec3f {
  let n = a.x + b.x;
  if (n == 0.0) { return vec3f(0.0); }
  let delta = b.y - a.y;
  let f = b.x / n;
  return vec3f(n, a.y + delta * f, a.z + b.z + delta * delta * a.x * f);
}
fn reduce_chan(t: u32, v: vec3f) -> vec3f {
  red[t] = v;
  workgroupBarrier();
  for (var h = ${WG / 2}u; h > 0u; h >>= 1u) {
    if (t < h) { red[t] = chan(red[t], red[t + h]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
fn reduce_sum(t: u32, v: vec3f) -> vec3f {
  red[t] = v;
  workgroupBarrier();
  for (var h = ${WG / 2}u; h > 0u; h >>= 1u) {
    if (t < h) { red[t] = red[t] + red[t + h]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
`;

/**
 * The fused activations (P.act, P.actParam) as native/kernels/norm.cc defines them: relu and
 * leaky relu take the derivative at 0 from the left; tanh is the Cephes form (an odd polynomial
 * below 0.625, else 1 - 2 / (exp(2|v|) + 1)), finite for every finite v.
 */
const ACT_WGSL = `
fn tanh_s(v: f32) -> f32 {
  let av = abs(v);
  if (av < 0.625) {
    let z = v * v;
    var p = -5.70498872745e-3;
    p = p * z + 2.06390887954e-2;
    p = p * z - 5.37397155531e-2;
    p = p * z + 1.33314422036e-1;
    p = p * z - 3.33332819422e-1;
    return p * z * v + v;
  }
  let big = 1.0 - 2.0 / (exp(av + av) + 1.0);
  return select(big, -big, v < 0.0);
}
fn act_fwd(v: f32) -> f32 {
  switch (P.act) {
    case 1u: { return select(0.0, v, v > 0.0); }
    case 2u: { return select(v * P.actParam, v, v > 0.0); }
    case 3u: { return 1.0 / (1.0 + exp(-v)); }
    case 4u: { return tanh_s(v); }
    default: { return v; }
  }
}
fn act_grad(v: f32, dy: f32) -> f32 {
  switch (P.act) {
    case 1u: { return select(0.0, dy, v > 0.0); }
    case 2u: { return select(dy * P.actParam, dy, v > 0.0); }
    case 3u: { let s = 1.0 / (1.0 + exp(-v)); return dy * (s * (1.0 - s)); }
    case 4u: { let t = tanh_s(v); return dy * (1.0 - t * t); }
    default: { return dy; }
  }
}
`;

/** Decodes the workgroup's (channel c, chunk k) and its range [start, end) of channel values. */
const PIECE_WGSL = `
  let piece = wid.x + wid.y * nwg.x;
  if (piece >= P.pieces) { return; }
  let c = piece / P.chunks;
  let k = piece - c * P.chunks;
  let start = k * P.chunkLen;
  let end = min(start + P.chunkLen, P.m);
`;

/**
 * A walk over the workgroup's piece: thread t visits j = start + t + 256 q + 1024 r with lanes
 * q = 0..3 loaded together. Lane q tracks s = j % S and the offset of its row without divisions
 * (a step adds 1024 % S to s and (1024 / S) rows, with one carry). Per value in range, `loads`
 * runs right after x[i] is loaded into xv[q] (i its index), and `elem` after all lanes loaded, with
 * v = x[i]. cOffset: the unit's offset inside a row.
 */
function walk(cOffset: string, loads: string, elem: string): string {
  return `
  let j0 = start + lidx;
  var sp: array<u32, ${LANES}>;
  var rb: array<u32, ${LANES}>;
  for (var q = 0u; q < ${LANES}u; q++) {
    let jq = j0 + q * ${WG}u;
    let nq = jq / P.S;
    sp[q] = jq - nq * P.S;
    rb[q] = nq * P.CS + ${cOffset};
  }
  for (var j = j0; j < end; j += ${WG * LANES}u) {
    var xv: array<f32, ${LANES}>;
    var gv: array<f32, ${LANES}>;
    for (var q = 0u; q < ${LANES}u; q++) {
      if (j + q * ${WG}u < end) {
        let i = rb[q] + sp[q];
        xv[q] = x[P.x_off + i];
        ${loads}
      }
    }
    for (var q = 0u; q < ${LANES}u; q++) {
      if (j + q * ${WG}u < end) {
        let i = rb[q] + sp[q];
        let v = xv[q];
        ${elem}
      }
      sp[q] += P.stepS;
      rb[q] += P.stepR;
      if (sp[q] >= P.S) { sp[q] -= P.S; rb[q] += P.CS; }
    }
  }`;
}

/** Writes the workgroup's vec3 `r` as partial `piece`. */
const WRITE_PART = `
  if (lidx == 0u) {
    let b = P.part_off + piece * 3u;
    part[b] = r.x;
    part[b + 1u] = r.y;
    part[b + 2u] = r.z;
  }`;

/** Loads partial q < pchunks of channel c from `src` into vec3 `t` (zeros for the other threads). */
function loadPart(src: string): string {
  return `
  var t = vec3f(0.0);
  if (lidx < P.pchunks) {
    let b = P.${src}_off + (c * P.pchunks + lidx) * 3u;
    t = vec3f(${src}[b], ${src}[b + 1u], ${src}[b + 2u]);
  }`;
}

/**
 * WGSL: the Chan triple (count, mean, M2) of the piece's values v that satisfy `keep`, summed as
 * differences from `shift` (a value of the channel), reduced over the workgroup and written.
 */
function pieceTriple(shift: string, keep: string): string {
  return `var cnt = 0.0;
  var s1 = 0.0;
  var s2 = 0.0;
  ${walk('c * P.S', '', `if (${keep}) { let d = v - ${shift}; cnt += 1.0; s1 += d; s2 += d * d; }`)}
  var tt = vec3f(0.0);
  if (cnt > 0.0) {
    let dm = s1 / cnt;
    tt = vec3f(cnt, ${shift} + dm, max(s2 - s1 * dm, 0.0));
  }
  let r = reduce_chan(lidx, tt);
  ${WRITE_PART}`;
}

/** Per-channel statistics partials: the Chan triple of each piece (x - K, K the thread's first value). */
const BN_STATS_PART: KernelSpec = {
  name: 'bn_stats_part',
  storages: [f32in('x'), f32out('part')],
  params: WALK_PARAMS,
  workgroupSize: [WG],
  moduleScope: REDUCE_WGSL,
  body: `${PIECE_WGSL}
  var K = 0.0;
  if (start + lidx < end) {
    let j = start + lidx;
    let n = j / P.S;
    K = x[P.x_off + n * P.CS + c * P.S + (j - n * P.S)];
  }
  ${pieceTriple('K', 'true')}`,
};

/**
 * Filtered BN's second pass: mu0 and rstd0 = 1 / sqrt(unbiased var0 + 1e-10) from the first
 * pass's partials (chunk 0 writes them), then the Chan triple of the kept values of the piece,
 * those with -T < (x - mu0) * rstd0 < T in float, as native/kernels/norm.cc's fbn_keep.
 */
const BN_FILTERED_PART: KernelSpec = {
  name: 'bn_filtered_part',
  storages: [f32in('x'), f32in('prev'), f32out('part'), f32out('mu0'), f32out('rstd0')],
  params: [...WALK_PARAMS, ...u32p('pchunks'), ...f32p('T')],
  workgroupSize: [WG],
  moduleScope: REDUCE_WGSL,
  body: `${PIECE_WGSL}
  ${loadPart('prev')}
  let a = reduce_chan(lidx, t);
  let m0 = a.y;
  let r0 = 1.0 / sqrt(max(a.z / (f32(P.m) - 1.0), 0.0) + 1e-10);
  if (k == 0u && lidx == 0u) {
    mu0[P.mu0_off + c] = m0;
    rstd0[P.rstd0_off + c] = r0;
  }
  ${pieceTriple('m0', '(v - m0) * r0 > -P.T && (v - m0) * r0 < P.T')}`,
};

/**
 * Combines a channel's partials into mean, invstd = 1 / sqrt(var + eps) and the biased var
 * (Filtered BN: of the kept values, NaN when none is kept; kept = their count), written by chunk
 * 0; then y = act(x * a + b), a = gamma * invstd, b = beta - mean * a over the piece (hasY).
 * nanBits holds a quiet NaN's bits (a NaN constant is not a valid WGSL const-expression).
 */
const BN_FWD_APPLY: KernelSpec = {
  name: 'bn_fwd_apply',
  storages: [
    f32in('x'), f32in('part'), f32in('gamma', true), f32in('beta', true), f32out('y', true),
    f32out('mean'), f32out('invstd'), f32out('variance', true), f32out('kept', true),
  ],
  params: [...WALK_PARAMS, ...u32p('pchunks', 'filtered', 'hasGamma', 'hasBeta', 'hasY', 'hasVar', 'hasKept', 'act', 'nanBits'), ...f32p('eps', 'actParam')],
  workgroupSize: [WG],
  moduleScope: REDUCE_WGSL + ACT_WGSL,
  body: `${PIECE_WGSL}
  ${loadPart('part')}
  let a = reduce_chan(lidx, t);
  var mu = a.y;
  var va = a.z / f32(P.m);
  if (P.filtered != 0u) { va = a.z / a.x; }
  if (P.filtered != 0u && a.x < 1.0) {
    mu = bitcast<f32>(P.nanBits);
    va = mu;
  }
  let rs = 1.0 / sqrt(va + P.eps);
  if (k == 0u && lidx == 0u) {
    mean[P.mean_off + c] = mu;
    invstd[P.invstd_off + c] = rs;
    if (P.hasVar != 0u) { variance[P.variance_off + c] = va; }
    if (P.hasKept != 0u) { kept[P.kept_off + c] = a.x; }
  }
  if (P.hasY == 0u) { return; }
  var gm = 1.0;
  if (P.hasGamma != 0u) { gm = gamma[P.gamma_off + c]; }
  var bt = 0.0;
  if (P.hasBeta != 0u) { bt = beta[P.beta_off + c]; }
  let ca = gm * rs;
  let cb = bt - mu * ca;
  ${walk('c * P.S', '', 'y[P.y_off + i] = act_fwd(v * ca + cb);')}`,
};

/**
 * Backward partials per piece: (sum g, sum g (x - mean), 0) with g = dy, or dy * act'(v) for the
 * recomputed pre-activation v = x * sa + sb. Statistic index c / statDiv and affine index
 * c % gammaMod (BN: c and c; GroupNorm rows (n, c): n * G + c / Cg and c).
 */
const BN_BWD_PART: KernelSpec = {
  name: 'bn_bwd_part',
  storages: [f32in('x'), f32in('dy'), f32in('mean'), f32in('invstd'), f32in('gamma', true), f32in('beta', true), f32out('part')],
  params: [...WALK_PARAMS, ...u32p('statDiv', 'gammaMod', 'hasGamma', 'hasBeta', 'act'), ...f32p('actParam')],
  workgroupSize: [WG],
  moduleScope: REDUCE_WGSL + ACT_WGSL,
  body: `${PIECE_WGSL}
  let u = c / P.statDiv;
  let gc = c % P.gammaMod;
  let mu = mean[P.mean_off + u];
  var sa = 0.0;
  var sb = 0.0;
  if (P.act != 0u) {
    var gm = 1.0;
    if (P.hasGamma != 0u) { gm = gamma[P.gamma_off + gc]; }
    var bt = 0.0;
    if (P.hasBeta != 0u) { bt = beta[P.beta_off + gc]; }
    sa = gm * invstd[P.invstd_off + u];
    sb = bt - mu * sa;
  }
  var s1 = 0.0;
  var s2 = 0.0;
  ${walk('c * P.S', 'gv[q] = dy[P.dy_off + i];', 'var g = gv[q]; if (P.act != 0u) { g = act_grad(v * sa + sb, g); } s1 += g; s2 += g * (v - mu);')}
  let r = reduce_sum(lidx, vec3f(s1, s2, 0.0));
  ${WRITE_PART}`,
};

/**
 * BN backward per piece, after summing the channel's partials (none: pchunks 0; sdy = sum g, sdyxhat = invstd *
 * sum g (x - mean)): dgamma = sdyxhat, dbeta = sdy (chunk 0), and
 * dx = av * g + [kept] (bv * x + cv), av = gamma * invstd; with batch statistics
 * bv = -av / m * invstd * sdyxhat, cv = -av / m * sdy - bv * mean (m = count or N * S), else
 * bv = cv = 0. [kept] masks Filtered BN's statistics term to the values the forward kept.
 */
const BN_BWD_APPLY: KernelSpec = {
  name: 'bn_bwd_apply',
  storages: [
    f32in('x'), f32in('dy'), f32in('part', true), f32in('mean'), f32in('invstd'), f32in('gamma', true), f32in('beta', true),
    f32in('count', true), f32in('mu0', true), f32in('rstd0', true), f32out('dx', true), f32out('dgamma', true), f32out('dbeta', true),
  ],
  params: [
    ...WALK_PARAMS,
    ...u32p('pchunks', 'batchStats', 'masked', 'act', 'hasGamma', 'hasBeta', 'hasCount', 'hasDx', 'hasDg', 'hasDb'),
    ...f32p('T', 'actParam', 'mtot'),
  ],
  workgroupSize: [WG],
  moduleScope: REDUCE_WGSL + ACT_WGSL,
  body: `${PIECE_WGSL}
  ${loadPart('part')}
  let s = reduce_sum(lidx, t);
  let r = invstd[P.invstd_off + c];
  let mu = mean[P.mean_off + c];
  let sdy = s.x;
  let sdx = s.y * r;
  if (k == 0u && lidx == 0u) {
    if (P.hasDg != 0u) { dgamma[P.dgamma_off + c] = sdx; }
    if (P.hasDb != 0u) { dbeta[P.dbeta_off + c] = sdy; }
  }
  if (P.hasDx == 0u) { return; }
  var gm = 1.0;
  if (P.hasGamma != 0u) { gm = gamma[P.gamma_off + c]; }
  var bt = 0.0;
  if (P.hasBeta != 0u) { bt = beta[P.beta_off + c]; }
  let av = gm * r;
  var bv = 0.0;
  var cv = 0.0;
  if (P.batchStats != 0u) {
    var mm = P.mtot;
    if (P.hasCount != 0u) { mm = count[P.count_off + c]; }
    bv = -av / mm * r * sdx;
    cv = -av / mm * sdy - bv * mu;
  }
  let sa = av;
  let sb = bt - mu * av;
  var m0 = 0.0;
  var r0 = 0.0;
  if (P.masked != 0u) {
    m0 = mu0[P.mu0_off + c];
    r0 = rstd0[P.rstd0_off + c];
  }
  ${walk(
    'c * P.S',
    'gv[q] = dy[P.dy_off + i];',
    `var g = gv[q];
        if (P.act != 0u) { g = act_grad(v * sa + sb, g); }
        var st = bv * v + cv;
        if (P.masked != 0u) {
          let z = (v - m0) * r0;
          if (!(z > -P.T && z < P.T)) { st = 0.0; }
        }
        dx[P.dx_off + i] = av * g + st;`,
  )}`,
};

/** y = x * scale[c] + shift[c], c = (i / S) % C. */
const CHANNEL_AFFINE: KernelSpec = {
  name: 'norm_channel_affine',
  storages: [f32in('x'), f32in('scale'), f32in('shift'), f32out('y')],
  params: u32p('n', 'S', 'C'),
  workgroupSize: [WG],
  body: `
  let i = linear_id(gid, nwg);
  if (i >= P.n) { return; }
  let c = (i / P.S) % P.C;
  y[P.y_off + i] = x[P.x_off + i] * scale[P.scale_off + c] + shift[P.shift_off + c];`,
};

/** GroupNorm's y = act(x * a + b), a = gamma[c] * invstd[u], b = beta[c] - mean[u] * a, u = i / (Cg * S). */
const GN_APPLY: KernelSpec = {
  name: 'gn_apply',
  storages: [f32in('x'), f32in('gamma', true), f32in('beta', true), f32in('mean'), f32in('invstd'), f32out('y')],
  params: [...u32p('n', 'S', 'C', 'L', 'hasGamma', 'hasBeta', 'act'), ...f32p('actParam')],
  workgroupSize: [WG],
  moduleScope: ACT_WGSL,
  body: `
  let i = linear_id(gid, nwg);
  if (i >= P.n) { return; }
  let c = (i / P.S) % P.C;
  let u = i / P.L;
  var gm = 1.0;
  if (P.hasGamma != 0u) { gm = gamma[P.gamma_off + c]; }
  var bt = 0.0;
  if (P.hasBeta != 0u) { bt = beta[P.beta_off + c]; }
  let a = gm * invstd[P.invstd_off + u];
  let b = bt - mean[P.mean_off + u] * a;
  y[P.y_off + i] = act_fwd(x[P.x_off + i] * a + b);`,
};

/**
 * GroupNorm backward sums from the per-row partials (rows (n, c), pchunks each; .x = sum g,
 * .y = sum g (x - mean)). Workgroups [0, NG): unit u = (n, g): s1 = sum gamma[c] .x,
 * s2 = sum gamma[c] .y over the group's channels, into unit[2u], unit[2u + 1]. Workgroups
 * [NG, NG + C): channel c: dbeta = sum .x, dgamma = sum invstd[u] .y over n.
 */
const GN_COMBINE: KernelSpec = {
  name: 'gn_combine',
  storages: [f32in('part'), f32in('gamma', true), f32in('invstd'), f32out('unit'), f32out('dgamma', true), f32out('dbeta', true)],
  params: u32p('NG', 'N', 'C', 'G', 'Cg', 'pchunks', 'hasGamma', 'hasDg', 'hasDb'),
  workgroupSize: [WG],
  moduleScope: REDUCE_WGSL,
  body: `
  let w = wid.x + wid.y * nwg.x;
  if (w < P.NG) {
    let n = w / P.G;
    let g = w - n * P.G;
    var acc = vec3f(0.0);
    for (var it = lidx; it < P.Cg * P.pchunks; it += ${WG}u) {
      let kk = it / P.pchunks;
      let q = it - kk * P.pchunks;
      let ch = g * P.Cg + kk;
      let b = P.part_off + ((n * P.C + ch) * P.pchunks + q) * 3u;
      var gm = 1.0;
      if (P.hasGamma != 0u) { gm = gamma[P.gamma_off + ch]; }
      acc += vec3f(gm * part[b], gm * part[b + 1u], 0.0);
    }
    let s = reduce_sum(lidx, acc);
    if (lidx == 0u) {
      unit[P.unit_off + 2u * w] = s.x;
      unit[P.unit_off + 2u * w + 1u] = s.y;
    }
  } else if (w < P.NG + P.C) {
    let ch = w - P.NG;
    let gi = ch / P.Cg;
    var acc = vec3f(0.0);
    for (var it = lidx; it < P.N * P.pchunks; it += ${WG}u) {
      let n = it / P.pchunks;
      let q = it - n * P.pchunks;
      let b = P.part_off + ((n * P.C + ch) * P.pchunks + q) * 3u;
      acc += vec3f(part[b], part[b + 1u] * invstd[P.invstd_off + n * P.G + gi], 0.0);
    }
    let s = reduce_sum(lidx, acc);
    if (lidx == 0u) {
      if (P.hasDb != 0u) { dbeta[P.dbeta_off + ch] = s.x; }
      if (P.hasDg != 0u) { dgamma[P.dgamma_off + ch] = s.y; }
    }
  }`,
};

/**
 * GroupNorm's dx = r gamma[c] g + (bv x + cv) with r = invstd[u], bv = -r^3 / L * s2,
 * cv = -r / L * s1 - bv * mean[u] (L = Cg * S values per group).
 */
const GN_DX: KernelSpec = {
  name: 'gn_dx',
  storages: [f32in('x'), f32in('dy'), f32in('mean'), f32in('invstd'), f32in('gamma', true), f32in('beta', true), f32in('unit'), f32out('dx')],
  params: [...u32p('n', 'S', 'C', 'L', 'hasGamma', 'hasBeta', 'act'), ...f32p('actParam', 'mf')],
  workgroupSize: [WG],
  moduleScope: ACT_WGSL,
  body: `
  let i = linear_id(gid, nwg);
  if (i >= P.n) { return; }
  let c = (i / P.S) % P.C;
  let u = i / P.L;
  let r = invstd[P.invstd_off + u];
  let mu = mean[P.mean_off + u];
  var gm = 1.0;
  if (P.hasGamma != 0u) { gm = gamma[P.gamma_off + c]; }
  let v = x[P.x_off + i];
  var g = dy[P.dy_off + i];
  if (P.act != 0u) {
    var bt = 0.0;
    if (P.hasBeta != 0u) { bt = beta[P.beta_off + c]; }
    let sa = gm * r;
    g = act_grad(v * sa + (bt - mu * sa), g);
  }
  let s1 = unit[P.unit_off + 2u * u];
  let s2 = unit[P.unit_off + 2u * u + 1u];
  let bv = -r * r * r / P.mf * s2;
  let cv = -r / P.mf * s1 - bv * mu;
  dx[P.dx_off + i] = r * gm * g + (bv * v + cv);`,
};

/** Eval-mode BN: invstd = 1 / sqrt(rv + eps), scale = weight * invstd, shift = bias - rm * scale. */
const EVAL_SCALE_SHIFT: KernelSpec = {
  name: 'norm_eval_scale_shift',
  storages: [f32in('rm'), f32in('rv'), f32in('weight', true), f32in('bias', true), f32out('scale'), f32out('shift'), f32out('invstd')],
  params: [...u32p('C', 'hasW', 'hasB'), ...f32p('eps')],
  workgroupSize: [WG],
  body: `
  let c = linear_id(gid, nwg);
  if (c >= P.C) { return; }
  let r = 1.0 / sqrt(rv[P.rv_off + c] + P.eps);
  var w = 1.0;
  if (P.hasW != 0u) { w = weight[P.weight_off + c]; }
  var b = 0.0;
  if (P.hasB != 0u) { b = bias[P.bias_off + c]; }
  let s = w * r;
  invstd[P.invstd_off + c] = r;
  scale[P.scale_off + c] = s;
  shift[P.shift_off + c] = b - rm[P.rm_off + c] * s;`,
};

/**
 * running = (1 - f) running + f value per channel; f = momentum or 1 / batches[0]; the statistic
 * is batch[0] (blen 1) or the average of the R rows of batch [R, C]; transform 1: unbiased
 * (stat * m / (m - 1) when m > 1), 2: sqrt(stat + eps). m: counts[0] / counts[c] (hasCounts) or mNum.
 */
const RUNNING_UPDATE: KernelSpec = {
  name: 'running_stats_update',
  storages: [f32out('running'), f32in('batch'), f32in('batches', true), f32in('counts', true)],
  params: [...u32p('C', 'R', 'single', 'useBatches', 'transform', 'hasCounts'), ...f32p('momentum', 'mNum', 'eps')],
  workgroupSize: [WG],
  body: `
  let c = linear_id(gid, nwg);
  if (c >= P.C) { return; }
  var f = P.momentum;
  if (P.useBatches != 0u) { f = 1.0 / batches[P.batches_off]; }
  var stat = 0.0;
  var m = P.mNum;
  if (P.single != 0u) {
    stat = batch[P.batch_off];
    if (P.hasCounts != 0u) { m = counts[P.counts_off]; }
  } else {
    let rr = f32(P.R);
    for (var q = 0u; q < P.R; q++) { stat += batch[P.batch_off + q * P.C + c] / rr; }
    if (P.hasCounts != 0u) { m = counts[P.counts_off + c]; }
  }
  var value = stat;
  if (P.transform == 1u && m > 1.0) { value = stat * m / (m - 1.0); }
  if (P.transform == 2u) { value = sqrt(stat + P.eps); }
  let o = P.running_off + c;
  running[o] = (1.0 - f) * running[o] + f * value;`,
};

/** Batch Renorm's r, d, gamma, scale and shift per channel (see BatchRenormParamsArgs). */
const RENORM_PARAMS: KernelSpec = {
  name: 'batch_renorm_params',
  storages: [
    f32in('mean'), f32in('variance'), f32in('invstd'), f32in('rmean'), f32in('rstd'), f32in('weight', true), f32in('bias', true),
    f32in('batches', true), f32out('r'), f32out('d'), f32out('gamma'), f32out('scale'), f32out('shift'),
  ],
  params: [...u32p('C', 'warmup', 'hasBatches', 'hasW', 'hasB'), ...f32p('eps', 'rMax', 'dMax', 'warmupSteps')],
  workgroupSize: [WG],
  body: `
  let c = linear_id(gid, nwg);
  if (c >= P.C) { return; }
  var warm = P.warmup != 0u;
  if (P.hasBatches != 0u && batches[P.batches_off] < P.warmupSteps) { warm = true; }
  let mu = mean[P.mean_off + c];
  var rv = 1.0;
  var dv = 0.0;
  if (!warm) {
    let s = rstd[P.rstd_off + c];
    rv = min(max(sqrt(variance[P.variance_off + c] + P.eps) / s, 1.0 / P.rMax), P.rMax);
    dv = min(max((mu - rmean[P.rmean_off + c]) / s, -P.dMax), P.dMax);
  }
  var w = 1.0;
  if (P.hasW != 0u) { w = weight[P.weight_off + c]; }
  var b = 0.0;
  if (P.hasB != 0u) { b = bias[P.bias_off + c]; }
  let gm = rv * w;
  let sc = gm * invstd[P.invstd_off + c];
  r[P.r_off + c] = rv;
  d[P.d_off + c] = dv;
  gamma[P.gamma_off + c] = gm;
  scale[P.scale_off + c] = sc;
  shift[P.shift_off + c] = dv * w + b - mu * sc;`,
};

// ---- host side ----

/** How a set of `units` reductions of m values each is cut: chunks per unit (<= WG) and their length. */
interface Walk {
  chunks: number;
  chunkLen: number;
  pieces: number;
  params: Record<string, number>;
}

/**
 * The walk over `units` channels of m values each in the view [*, units, S] (row stride units * S).
 * Chunks cut a unit into pieces of at least MIN_CHUNK values, enough of them for about
 * TARGET_PIECES workgroups in all (at most WG per unit, so one workgroup combines them).
 * chunks 1 when only the per-unit combine runs (`whole`).
 */
function makeWalk(units: number, S: number, m: number, whole = false): Walk {
  let chunks = 1;
  let chunkLen = m;
  if (!whole && m > 0) {
    chunks = Math.max(1, Math.min(WG, Math.ceil(m / MIN_CHUNK), Math.ceil(TARGET_PIECES / Math.max(units, 1))));
    chunkLen = Math.ceil(m / chunks);
    chunks = Math.ceil(m / chunkLen);
  }
  const step = WG * LANES;
  const s = Math.max(S, 1);
  const CS = units * S;
  const pieces = units * chunks;
  if (units * m >= 2 ** 31) throw new RangeError(`webgpu norm: ${units * m} values exceed the 2^31 a kernel indexes`);
  return {
    chunks,
    chunkLen,
    pieces,
    params: { S, CS, m, chunks, chunkLen, pieces, stepS: step % s, stepR: Math.floor(step / s) * CS },
  };
}

/** Workgroups for `pieces` workgroup-sized items (wid.x + wid.y * nwg.x). */
function pieceGrid(pieces: number): Grid {
  return grid1d(pieces * WG, WG);
}

function actCode(fn: string, act: NormAct | undefined): number {
  const code = ACT_CODES[act ?? 'none'];
  if (code === undefined) throw new RangeError(`${fn}: act must be one of ${Object.keys(ACT_CODES).map((k) => `'${k}'`).join(', ')}, got '${String(act)}'`);
  return code;
}

const flag = (s: unknown): number => (s == null ? 0 : 1);

export function webgpuNormKernels(rt: GpuRuntime): BatchGroupNormKernels {
  /**
   * rt.run with a 1-value scratch bound for each null optional output: the runtime binds one
   * shared dummy for every null binding, which WebGPU refuses as two written bindings (or a
   * written and a read one) in one dispatch.
   */
  function run(spec: KernelSpec, storages: readonly (GpuStorage | null)[], params: ParamValues, grid: Grid): void {
    const scratch: GpuStorage[] = [];
    const bound = storages.map((st, i) => {
      if (st !== null || spec.storages[i].access !== 'read_write') return st;
      const t = rt.allocate(1, 'float32');
      scratch.push(t);
      return t;
    });
    rt.run(spec, bound, params, grid);
    for (const t of scratch) rt.release(t);
  }

  /** The statistics pass(es) of BN forward into a partials temporary (caller releases it). */
  function bnStats(x: GpuStorage, w: Walk, filtered: { T: number; mu0: GpuStorage; rstd0: GpuStorage } | null): GpuStorage {
    const part = rt.allocate(w.pieces * 3, 'float32');
    run(BN_STATS_PART, [x, part], w.params, pieceGrid(w.pieces));
    if (filtered === null) return part;
    const part2 = rt.allocate(w.pieces * 3, 'float32');
    run(BN_FILTERED_PART, [x, part, part2, filtered.mu0, filtered.rstd0], { ...w.params, pchunks: w.chunks, T: filtered.T }, pieceGrid(w.pieces));
    rt.release(part);
    return part2;
  }

  return {
    batchNormForward(a: BatchNormForwardArgs) {
      const fn = 'batchNormForward';
      const { N, C, S } = a;
      checkSize(fn, 'N', N);
      checkSize(fn, 'C', C);
      checkSize(fn, 'S', S);
      const total = N * C * S;
      const x = storageExactly(fn, 'x', a.x, total);
      const gamma = optionalExactly(fn, 'gamma', a.gamma, C);
      const beta = optionalExactly(fn, 'beta', a.beta, C);
      const y = optionalExactly(fn, 'y', a.y, total);
      const mean = storageExactly(fn, 'mean', a.mean, C);
      const invstd = storageExactly(fn, 'invstd', a.invstd, C);
      const variance = storageExactly(fn, 'variance', a.variance, C);
      const T = Math.fround(a.threshold);
      const filtered = T > 0;
      const act = actCode(fn, a.act);
      if (N * S < 2) throw new RangeError(`${fn}: N * S must be >= 2 (batch statistics need more than 1 value per channel), got ${N * S}`);
      if (filtered && act !== 0) throw new RangeError(`${fn}: act must be 'none' for Filtered BN (threshold > 0), got '${a.act}'`);
      const mu0 = filtered ? storageExactly(fn, 'mu0', a.mu0 as Storage, C) : null;
      const rstd0 = filtered ? storageExactly(fn, 'rstd0', a.rstd0 as Storage, C) : null;
      const kept = filtered ? storageExactly(fn, 'kept', a.kept as Storage, C) : null;
      if (filtered && (a.mu0 === null || a.rstd0 === null || a.kept === null)) throw new TypeError(`${fn}: Filtered BN (threshold > 0) needs mu0, rstd0 and kept`);
      if (C === 0) return;
      const m = N * S;
      const w = makeWalk(C, S, m);
      const part = bnStats(x, w, filtered ? { T, mu0: mu0 as GpuStorage, rstd0: rstd0 as GpuStorage } : null);
      const aw = y === null ? makeWalk(C, S, m, true) : w;
      run(
        BN_FWD_APPLY,
        [x, part, gamma, beta, y, mean, invstd, variance, kept],
        {
          ...aw.params, pchunks: w.chunks, filtered: filtered ? 1 : 0, hasGamma: flag(gamma), hasBeta: flag(beta), hasY: flag(y), hasVar: 1,
          hasKept: flag(kept), act, nanBits: NAN_BITS, eps: a.eps, actParam: a.actParam ?? 0,
        },
        pieceGrid(aw.pieces),
      );
      rt.release(part);
    },

    batchNormBackward(a: BatchNormBackwardArgs) {
      const fn = 'batchNormBackward';
      const { N, C, S } = a;
      checkSize(fn, 'N', N);
      checkSize(fn, 'C', C);
      checkSize(fn, 'S', S);
      const total = N * C * S;
      const x = storageExactly(fn, 'x', a.x, total);
      const dy = storageExactly(fn, 'dy', a.dy, total);
      const mean = storageExactly(fn, 'mean', a.mean, C);
      const invstd = storageExactly(fn, 'invstd', a.invstd, C);
      const gamma = optionalExactly(fn, 'gamma', a.gamma, C);
      const dx = optionalExactly(fn, 'dx', a.dx, total);
      const dgamma = optionalExactly(fn, 'dgamma', a.dgamma, C);
      const dbeta = optionalExactly(fn, 'dbeta', a.dbeta, C);
      const count = optionalExactly(fn, 'count', a.count, C);
      const beta = optionalExactly(fn, 'beta', a.beta, C);
      const T = Math.fround(a.threshold);
      const filtered = T > 0;
      const act = actCode(fn, a.act);
      if (filtered && act !== 0) throw new RangeError(`${fn}: act must be 'none' for Filtered BN (threshold > 0), got '${a.act}'`);
      const mu0 = filtered ? storageExactly(fn, 'mu0', a.mu0 as Storage, C) : null;
      const rstd0 = filtered ? storageExactly(fn, 'rstd0', a.rstd0 as Storage, C) : null;
      if (filtered && (a.mu0 === null || a.rstd0 === null)) throw new TypeError(`${fn}: Filtered BN (threshold > 0) needs mu0 and rstd0`);
      if (C === 0) return;
      const needSums = dgamma !== null || dbeta !== null || (dx !== null && a.batchStats);
      if (!needSums && dx === null) return;
      const m = N * S;
      const w = makeWalk(C, S, m);
      let part: GpuStorage | null = null;
      if (needSums) {
        part = rt.allocate(w.pieces * 3, 'float32');
        run(
          BN_BWD_PART,
          [x, dy, mean, invstd, gamma, beta, part],
          { ...w.params, statDiv: 1, gammaMod: C, hasGamma: flag(gamma), hasBeta: flag(beta), act, actParam: a.actParam ?? 0 },
          pieceGrid(w.pieces),
        );
      }
      const aw = dx === null ? makeWalk(C, S, m, true) : w;
      run(
        BN_BWD_APPLY,
        [x, dy, part, mean, invstd, gamma, beta, count, mu0, rstd0, dx, dgamma, dbeta],
        {
          ...aw.params, pchunks: part === null ? 0 : w.chunks, batchStats: a.batchStats ? 1 : 0, masked: filtered && a.batchStats ? 1 : 0,
          act, hasGamma: flag(gamma), hasBeta: flag(beta), hasCount: flag(count), hasDx: flag(dx), hasDg: flag(dgamma), hasDb: flag(dbeta),
          T, actParam: a.actParam ?? 0, mtot: m,
        },
        pieceGrid(aw.pieces),
      );
      if (part !== null) rt.release(part);
    },

    normChannelAffine(a: NormChannelAffineArgs) {
      const fn = 'normChannelAffine';
      const { N, C, S } = a;
      checkSize(fn, 'N', N);
      checkSize(fn, 'C', C);
      checkSize(fn, 'S', S);
      const n = N * C * S;
      const x = storageExactly(fn, 'x', a.x, n);
      const scale = storageExactly(fn, 'scale', a.scale, C);
      const shift = storageExactly(fn, 'shift', a.shift, C);
      const y = storageExactly(fn, 'y', a.y, n);
      if (n === 0) return;
      run(CHANNEL_AFFINE, [x, scale, shift, y], { n, S, C }, grid1d(n, WG));
    },

    normEvalScaleShift(a: NormEvalScaleShiftArgs) {
      const fn = 'normEvalScaleShift';
      const rm = storageExactly(fn, 'runningMean', a.runningMean);
      const C = rm.length;
      const rv = storageExactly(fn, 'runningVar', a.runningVar, C);
      const weight = optionalExactly(fn, 'weight', a.weight, C);
      const bias = optionalExactly(fn, 'bias', a.bias, C);
      const scale = storageExactly(fn, 'scale', a.scale, C);
      const shift = storageExactly(fn, 'shift', a.shift, C);
      const invstd = storageExactly(fn, 'invstd', a.invstd, C);
      if (C === 0) return;
      run(EVAL_SCALE_SHIFT, [rm, rv, weight, bias, scale, shift, invstd], { C, hasW: flag(weight), hasB: flag(bias), eps: a.eps }, grid1d(C, WG));
    },

    runningStatsUpdate(a: RunningStatsUpdateArgs) {
      const fn = 'runningStatsUpdate';
      const running = storageExactly(fn, 'running', a.running);
      const batch = storageExactly(fn, 'batch', a.batch);
      const C = running.length;
      if (batch.length !== 1 && (batch.length === 0 || batch.length % C !== 0)) {
        throw new RangeError(`${fn}: batch must have 1 value or a multiple of ${C} (running's length), got ${batch.length}`);
      }
      if (a.momentum === null && a.batches === null) throw new Error(`${fn}: batches (num_batches_tracked) is required when momentum is null`);
      const batches = a.momentum === null ? storageExactly(fn, 'batches', a.batches as Storage) : null;
      if (batches !== null && batches.length < 1) throw new RangeError(`${fn}: batches must have 1 value, got 0`);
      const transform = { value: 0, unbiased: 1, std: 2 }[a.transform];
      if (transform === undefined) throw new RangeError(`${fn}: transform must be 'value', 'unbiased' or 'std', got '${String(a.transform)}'`);
      const counts = a.count !== null && typeof a.count !== 'number' ? storageExactly(fn, 'count', a.count, batch.length) : null;
      if (C === 0) return;
      run(
        RUNNING_UPDATE,
        [running, batch, batches, counts],
        {
          C, R: batch.length === 1 ? 1 : batch.length / C, single: batch.length === 1 ? 1 : 0, useBatches: flag(batches), transform,
          hasCounts: flag(counts), momentum: a.momentum ?? 0, mNum: typeof a.count === 'number' ? a.count : 0, eps: a.eps,
        },
        grid1d(C, WG),
      );
    },

    batchRenormParams(a: BatchRenormParamsArgs) {
      const fn = 'batchRenormParams';
      const mean = storageExactly(fn, 'mean', a.mean);
      const C = mean.length;
      const st = [
        mean, storageExactly(fn, 'variance', a.variance, C), storageExactly(fn, 'invstd', a.invstd, C), storageExactly(fn, 'renormMean', a.renormMean, C),
        storageExactly(fn, 'renormStd', a.renormStd, C), optionalExactly(fn, 'weight', a.weight, C), optionalExactly(fn, 'bias', a.bias, C), optionalExactly(fn, 'batches', a.batches),
        storageExactly(fn, 'r', a.r, C), storageExactly(fn, 'd', a.d, C), storageExactly(fn, 'gamma', a.gamma, C), storageExactly(fn, 'scale', a.scale, C), storageExactly(fn, 'shift', a.shift, C),
      ];
      if (st[7] !== null && st[7].length < 1) throw new RangeError(`${fn}: batches must have 1 value, got 0`);
      if (C === 0) return;
      run(
        RENORM_PARAMS,
        st,
        {
          C, warmup: a.warmup ? 1 : 0, hasBatches: flag(st[7]), hasW: flag(st[5]), hasB: flag(st[6]), eps: a.eps, rMax: a.rMax, dMax: a.dMax,
          warmupSteps: a.warmupSteps,
        },
        grid1d(C, WG),
      );
    },

    groupNormForward(a: GroupNormForwardArgs) {
      const fn = 'groupNormForward';
      const { N, G, Cg, S } = a;
      for (const [k, v] of Object.entries({ N, G, Cg, S })) checkSize(fn, k, v);
      const C = G * Cg;
      const L = Cg * S;
      const total = N * C * S;
      const x = storageExactly(fn, 'x', a.x, total);
      const gamma = optionalExactly(fn, 'gamma', a.gamma, C);
      const beta = optionalExactly(fn, 'beta', a.beta, C);
      const y = storageExactly(fn, 'y', a.y, total);
      const mean = storageExactly(fn, 'mean', a.mean, N * G);
      const invstd = storageExactly(fn, 'invstd', a.invstd, N * G);
      const variance = optionalExactly(fn, 'variance', a.variance, N * G);
      const act = actCode(fn, a.act);
      if (L === 0 || N * G === 0) return;
      const units = N * G;
      const w = makeWalk(units, L, L);
      const part = rt.allocate(w.pieces * 3, 'float32');
      run(BN_STATS_PART, [x, part], w.params, pieceGrid(w.pieces));
      const cw = makeWalk(units, L, L, true);
      run(
        BN_FWD_APPLY,
        [x, part, null, null, null, mean, invstd, variance, null],
        { ...cw.params, pchunks: w.chunks, filtered: 0, hasGamma: 0, hasBeta: 0, hasY: 0, hasVar: flag(variance), hasKept: 0, act: 0, nanBits: NAN_BITS, eps: a.eps, actParam: 0 },
        pieceGrid(cw.pieces),
      );
      rt.release(part);
      run(
        GN_APPLY,
        [x, gamma, beta, mean, invstd, y],
        { n: total, S, C, L, hasGamma: flag(gamma), hasBeta: flag(beta), act, actParam: a.actParam ?? 0 },
        grid1d(total, WG),
      );
    },

    groupNormBackward(a: GroupNormBackwardArgs) {
      const fn = 'groupNormBackward';
      const { N, G, Cg, S } = a;
      for (const [k, v] of Object.entries({ N, G, Cg, S })) checkSize(fn, k, v);
      const C = G * Cg;
      const L = Cg * S;
      const total = N * C * S;
      const x = storageExactly(fn, 'x', a.x, total);
      const dy = storageExactly(fn, 'dy', a.dy, total);
      const mean = storageExactly(fn, 'mean', a.mean, N * G);
      const invstd = storageExactly(fn, 'invstd', a.invstd, N * G);
      const gamma = optionalExactly(fn, 'gamma', a.gamma, C);
      const dx = optionalExactly(fn, 'dx', a.dx, total);
      const dgamma = optionalExactly(fn, 'dgamma', a.dgamma, C);
      const dbeta = optionalExactly(fn, 'dbeta', a.dbeta, C);
      const beta = optionalExactly(fn, 'beta', a.beta, C);
      const act = actCode(fn, a.act);
      if (N === 0 || L === 0) {
        if (dgamma !== null) rt.clear(dgamma);
        if (dbeta !== null) rt.clear(dbeta);
        return;
      }
      // Row (n, c) partials over the view [1, N * C, S].
      const rows = N * C;
      const w = makeWalk(rows, S, S);
      const part = rt.allocate(w.pieces * 3, 'float32');
      run(
        BN_BWD_PART,
        [x, dy, mean, invstd, gamma, beta, part],
        { ...w.params, statDiv: Cg, gammaMod: C, hasGamma: flag(gamma), hasBeta: flag(beta), act, actParam: a.actParam ?? 0 },
        pieceGrid(w.pieces),
      );
      const units = N * G;
      const unit = rt.allocate(units * 2, 'float32');
      run(
        GN_COMBINE,
        [part, gamma, invstd, unit, dgamma, dbeta],
        { NG: units, N, C, G, Cg, pchunks: w.chunks, hasGamma: flag(gamma), hasDg: flag(dgamma), hasDb: flag(dbeta) },
        pieceGrid(units + C),
      );
      rt.release(part);
      if (dx !== null) {
        run(
          GN_DX,
          [x, dy, mean, invstd, gamma, beta, unit, dx],
          { n: total, S, C, L, hasGamma: flag(gamma), hasBeta: flag(beta), act, actParam: a.actParam ?? 0, mf: L },
          grid1d(total, WG),
        );
      }
      rt.release(unit);
    },
  };
}
