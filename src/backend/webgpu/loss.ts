// WebGPU loss-family kernels (WGSL), with the CPU's formulas (native/kernels/loss.cc):
// - row kernels (softmax, cross-entropy) run one workgroup of 64 invocations per row, with the
//   row maximum and sums as shared-memory trees (max subtracted before exponentiating);
// - reduced losses write one term per row or element, then add the terms in a fixed order
//   (chunks of 4096 per workgroup, then the chunk sums in one workgroup): deterministic;
// - class targets given as a float tensor are checked on the device; a bad value is reported by
//   the next read (await x.read(), itemAsync, ...), with the CPU's message;
// - dropout masks use the CPU's counter-based generator bit for bit (splitmix64 in 32-bit halves).
import type { LossKernels, LossReduction } from '../kernels/loss.js';
import { grid1d, type GpuRuntime, type Grid, type KernelSpec } from './runtime.js';
import { GpuStorage, gpuStorage } from './storage.js';
import type { Storage } from '../storage.js';
import { gridOf, storageExactly } from './checks.js';

const ROW_WG = 64;

/** Row index from a grid of one workgroup per row (rows beyond 65535 use y), and the tree helpers. */
const ROW_SCOPE = `
var<workgroup> red: array<f32, ${ROW_WG}>;
fn row_max(v: f32, lane: u32) -> f32 {
  red[lane] = v;
  workgroupBarrier();
  for (var h = ${ROW_WG / 2}u; h > 0u; h /= 2u) {
    if (lane < h) { red[lane] = max(red[lane], red[lane + h]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
fn row_sum(v: f32, lane: u32) -> f32 {
  red[lane] = v;
  workgroupBarrier();
  for (var h = ${ROW_WG / 2}u; h > 0u; h /= 2u) {
    if (lane < h) { red[lane] = red[lane] + red[lane + h]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
fn neg_inf() -> f32 { var bits = 0xff800000u; return bitcast<f32>(bits); }`;

const SOFTMAX_FORWARD: KernelSpec = {
  name: 'softmaxForward',
  storages: [{ name: 'x', type: 'f32', access: 'read' }, { name: 'y', type: 'f32', access: 'read_write' }],
  params: [{ name: 'rows', type: 'u32' }, { name: 'cols', type: 'u32' }, { name: 'log', type: 'u32' }],
  workgroupSize: [ROW_WG],
  moduleScope: ROW_SCOPE,
  body: `
  let row = wid.x + wid.y * nwg.x;
  let live = row < P.rows;
  let base = row * P.cols;
  var m = neg_inf();
  if (live) { for (var j = lidx; j < P.cols; j += ${ROW_WG}u) { m = max(m, x[P.x_off + base + j]); } }
  m = row_max(m, lidx);
  var s = 0.0;
  if (live) { for (var j = lidx; j < P.cols; j += ${ROW_WG}u) { s += exp(x[P.x_off + base + j] - m); } }
  s = row_sum(s, lidx);
  if (!live) { return; }
  let ls = log(s);
  for (var j = lidx; j < P.cols; j += ${ROW_WG}u) {
    let d = x[P.x_off + base + j] - m;
    if (P.log != 0u) { y[P.y_off + base + j] = d - ls; } else { y[P.y_off + base + j] = exp(d) / s; }
  }`,
};

// softmax: gx = y * (gy - sum(gy * y)); log-softmax: gx = gy - exp(y) * sum(gy).
const SOFTMAX_BACKWARD: KernelSpec = {
  name: 'softmaxBackward',
  storages: [
    { name: 'y', type: 'f32', access: 'read' },
    { name: 'gy', type: 'f32', access: 'read' },
    { name: 'gx', type: 'f32', access: 'read_write' },
  ],
  params: [{ name: 'rows', type: 'u32' }, { name: 'cols', type: 'u32' }, { name: 'log', type: 'u32' }],
  workgroupSize: [ROW_WG],
  moduleScope: ROW_SCOPE,
  body: `
  let row = wid.x + wid.y * nwg.x;
  let live = row < P.rows;
  let base = row * P.cols;
  var s = 0.0;
  if (live) {
    for (var j = lidx; j < P.cols; j += ${ROW_WG}u) {
      let g = gy[P.gy_off + base + j];
      if (P.log != 0u) { s += g; } else { s += g * y[P.y_off + base + j]; }
    }
  }
  s = row_sum(s, lidx);
  if (!live) { return; }
  for (var j = lidx; j < P.cols; j += ${ROW_WG}u) {
    let g = gy[P.gy_off + base + j];
    let v = y[P.y_off + base + j];
    if (P.log != 0u) { gx[P.gx_off + base + j] = g - exp(v) * s; } else { gx[P.gx_off + base + j] = v * (g - s); }
  }`,
};

/**
 * Cross-entropy per row with label smoothing eps (target q = (1 - eps) onehot + eps / C):
 *   loss_i = logsumexp(x_i) - (1 - eps) x_i[t_i] - (eps / C) sum_j x_ij, 0 on ignored rows;
 * writes term[i] and cnt[i] (1, or 0 on ignored rows).
 */
const CE_ROWS: KernelSpec = {
  name: 'crossEntropyRows',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 't', type: 'i32', access: 'read' },
    { name: 'term', type: 'f32', access: 'read_write' },
    { name: 'cnt', type: 'f32', access: 'read_write' },
  ],
  params: [{ name: 'N', type: 'u32' }, { name: 'C', type: 'u32' }, { name: 'ignore', type: 'i32' }, { name: 'eps', type: 'f32' }],
  workgroupSize: [ROW_WG],
  moduleScope: ROW_SCOPE,
  body: `
  let row = wid.x + wid.y * nwg.x;
  let live = row < P.N;
  let base = P.x_off + row * P.C;
  var m = neg_inf();
  if (live) { for (var j = lidx; j < P.C; j += ${ROW_WG}u) { m = max(m, x[base + j]); } }
  m = row_max(m, lidx);
  var s = 0.0;
  var sx = 0.0;
  if (live) {
    for (var j = lidx; j < P.C; j += ${ROW_WG}u) { let v = x[base + j]; s += exp(v - m); sx += v; }
  }
  s = row_sum(s, lidx);
  sx = row_sum(sx, lidx);
  if (!live || lidx != 0u) { return; }
  let tc = t[P.t_off + row];
  if (tc == P.ignore) {
    term[P.term_off + row] = 0.0;
    cnt[P.cnt_off + row] = 0.0;
    return;
  }
  let lse = m + log(s);
  var loss = lse - x[base + u32(tc)];
  if (P.eps != 0.0) { loss = lse - (1.0 - P.eps) * x[base + u32(tc)] - P.eps / f32(P.C) * sx; }
  term[P.term_off + row] = loss;
  cnt[P.cnt_off + row] = 1.0;`,
};

/** Upstream scale of row i: gy[i] ('none'), gy[0] ('sum'), gy[0] / count[0] ('mean'). */
const SCALE_FN = `
fn upstream(i: u32) -> f32 {
  if (P.mode == 0u) { return gy[P.gy_off + i]; }
  if (P.mode == 1u) { return gy[P.gy_off]; }
  return gy[P.gy_off] / P.denom_scale / count[P.count_off];
}`;

// gx_ij = s_i * (softmax_ij - q_ij), 0 on ignored rows.
const CE_BACKWARD: KernelSpec = {
  name: 'crossEntropyBackward',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 't', type: 'i32', access: 'read' },
    { name: 'gy', type: 'f32', access: 'read' },
    { name: 'count', type: 'f32', access: 'read' },
    { name: 'gx', type: 'f32', access: 'read_write' },
  ],
  params: [
    { name: 'N', type: 'u32' }, { name: 'C', type: 'u32' }, { name: 'ignore', type: 'i32' }, { name: 'eps', type: 'f32' },
    { name: 'mode', type: 'u32' }, { name: 'denom_scale', type: 'f32' },
  ],
  workgroupSize: [ROW_WG],
  moduleScope: ROW_SCOPE + SCALE_FN,
  body: `
  let row = wid.x + wid.y * nwg.x;
  let live = row < P.N;
  let base = row * P.C;
  var m = neg_inf();
  if (live) { for (var j = lidx; j < P.C; j += ${ROW_WG}u) { m = max(m, x[P.x_off + base + j]); } }
  m = row_max(m, lidx);
  var s = 0.0;
  if (live) { for (var j = lidx; j < P.C; j += ${ROW_WG}u) { s += exp(x[P.x_off + base + j] - m); } }
  s = row_sum(s, lidx);
  if (!live) { return; }
  let tc = t[P.t_off + row];
  if (tc == P.ignore) {
    for (var j = lidx; j < P.C; j += ${ROW_WG}u) { gx[P.gx_off + base + j] = 0.0; }
    return;
  }
  let sc = upstream(row);
  let off = P.eps / f32(P.C);
  for (var j = lidx; j < P.C; j += ${ROW_WG}u) {
    var q = off;
    if (i32(j) == tc) { q += 1.0 - P.eps; }
    gx[P.gx_off + base + j] = sc * (exp(x[P.x_off + base + j] - m) / s - q);
  }`,
};

/** -logp[i, t_i] per row (0 and not counted on ignored rows). */
const NLL_ROWS: KernelSpec = {
  name: 'nllLossRows',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 't', type: 'i32', access: 'read' },
    { name: 'term', type: 'f32', access: 'read_write' },
    { name: 'cnt', type: 'f32', access: 'read_write' },
  ],
  params: [{ name: 'N', type: 'u32' }, { name: 'C', type: 'u32' }, { name: 'ignore', type: 'i32' }],
  workgroupSize: [256],
  body: `
  let i = linear_id(gid, nwg);
  if (i >= P.N) { return; }
  let tc = t[P.t_off + i];
  if (tc == P.ignore) { term[P.term_off + i] = 0.0; cnt[P.cnt_off + i] = 0.0; return; }
  term[P.term_off + i] = -x[P.x_off + i * P.C + u32(tc)];
  cnt[P.cnt_off + i] = 1.0;`,
};

const NLL_BACKWARD: KernelSpec = {
  name: 'nllLossBackward',
  storages: [
    { name: 't', type: 'i32', access: 'read' },
    { name: 'gy', type: 'f32', access: 'read' },
    { name: 'count', type: 'f32', access: 'read' },
    { name: 'gx', type: 'f32', access: 'read_write' },
  ],
  params: [{ name: 'N', type: 'u32' }, { name: 'C', type: 'u32' }, { name: 'ignore', type: 'i32' }, { name: 'mode', type: 'u32' }, { name: 'denom_scale', type: 'f32' }],
  workgroupSize: [256],
  moduleScope: SCALE_FN,
  body: `
  let k = linear_id(gid, nwg);
  if (k >= P.N * P.C) { return; }
  let i = k / P.C;
  let tc = t[P.t_off + i];
  var v = 0.0;
  if (tc != P.ignore && u32(tc) == k % P.C) { v = -upstream(i); }
  gx[P.gx_off + k] = v;`,
};

/** Elementwise loss terms: 0 = (a - b)^2, 1 = BCE with logits max(x, 0) - x*y + log(1 + exp(-|x|)). */
const TERMS: KernelSpec = {
  name: 'lossTerms',
  storages: [{ name: 'a', type: 'f32', access: 'read' }, { name: 'b', type: 'f32', access: 'read' }, { name: 'term', type: 'f32', access: 'read_write' }],
  params: [{ name: 'n', type: 'u32' }, { name: 'kind', type: 'u32' }],
  workgroupSize: [256],
  body: `
  let i = linear_id(gid, nwg);
  if (i >= P.n) { return; }
  let x = a[P.a_off + i];
  let y = b[P.b_off + i];
  if (P.kind == 0u) { let d = x - y; term[P.term_off + i] = d * d; return; }
  term[P.term_off + i] = max(x, 0.0) - x * y + log(1.0 + exp(-abs(x)));`,
};

/**
 * Elementwise loss gradients, s = upstream (/ n for 'mean'):
 *   MSE: ga = 2 (a - b) s, gb = -ga;  BCE: gx = (sigmoid(x) - y) s, gTarget = -x s.
 */
const TERM_GRADS: KernelSpec = {
  name: 'lossTermGrads',
  storages: [
    { name: 'a', type: 'f32', access: 'read' },
    { name: 'b', type: 'f32', access: 'read' },
    { name: 'gy', type: 'f32', access: 'read' },
    { name: 'count', type: 'f32', access: 'read', optional: true },
    { name: 'ga', type: 'f32', access: 'read_write', optional: true },
    { name: 'gb', type: 'f32', access: 'read_write', optional: true },
  ],
  params: [
    { name: 'n', type: 'u32' }, { name: 'kind', type: 'u32' }, { name: 'mode', type: 'u32' }, { name: 'denom_scale', type: 'f32' },
    { name: 'hasA', type: 'u32' }, { name: 'hasB', type: 'u32' },
  ],
  workgroupSize: [256],
  moduleScope: `
fn upstream(i: u32) -> f32 {
  if (P.mode == 0u) { return gy[P.gy_off + i]; }
  if (P.mode == 1u) { return gy[P.gy_off]; }
  return gy[P.gy_off] / P.denom_scale;
}`,
  body: `
  let i = linear_id(gid, nwg);
  if (i >= P.n) { return; }
  let x = a[P.a_off + i];
  let y = b[P.b_off + i];
  let s = upstream(i);
  if (P.kind == 0u) {
    let g = 2.0 * (x - y) * s;
    if (P.hasA != 0u) { ga[P.ga_off + i] = g; }
    if (P.hasB != 0u) { gb[P.gb_off + i] = -g; }
    return;
  }
  if (P.hasA != 0u) { ga[P.ga_off + i] = (1.0 / (1.0 + exp(-x)) - y) * s; }
  if (P.hasB != 0u) { gb[P.gb_off + i] = -x * s; }`,
};

const CHUNK = 4096;

/** part[w] = sum of src[w*4096 .. (w+1)*4096) (lanes stride, then a tree). */
const SUM_CHUNKS: KernelSpec = {
  name: 'lossSumChunks',
  storages: [{ name: 'src', type: 'f32', access: 'read' }, { name: 'part', type: 'f32', access: 'read_write' }],
  params: [{ name: 'n', type: 'u32' }],
  workgroupSize: [256],
  moduleScope: 'var<workgroup> red: array<f32, 256>;',
  body: `
  let w = wid.x + wid.y * nwg.x;
  let start = w * ${CHUNK}u;
  var s = 0.0;
  for (var i = start + lidx; i < min(P.n, start + ${CHUNK}u); i += 256u) { s += src[P.src_off + i]; }
  red[lidx] = s;
  workgroupBarrier();
  for (var h = 128u; h > 0u; h /= 2u) {
    if (lidx < h) { red[lidx] += red[lidx + h]; }
    workgroupBarrier();
  }
  if (lidx == 0u) { part[P.part_off + w] = red[0]; }`,
};

/**
 * out[0] = sum of the loss chunk sums, divided for 'mean' by the count (sum of the count chunk
 * sums, when given) or by n; count[0] = that count.
 */
const FINISH: KernelSpec = {
  name: 'lossFinish',
  storages: [
    { name: 'lossPart', type: 'f32', access: 'read' },
    { name: 'cntPart', type: 'f32', access: 'read', optional: true },
    { name: 'out', type: 'f32', access: 'read_write' },
    { name: 'count', type: 'f32', access: 'read_write', optional: true },
  ],
  params: [{ name: 'parts', type: 'u32' }, { name: 'hasCount', type: 'u32' }, { name: 'mean', type: 'u32' }, { name: 'n', type: 'f32' }, { name: 'writeOut', type: 'u32' }],
  workgroupSize: [256],
  moduleScope: 'var<workgroup> red: array<f32, 256>;\nvar<workgroup> redc: array<f32, 256>;',
  body: `
  var s = 0.0;
  var c = 0.0;
  for (var i = lidx; i < P.parts; i += 256u) {
    s += lossPart[P.lossPart_off + i];
    if (P.hasCount != 0u) { c += cntPart[P.cntPart_off + i]; }
  }
  red[lidx] = s;
  redc[lidx] = c;
  workgroupBarrier();
  for (var h = 128u; h > 0u; h /= 2u) {
    if (lidx < h) { red[lidx] += red[lidx + h]; redc[lidx] += redc[lidx + h]; }
    workgroupBarrier();
  }
  if (lidx != 0u) { return; }
  var denom = P.n;
  if (P.hasCount != 0u) { denom = redc[0]; count[P.count_off] = denom; }
  if (P.writeOut == 0u) { return; }
  if (P.mean != 0u) { out[P.out_off] = red[0] / denom; } else { out[P.out_off] = red[0]; }`,
};

/** Converts float targets to int32 and records the first bad one: check[0] = its index (atomicMin). */
const CLASS_TARGETS: KernelSpec = {
  name: 'classTargets',
  storages: [
    { name: 'v', type: 'f32', access: 'read' },
    { name: 'out', type: 'i32', access: 'read_write' },
    { name: 'check', type: 'atomic<i32>', access: 'read_write' },
  ],
  params: [{ name: 'n', type: 'u32' }, { name: 'classes', type: 'i32' }, { name: 'ignore', type: 'i32' }],
  workgroupSize: [256],
  body: `
  let i = linear_id(gid, nwg);
  if (i >= P.n) { return; }
  let c = v[P.v_off + i];
  let finite = (bitcast<u32>(c) & 0x7f800000u) != 0x7f800000u;
  let whole = finite && floor(c) == c && abs(c) < 2147483648.0;
  var ok = whole;
  if (whole) {
    let k = i32(c);
    ok = k == P.ignore || (k >= 0 && k < P.classes);
    out[P.out_off + i] = k;
  } else {
    out[P.out_off + i] = P.ignore;
  }
  if (!ok) { atomicMin(&check[P.check_off], i32(i)); }`,
};

/** check[1] = the bits of the first bad value (after CLASS_TARGETS). */
const CLASS_TARGETS_VALUE: KernelSpec = {
  name: 'classTargetsValue',
  storages: [{ name: 'v', type: 'f32', access: 'read' }, { name: 'check', type: 'i32', access: 'read_write' }],
  params: [{ name: 'n', type: 'u32' }],
  workgroupSize: [1],
  body: `
  let k = check[P.check_off];
  if (k >= 0 && u32(k) < P.n) { check[P.check_off + 1u] = bitcast<i32>(v[P.v_off + u32(k)]); }`,
};

/** u(seed, i) of native dropout_mask: splitmix64 with 64-bit words as (lo, hi) u32 pairs. */
const DROPOUT: KernelSpec = {
  name: 'dropoutMask',
  storages: [{ name: 'mask', type: 'f32', access: 'read_write' }],
  params: [
    { name: 'n', type: 'u32' }, { name: 'keyLo', type: 'u32' }, { name: 'keyHi', type: 'u32' }, { name: 'threshold', type: 'u32' },
    { name: 'scale', type: 'f32' },
  ],
  workgroupSize: [256],
  moduleScope: `
// 32 x 32 -> 64-bit product as (lo, hi), from 16-bit halves.
fn mul32(a: u32, b: u32) -> vec2u {
  let a0 = a & 0xffffu; let a1 = a >> 16u;
  let b0 = b & 0xffffu; let b1 = b >> 16u;
  let p00 = a0 * b0; let p01 = a0 * b1; let p10 = a1 * b0; let p11 = a1 * b1;
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  let lo = (p00 & 0xffffu) | (mid << 16u);
  let hi = p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
  return vec2u(lo, hi);
}
fn mul64(a: vec2u, b: vec2u) -> vec2u {
  let p = mul32(a.x, b.x);
  return vec2u(p.x, p.y + a.x * b.y + a.y * b.x);
}
fn add64(a: vec2u, b: vec2u) -> vec2u {
  let lo = a.x + b.x;
  return vec2u(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}
fn shr64(a: vec2u, s: u32) -> vec2u {
  if (s >= 32u) { return vec2u(a.y >> (s - 32u), 0u); }
  return vec2u((a.x >> s) | (a.y << (32u - s)), a.y >> s);
}
fn xor_shr(a: vec2u, s: u32) -> vec2u { return a ^ shr64(a, s); }
fn mix64(z0: vec2u) -> vec2u {
  var z = mul64(xor_shr(z0, 30u), vec2u(0x1ce4e5b9u, 0xbf58476du));
  z = mul64(xor_shr(z, 27u), vec2u(0x133111ebu, 0x94d049bbu));
  return xor_shr(z, 31u);
}`,
  body: `
  let i = linear_id(gid, nwg);
  if (i >= P.n) { return; }
  let t = mul64(vec2u(i + 1u, select(0u, 1u, i == 0xffffffffu)), vec2u(0x7f4a7c15u, 0x9e3779b9u));
  let z = mix64(add64(vec2u(P.keyLo, P.keyHi), t));
  let bits24 = z.y >> 8u;
  mask[P.mask_off + i] = select(0.0, P.scale, bits24 >= P.threshold);`,
};

const MODE: Record<LossReduction, number> = { none: 0, sum: 1, mean: 2 };

function checkReduction(fn: string, r: LossReduction): void {
  if (!(r in MODE)) throw new RangeError(`${fn}: reduction must be 'mean', 'sum' or 'none', got ${JSON.stringify(r)}`);
}

function splitmix64(z: bigint): bigint {
  const M = (1n << 64n) - 1n;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M;
  return z ^ (z >> 31n);
}

export function webgpuLossKernels(rt: GpuRuntime): LossKernels {
  /** Adds n terms (and optionally n counts) into out[0] / count[0] as the reduction asks. */
  const reduceTerms = (term: GpuStorage, cnt: GpuStorage | null, n: number, reduction: LossReduction, out: Storage | null, count: Storage | null): void => {
    const parts = Math.max(1, Math.ceil(n / CHUNK));
    const lossPart = rt.allocate(parts, 'float32');
    const cntPart = cnt === null ? null : rt.allocate(parts, 'float32');
    if (n === 0) {
      rt.clear(lossPart);
      if (cntPart !== null) rt.clear(cntPart);
    } else {
      rt.run(SUM_CHUNKS, [term, lossPart], { n }, gridOf(parts));
      if (cnt !== null && cntPart !== null) rt.run(SUM_CHUNKS, [cnt, cntPart], { n }, gridOf(parts));
    }
    const sink = out ?? rt.allocate(1, 'float32');
    rt.run(FINISH, [lossPart, cntPart, sink, count], {
      parts, hasCount: cnt !== null, mean: reduction === 'mean', n, writeOut: out !== null,
    }, [1, 1, 1]);
    if (out === null) rt.release(sink);
    rt.release(lossPart);
    if (cntPart !== null) rt.release(cntPart);
  };

  /** Row losses with targets: 'none' writes them to out; otherwise they are reduced. count is always written. */
  const rowLoss = (spec: KernelSpec, grid: Grid, x: Storage, N: number, target: Storage, params: Record<string, number>, reduction: LossReduction, out: Storage, count: Storage): void => {
    const term = reduction === 'none' ? gpuStorage(out, `${spec.name} (out)`) : rt.allocate(N, 'float32');
    const cnt = rt.allocate(N, 'float32');
    if (N > 0) rt.run(spec, [x, target, term, cnt], params, grid);
    reduceTerms(term, cnt, N, reduction, reduction === 'none' ? null : out, count);
    if (reduction !== 'none') rt.release(term);
    rt.release(cnt);
  };

  /** An elementwise loss (TERMS kind 0: MSE, 1: BCE with logits) over n values, reduced as asked. */
  const termLoss = (fn: string, kind: number, names: [string, string], a: Storage, b: Storage, n: number, reduction: LossReduction, out: Storage): void => {
    checkReduction(fn, reduction);
    storageExactly(fn, names[0], a, n);
    storageExactly(fn, names[1], b, n);
    storageExactly(fn, 'out', out, reduction === 'none' ? n : 1);
    const term = reduction === 'none' ? gpuStorage(out, fn) : rt.allocate(n, 'float32');
    if (n > 0) rt.run(TERMS, [a, b, term], { n, kind }, grid1d(n, 256));
    if (reduction !== 'none') {
      reduceTerms(term, null, n, reduction, out, null);
      rt.release(term);
    }
  };
  /** Both gradients of an elementwise loss (either may be null). */
  const termLossGrad = (
    fn: string, kind: number, names: [string, string, string, string], a: Storage, b: Storage, n: number, reduction: LossReduction, gy: Storage,
    ga: Storage | null, gb: Storage | null,
  ): void => {
    checkReduction(fn, reduction);
    storageExactly(fn, names[0], a, n);
    storageExactly(fn, names[1], b, n);
    storageExactly(fn, 'gy', gy, reduction === 'none' ? n : 1);
    if (ga !== null) storageExactly(fn, names[2], ga, n);
    if (gb !== null) storageExactly(fn, names[3], gb, n);
    if (n === 0 || (ga === null && gb === null)) return;
    rt.run(TERM_GRADS, [a, b, gy, null, ga, gb], { n, kind, mode: MODE[reduction], denom_scale: n, hasA: ga !== null, hasB: gb !== null }, grid1d(n, 256));
  };

  return {
    softmaxForward({ x, rows, cols, y, log }) {
      storageExactly('softmaxForward', 'x', x, rows * cols);
      storageExactly('softmaxForward', 'y', y, rows * cols);
      if (rows * cols === 0) return;
      rt.run(SOFTMAX_FORWARD, [x, y], { rows, cols, log }, gridOf(rows));
    },
    softmaxBackward({ y, gy, rows, cols, gx, log }) {
      for (const [arg, s] of [['y', y], ['gy', gy], ['gx', gx]] as const) storageExactly('softmaxBackward', arg, s, rows * cols);
      if (rows * cols === 0) return;
      rt.run(SOFTMAX_BACKWARD, [y, gy, gx], { rows, cols, log }, gridOf(rows));
    },
    crossEntropyForward({ logits, N, C, target, eps, ignoreIndex, reduction, out, count }) {
      const fn = 'crossEntropyForward';
      checkReduction(fn, reduction);
      storageExactly(fn, 'logits', logits, N * C);
      storageExactly(fn, 'target', target, N, 'int32');
      storageExactly(fn, 'out', out, reduction === 'none' ? N : 1);
      storageExactly(fn, 'count', count, 1);
      rowLoss(CE_ROWS, gridOf(N), logits, N, target, { N, C, ignore: ignoreIndex, eps }, reduction, out, count);
    },
    crossEntropyBackward({ logits, N, C, target, eps, ignoreIndex, reduction, gy, count, gx }) {
      const fn = 'crossEntropyBackward';
      checkReduction(fn, reduction);
      storageExactly(fn, 'logits', logits, N * C);
      storageExactly(fn, 'target', target, N, 'int32');
      storageExactly(fn, 'gy', gy, reduction === 'none' ? N : 1);
      storageExactly(fn, 'gx', gx, N * C);
      if (N * C === 0) return;
      rt.run(CE_BACKWARD, [logits, target, gy, count, gx], { N, C, ignore: ignoreIndex, eps, mode: MODE[reduction], denom_scale: 1 }, gridOf(N));
    },
    nllLossForward({ logp, N, C, target, ignoreIndex, reduction, out, count }) {
      const fn = 'nllLossForward';
      checkReduction(fn, reduction);
      storageExactly(fn, 'logp', logp, N * C);
      storageExactly(fn, 'target', target, N, 'int32');
      storageExactly(fn, 'out', out, reduction === 'none' ? N : 1);
      storageExactly(fn, 'count', count, 1);
      rowLoss(NLL_ROWS, grid1d(N, 256), logp, N, target, { N, C, ignore: ignoreIndex }, reduction, out, count);
    },
    nllLossBackward({ N, C, target, ignoreIndex, reduction, gy, count, gx }) {
      const fn = 'nllLossBackward';
      checkReduction(fn, reduction);
      storageExactly(fn, 'target', target, N, 'int32');
      storageExactly(fn, 'gy', gy, reduction === 'none' ? N : 1);
      storageExactly(fn, 'gx', gx, N * C);
      if (N * C === 0) return;
      rt.run(NLL_BACKWARD, [target, gy, count, gx], { N, C, ignore: ignoreIndex, mode: MODE[reduction], denom_scale: 1 }, grid1d(N * C, 256));
    },
    classTargets({ values, n, classes, ignoreIndex, out, fn }) {
      const v = gpuStorage(values, fn), o = gpuStorage(out, fn, 'int32');
      if (v.length !== n || o.length !== n) throw new RangeError(`classTargets: values and out must hold ${n} values, got ${v.length} and ${o.length}`);
      if (n === 0) return;
      const check = rt.allocate(2, 'int32');
      rt.write(check, Int32Array.from([0x7fffffff, 0]));
      rt.run(CLASS_TARGETS, [v, o, check], { n, classes, ignore: ignoreIndex }, grid1d(n, 256));
      rt.run(CLASS_TARGETS_VALUE, [v, check], { n }, [1, 1, 1]);
      rt.deferCheck(check, (w) => {
        if (w[0] === 0x7fffffff) return null;
        const c = new Float32Array(Int32Array.of(w[1]).buffer)[0];
        if (!Number.isInteger(c)) return `${fn}: target[${w[0]}] = ${c} is not an integer class index`;
        return `${fn}: target[${w[0]}] = ${c} is out of range [0, ${classes})`;
      });
    },
    mseLossForward: ({ a, b, n, reduction, out }) => termLoss('mseLossForward', 0, ['a', 'b'], a, b, n, reduction, out),
    mseLossBackward: ({ a, b, n, reduction, gy, ga, gb }) => termLossGrad('mseLossBackward', 0, ['a', 'b', 'ga', 'gb'], a, b, n, reduction, gy, ga, gb),
    bceWithLogitsForward: ({ x, y, n, reduction, out }) => termLoss('bceWithLogitsForward', 1, ['x', 'y'], x, y, n, reduction, out),
    bceWithLogitsBackward: ({ x, y, n, reduction, gy, gx, gTarget }) =>
      termLossGrad('bceWithLogitsBackward', 1, ['x', 'y', 'gx', 'gTarget'], x, y, n, reduction, gy, gx, gTarget),
    dropoutMask({ seed, p, n, mask }) {
      const fn = 'dropoutMask';
      if (!Number.isSafeInteger(seed)) throw new RangeError(`${fn}: seed must be a safe integer, got ${seed}`);
      if (!(p >= 0 && p < 1)) throw new RangeError(`${fn}: p must be in [0, 1), got ${p}`);
      storageExactly(fn, 'mask', mask, n);
      if (n === 0) return;
      const key = splitmix64(BigInt.asUintN(64, BigInt(seed)));
      rt.run(DROPOUT, [mask], {
        n, keyLo: Number(key & 0xffffffffn), keyHi: Number(key >> 32n), threshold: Math.ceil(p * 16777216), scale: Math.fround(1 / (1 - p)),
      }, grid1d(n, 256));
    },
  };
}
