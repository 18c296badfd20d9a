// WebGPU elementwise kernels (WGSL), implementing ElementwiseKernels of kernels/elementwise.ts on
// the runtime's storage. The formulas, NaN behaviour and derivative conventions are those of
// native/kernels/elementwise.cc: comparisons are written as select() on `>`/`<` (so a NaN operand
// takes the same branch as in C++), never with WGSL's max/min, whose NaN result is unspecified.
import { BinaryOp, UnaryOp, type ElementwiseKernels } from '../kernels/elementwise.js';
import type { Storage } from '../storage.js';
import { grid1d, type GpuRuntime, type KernelSpec } from './runtime.js';
import { GpuStorage, gpuStorage } from './storage.js';

const WG = 256;

/** Dims a binary kernel takes after merging (params: three u32 arrays of this many entries). */
const MAX_BINARY_DIMS = 16;
/** Merged kept dims and merged reduced dims sumToShape takes (each). */
const MAX_SUM_GROUPS = 8;

// NaN and infinity cannot be WGSL constants (a constant expression must be finite), so they are
// read from private variables, which are evaluated at run time.
const SPECIALS = /* wgsl */ `
var<private> NAN_BITS: u32 = 0x7fc00000u;
var<private> INF_BITS: u32 = 0x7f800000u;
fn f32_nan() -> f32 { return bitcast<f32>(NAN_BITS); }
fn f32_inf() -> f32 { return bitcast<f32>(INF_BITS); }
`;

// C's powf: x^0 = 1 and 1^y = 1 (NaN included); a negative base takes an integer exponent
// (sign (-1)^y) and gives NaN for any other (but -0 and -inf give +0 or +inf); otherwise exp2(y * log2|x|), as WGSL's pow is
// undefined for x < 0. y = 2 is computed exactly as x * x (the usual squaring).
const POW = /* wgsl */ `
fn c_pow(x: f32, y: f32) -> f32 {
  if (y == 0.0 || x == 1.0) { return 1.0; }
  if (y == 2.0) { return x * x; }
  let m = abs(x);
  var r: f32;
  if (m == 0.0) {
    r = select(f32_inf(), 0.0, y > 0.0);
  } else if (m == 1.0 && abs(y) == f32_inf()) {
    return 1.0;
  } else {
    r = exp2(y * log2(m));
  }
  if ((bitcast<u32>(x) >> 31u) == 1u && !(x != x)) {
    let integral = floor(y) == y;
    if (!integral) { return select(f32_nan(), r, m == 0.0 || m == f32_inf()); }
    let odd = y - 2.0 * floor(0.5 * y) == 1.0;
    return select(r, -r, odd);
  }
  return r;
}
`;

// tanh(v) = sign(v) (1 - 2 / (exp(2|v|) + 1)); below |v| = 0.25 that difference cancels, so the
// Taylor series v - v^3/3 + 2v^5/15 - 17v^7/315 + 62v^9/2835 is used (truncation < 1e-8 relative).
// erfc(z), z >= 0, is the Chebyshev-fitted form t exp(-z^2 + poly(t)), t = 1 / (1 + z/2), of
// Numerical Recipes (relative error < 1.2e-7 for all z >= 0); gelu's CDF Phi(v) = (1 + erf(v/sqrt2)) / 2
// is computed as the CPU does, 0.5 (1 + erf(u)) with erf(u) rounded to f32 first (1 - erfc(u),
// or erfc(-u) - 1 for u < 0): far in the left tail 1 + erf cancels to 0 there as on the CPU
// (and in PyTorch's float32 gelu), instead of keeping the tail's tiny values.
const TRANSCENDENTALS = /* wgsl */ `
fn tanh_f(v: f32) -> f32 {
  let a = abs(v);
  if (a < 0.25) {
    let s = v * v;
    return v * (1.0 + s * (-0.33333333333 + s * (0.13333333333 + s * (-0.053968253968 + s * 0.021869488536))));
  }
  let r = 1.0 - 2.0 / (exp(2.0 * a) + 1.0);
  return select(r, -r, v < 0.0);
}
fn erfc_pos(z: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.5 * z);
  let p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807
    + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * exp(p - z * z);
}
fn normal_cdf(v: f32) -> f32 {
  let u = v * 0.70710678118654752;
  let c = erfc_pos(abs(u));
  let erf = select(1.0 - c, c - 1.0, u < 0.0);
  return 0.5 * (1.0 + erf);
}
`;

const UNARY_FN = /* wgsl */ `
${SPECIALS}
${POW}
${TRANSCENDENTALS}
fn unary_f(op: u32, v: f32, p0: f32, p1: f32) -> f32 {
  var r: f32;
  switch op {
    case ${UnaryOp.neg}u: { r = -v; }
    case ${UnaryOp.exp}u: { r = exp(v); }
    case ${UnaryOp.log}u: { r = select(select(log(v), -f32_inf(), v == 0.0), f32_nan(), v < 0.0); }
    case ${UnaryOp.sqrt}u: { r = select(sqrt(v), f32_nan(), v < 0.0); }
    case ${UnaryOp.abs}u: { r = abs(v); }
    case ${UnaryOp.relu}u: { r = select(0.0, v, v > 0.0); }
    case ${UnaryOp.sigmoid}u: { r = 1.0 / (1.0 + exp(-v)); }
    case ${UnaryOp.tanh}u: { r = tanh_f(v); }
    case ${UnaryOp.gelu}u: { r = v * normal_cdf(v); }
    case ${UnaryOp.leakyRelu}u: { r = select(v * p0, v, v > 0.0); }
    // std::min(std::max(v, p0), p1): max(v, p0) = v < p0 ? p0 : v; min(m, p1) = p1 < m ? p1 : m.
    case ${UnaryOp.clamp}u: { let m = select(v, p0, v < p0); r = select(m, p1, p1 < m); }
    case ${UnaryOp.powScalar}u: { r = c_pow(v, p0); }
    case ${UnaryOp.addScalar}u: { r = v + p0; }
    case ${UnaryOp.mulScalar}u: { r = v * p0; }
    case ${UnaryOp.rsubScalar}u: { r = p0 - v; }
    case ${UnaryOp.rdivScalar}u: { r = p0 / v; }
    case ${UnaryOp.square}u: { r = v * v; }
    case ${UnaryOp.sign}u: { r = select(select(0.0, -1.0, v < 0.0), 1.0, v > 0.0); }
    default: { r = 1.0 / select(sqrt(v), f32_nan(), v < 0.0); }
  }
  return r;
}
`;

const UNARY: KernelSpec = {
  name: 'unary',
  storages: [{ name: 'x', type: 'f32', access: 'read' }, { name: 'y', type: 'f32', access: 'read_write' }],
  params: [{ name: 'n', type: 'u32' }, { name: 'op', type: 'u32' }, { name: 'p0', type: 'f32' }, { name: 'p1', type: 'f32' }],
  workgroupSize: [WG],
  moduleScope: UNARY_FN,
  body: 'let i = linear_id(gid, nwg); if (i < P.n) { y[P.y_off + i] = unary_f(P.op, x[P.x_off + i], P.p0, P.p1); }',
};

/** y = f(y) where x is y (no copy of the input). */
const UNARY_IN_PLACE: KernelSpec = {
  name: 'unary_in_place',
  storages: [{ name: 'y', type: 'f32', access: 'read_write' }],
  params: UNARY.params,
  workgroupSize: [WG],
  moduleScope: UNARY_FN,
  body: 'let i = linear_id(gid, nwg); if (i < P.n) { y[P.y_off + i] = unary_f(P.op, y[P.y_off + i], P.p0, P.p1); }',
};

// gx = gy f'(x), written with the saved input v = x and output o = y exactly as the CPU does
// (relu'(0) = leakyRelu'(0) = 0 -> slope, abs'(0) = 0, clamp passes the gradient on
// p0 <= x <= p1, sign' = 0, powScalar with exponent 0 gives 0).
const UNARY_BACKWARD: KernelSpec = {
  name: 'unary_backward',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 'y', type: 'f32', access: 'read' },
    { name: 'gy', type: 'f32', access: 'read' },
    { name: 'gx', type: 'f32', access: 'read_write' },
  ],
  params: UNARY.params,
  workgroupSize: [WG],
  moduleScope: /* wgsl */ `
${SPECIALS}
${POW}
${TRANSCENDENTALS}
fn unary_grad(op: u32, v: f32, o: f32, g: f32, p0: f32, p1: f32) -> f32 {
  var r: f32;
  switch op {
    case ${UnaryOp.neg}u: { r = -g; }
    case ${UnaryOp.exp}u: { r = g * o; }
    case ${UnaryOp.log}u: { r = g / v; }
    case ${UnaryOp.sqrt}u: { r = g * 0.5 / o; }
    case ${UnaryOp.abs}u: { r = select(select(0.0, -g, v < 0.0), g, v > 0.0); }
    case ${UnaryOp.relu}u: { r = select(0.0, g, v > 0.0); }
    case ${UnaryOp.sigmoid}u: { r = g * o * (1.0 - o); }
    case ${UnaryOp.tanh}u: { r = g * (1.0 - o * o); }
    // d/dv [v Phi(v)] = Phi(v) + v phi(v), phi(v) = exp(-v^2 / 2) / sqrt(2 pi).
    case ${UnaryOp.gelu}u: { r = g * (normal_cdf(v) + v * (0.3989422804014327 * exp(-0.5 * v * v))); }
    case ${UnaryOp.leakyRelu}u: { r = select(g * p0, g, v > 0.0); }
    case ${UnaryOp.clamp}u: { r = select(0.0, g, v >= p0 && v <= p1); }
    case ${UnaryOp.powScalar}u: { r = select(g * p0 * c_pow(v, p0 - 1.0), 0.0, p0 == 0.0); }
    case ${UnaryOp.addScalar}u: { r = g; }
    case ${UnaryOp.mulScalar}u: { r = g * p0; }
    case ${UnaryOp.rsubScalar}u: { r = -g; }
    case ${UnaryOp.rdivScalar}u: { r = -g * o / v; }
    case ${UnaryOp.square}u: { r = 2.0 * g * v; }
    case ${UnaryOp.sign}u: { r = 0.0; }
    default: { r = -0.5 * g * o * o * o; }
  }
  return r;
}
`,
  body: /* wgsl */ `
  let i = linear_id(gid, nwg);
  if (i < P.n) { gx[P.gx_off + i] = unary_grad(P.op, x[P.x_off + i], y[P.y_off + i], gy[P.gy_off + i], P.p0, P.p1); }`,
};

const BINARY_FN = /* wgsl */ `
${SPECIALS}
${POW}
fn binary_f(op: u32, a: f32, b: f32) -> f32 {
  var r: f32;
  switch op {
    case ${BinaryOp.add}u: { r = a + b; }
    case ${BinaryOp.sub}u: { r = a - b; }
    case ${BinaryOp.mul}u: { r = a * b; }
    case ${BinaryOp.div}u: { r = a / b; }
    case ${BinaryOp.pow}u: { r = c_pow(a, b); }
    // a > b ? a : b and a < b ? a : b, as the CPU: a NaN b gives NaN, a NaN a gives b.
    case ${BinaryOp.max}u: { r = select(b, a, a > b); }
    default: { r = select(b, a, a < b); }
  }
  return r;
}
fn dim(i: u32) -> u32 { return P.dims[i / 4u][i % 4u]; }
`;

// The output index i is split over the merged output dims (innermost fastest); each operand's
// element is the dot product of those coordinates with its strides (0 on broadcast dims).
const BINARY: KernelSpec = {
  name: 'binary',
  storages: [
    { name: 'a', type: 'f32', access: 'read' },
    { name: 'b', type: 'f32', access: 'read' },
    { name: 'out', type: 'f32', access: 'read_write' },
  ],
  params: [
    { name: 'n', type: 'u32' },
    { name: 'op', type: 'u32' },
    { name: 'ndim', type: 'u32' },
    { name: 'dims', type: 'u32', count: MAX_BINARY_DIMS },
    { name: 'sa', type: 'u32', count: MAX_BINARY_DIMS },
    { name: 'sb', type: 'u32', count: MAX_BINARY_DIMS },
  ],
  workgroupSize: [WG],
  moduleScope: BINARY_FN,
  body: /* wgsl */ `
  let i = linear_id(gid, nwg);
  if (i >= P.n) { return; }
  var rem = i;
  var ia = 0u;
  var ib = 0u;
  for (var k = P.ndim; k > 0u; k--) {
    let d = k - 1u;
    let size = dim(d);
    let c = rem % size;
    rem = rem / size;
    ia += c * P.sa[d / 4u][d % 4u];
    ib += c * P.sb[d / 4u][d % 4u];
  }
  out[P.out_off + i] = binary_f(P.op, a[P.a_off + ia], b[P.b_off + ib]);`,
};

/** out = out (op) other or other (op) out, where out is one operand, unbroadcast (no copy of it). */
const BINARY_IN_PLACE: KernelSpec = {
  name: 'binary_in_place',
  storages: [
    { name: 'other', type: 'f32', access: 'read' },
    { name: 'out', type: 'f32', access: 'read_write' },
  ],
  params: [
    { name: 'n', type: 'u32' },
    { name: 'op', type: 'u32' },
    { name: 'ndim', type: 'u32' },
    /** 1 when out is the left operand a. */
    { name: 'outIsA', type: 'u32' },
    { name: 'dims', type: 'u32', count: MAX_BINARY_DIMS },
    { name: 'so', type: 'u32', count: MAX_BINARY_DIMS },
  ],
  workgroupSize: [WG],
  moduleScope: BINARY_FN,
  body: /* wgsl */ `
  let i = linear_id(gid, nwg);
  if (i >= P.n) { return; }
  var rem = i;
  var io = 0u;
  for (var k = P.ndim; k > 0u; k--) {
    let d = k - 1u;
    let size = dim(d);
    io += (rem % size) * P.so[d / 4u][d % 4u];
    rem = rem / size;
  }
  let v = out[P.out_off + i];
  let w = other[P.other_off + io];
  out[P.out_off + i] = select(binary_f(P.op, w, v), binary_f(P.op, v, w), P.outIsA == 1u);`,
};

// ga/gb of maximum/minimum: the extreme operand takes g, a tie splits it g/2 each; a NaN operand
// (no comparison holds) sends g to b for maximum and to a for minimum, as the CPU's
// (a > b) === isMax test does.
const MIN_MAX_BACKWARD: KernelSpec = {
  name: 'min_max_backward',
  storages: [
    { name: 'a', type: 'f32', access: 'read' },
    { name: 'b', type: 'f32', access: 'read' },
    { name: 'g', type: 'f32', access: 'read' },
    { name: 'ga', type: 'f32', access: 'read_write' },
    { name: 'gb', type: 'f32', access: 'read_write' },
  ],
  params: [{ name: 'n', type: 'u32' }, { name: 'isMax', type: 'u32' }],
  workgroupSize: [WG],
  body: /* wgsl */ `
  let i = linear_id(gid, nwg);
  if (i >= P.n) { return; }
  let av = a[P.a_off + i];
  let bv = b[P.b_off + i];
  let gv = g[P.g_off + i];
  var ra = 0.0;
  var rb = 0.0;
  if (av == bv) {
    ra = gv / 2.0;
    rb = gv / 2.0;
  } else if ((av > bv) == (P.isMax == 1u)) {
    ra = gv;
  } else {
    rb = gv;
  }
  ga[P.ga_off + i] = ra;
  gb[P.gb_off + i] = rb;`,
};

// sumToShape over g viewed as alternating groups of kept dims (kd sizes, ks strides in g) and
// reduced dims (rd, rs). A workgroup of 256 invocations is tx output columns by 256/tx lanes:
// lane ly of column lx sums reduced indices r0 + ly, r0 + ly + 256/tx, ... of its chunk
// [r0, r0 + chunk), then the lanes of each column are added in a shared-memory tree. tx = 1 (one
// output per workgroup) when the innermost dim of g is reduced, so the lanes read consecutive
// values; tx up to 64 when it is kept, so the columns do; tx = 256 (one invocation per output)
// for short reductions. Chunk z writes its partial sums to out[z * M + o].
const SUM_TO_SHAPE: KernelSpec = {
  name: 'sum_to_shape',
  storages: [{ name: 'g', type: 'f32', access: 'read' }, { name: 'out', type: 'f32', access: 'read_write' }],
  params: [
    { name: 'M', type: 'u32' },
    { name: 'R', type: 'u32' },
    { name: 'nk', type: 'u32' },
    { name: 'nr', type: 'u32' },
    { name: 'tx', type: 'u32' },
    { name: 'chunk', type: 'u32' },
    { name: 'kd', type: 'u32', count: MAX_SUM_GROUPS },
    { name: 'ks', type: 'u32', count: MAX_SUM_GROUPS },
    { name: 'rd', type: 'u32', count: MAX_SUM_GROUPS },
    { name: 'rs', type: 'u32', count: MAX_SUM_GROUPS },
  ],
  workgroupSize: [WG],
  moduleScope: `var<workgroup> partial: array<f32, ${WG}>;`,
  body: /* wgsl */ `
  let tx = P.tx;
  let lanes = ${WG}u / tx;
  let lx = lidx % tx;
  let ly = lidx / tx;
  let o = (wid.x + wid.y * nwg.x) * tx + lx;
  var acc = 0.0;
  if (o < P.M) {
    var rem = o;
    var base = 0u;
    for (var k = P.nk; k > 0u; k--) {
      let d = k - 1u;
      let size = P.kd[d / 4u][d % 4u];
      base += (rem % size) * P.ks[d / 4u][d % 4u];
      rem = rem / size;
    }
    let r0 = wid.z * P.chunk;
    let r1 = min(P.R, r0 + P.chunk);
    for (var r = r0 + ly; r < r1; r += lanes) {
      var rr = r;
      var at = base;
      for (var k = P.nr; k > 0u; k--) {
        let d = k - 1u;
        let size = P.rd[d / 4u][d % 4u];
        at += (rr % size) * P.rs[d / 4u][d % 4u];
        rr = rr / size;
      }
      acc += g[P.g_off + at];
    }
  }
  partial[lidx] = acc;
  workgroupBarrier();
  for (var s = lanes / 2u; s > 0u; s = s / 2u) {
    if (ly < s) { partial[lidx] += partial[lidx + s * tx]; }
    workgroupBarrier();
  }
  if (ly == 0u && o < P.M) { out[P.out_off + wid.z * P.M + o] = partial[lx]; }`,
};

/** Reduced values each lane should sum at least before a reduction is split into chunks. */
const MIN_PER_LANE = 64;
/** Workgroups a split reduction aims for (enough to fill a large GPU). */
const TARGET_WORKGROUPS = 1024;
/** Reductions up to this length use one invocation per output. */
const SHORT_REDUCTION = 16;

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function checkShape(fn: string, arg: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new TypeError(`${fn}: ${arg} must be an array of integers >= 0, got ${JSON.stringify(shape)}`);
  }
  return shape as number[];
}

/** The handle as GpuStorage, holding at least n values. */
function input(fn: string, arg: string, s: Storage, n: number): GpuStorage {
  const g = gpuStorage(s, `${fn} (${arg})`);
  if (g.length < n) throw new RangeError(`${fn}: ${arg} must hold at least ${n} values, got ${g.length}`);
  return g;
}

/** The first n values of a handle. */
function prefix(s: GpuStorage, n: number): GpuStorage {
  return n === s.length ? s : new GpuStorage(s.dtype, s.alloc, s.offset, n);
}

function sameRegion(a: GpuStorage, b: GpuStorage): boolean {
  return a.alloc === b.alloc && a.offset === b.offset;
}

function opCode(fn: string, op: unknown, codes: Record<string, number>): number {
  const max = Object.keys(codes).length - 1;
  if (!Number.isInteger(op) || (op as number) < 0 || (op as number) > max) {
    throw new RangeError(`${fn}: op must be an op code 0..${max} (${Object.keys(codes).join(', ')}), got ${String(op)}`);
  }
  return op as number;
}

/** Per output dim, the operand's element stride (0 where it broadcasts); NumPy alignment from the right. */
function broadcastStrides(fn: string, arg: string, shape: number[], outShape: number[]): number[] {
  const nd = outShape.length;
  if (shape.length > nd) throw new RangeError(`${fn}: ${arg} [${shape}] has more dims than outShape [${outShape}]`);
  const strides = new Array<number>(nd).fill(0);
  let acc = 1;
  for (let k = 0; k < nd; k++) {
    const i = nd - 1 - k;
    const d = k < shape.length ? shape[shape.length - 1 - k] : 1;
    if (d !== 1 && d !== outShape[i]) {
      throw new RangeError(`${fn}: ${arg} [${shape}] does not broadcast to outShape [${outShape}] (dim ${i}: ${d} vs ${outShape[i]})`);
    }
    strides[i] = d === 1 && outShape[i] !== 1 ? 0 : acc;
    acc *= d;
  }
  return strides;
}

/**
 * Drops size-1 output dims and merges an outer dim into the next inner one wherever every
 * operand's strides compose (outer stride = inner stride * inner size, broadcast 0s included).
 */
function mergeDims(fn: string, outShape: number[], strides: number[][]): { dims: number[]; strides: number[][] } {
  const dims: number[] = [];
  const merged: number[][] = strides.map(() => []);
  for (let i = 0; i < outShape.length; i++) {
    const size = outShape[i];
    if (size === 1) continue;
    const j = dims.length - 1;
    if (j >= 0 && strides.every((s, t) => merged[t][j] === s[i] * size)) {
      dims[j] *= size;
      strides.forEach((s, t) => (merged[t][j] = s[i]));
      continue;
    }
    dims.push(size);
    strides.forEach((s, t) => merged[t].push(s[i]));
  }
  if (dims.length > MAX_BINARY_DIMS) {
    throw new RangeError(`${fn}: outShape [${outShape}] has ${dims.length} dims after merging, more than the ${MAX_BINARY_DIMS} supported`);
  }
  return { dims, strides: merged };
}

export function webgpuElementwiseKernels(rt: GpuRuntime): ElementwiseKernels {
  /**
   * out[z * M + o] = sum over the reduced groups, for g (with its handle offset) seen as kept
   * groups (kd, ks) and reduced groups (rd, rs); splits a long reduction into chunks summed by a
   * second pass over the partial sums.
   */
  function reduceGroups(g: GpuStorage, kd: number[], ks: number[], rd: number[], rs: number[], out: GpuStorage): void {
    const M = numel(kd);
    const R = numel(rd);
    let tx: number;
    if (R <= SHORT_REDUCTION) tx = WG;
    else if (kd.length > 0 && ks[ks.length - 1] === 1) tx = Math.min(64, 2 ** Math.ceil(Math.log2(kd[kd.length - 1])));
    else tx = 1;
    const lanes = WG / tx;
    const tiles = Math.ceil(M / tx);
    let chunks = Math.max(1, Math.min(Math.ceil(R / (lanes * MIN_PER_LANE)), Math.ceil(TARGET_WORKGROUPS / tiles), 65535));
    const chunk = Math.ceil(R / chunks);
    chunks = Math.ceil(R / chunk);
    const grid = [Math.min(tiles, 65535), Math.ceil(tiles / 65535), chunks] as const;
    const run = (dst: GpuStorage): void =>
      rt.run(SUM_TO_SHAPE, [g, dst], { M, R, nk: kd.length, nr: rd.length, tx, chunk, kd, ks, rd, rs }, grid);
    if (chunks === 1) {
      run(out);
      return;
    }
    const partials = rt.allocate(chunks * M, 'float32');
    run(partials);
    reduceGroups(partials, [M], [1], [chunks], [M], out);
    rt.release(partials);
  }

  return {
    binary(args) {
      const fn = 'binary';
      const op = opCode(fn, args.op, BinaryOp);
      const aShape = checkShape(fn, 'aShape', args.aShape);
      const bShape = checkShape(fn, 'bShape', args.bShape);
      const outShape = checkShape(fn, 'outShape', args.outShape);
      const n = numel(outShape);
      const a = input(fn, 'a', args.a, numel(aShape));
      const b = input(fn, 'b', args.b, numel(bShape));
      const out = input(fn, 'out', args.out, n);
      const sa = broadcastStrides(fn, 'aShape', aShape, outShape);
      const sb = broadcastStrides(fn, 'bShape', bShape, outShape);
      if (n === 0) return;
      // An operand with as many values as out (and broadcast-compatible) has out's full shape.
      const aIsOut = sameRegion(a, out) && numel(aShape) === n;
      const bIsOut = !aIsOut && sameRegion(b, out) && numel(bShape) === n;
      if (aIsOut || bIsOut) {
        const m = mergeDims(fn, outShape, [aIsOut ? sb : sa]);
        rt.run(BINARY_IN_PLACE, [aIsOut ? b : a, out], { n, op, ndim: m.dims.length, outIsA: aIsOut, dims: m.dims, so: m.strides[0] }, grid1d(n, WG));
        return;
      }
      const m = mergeDims(fn, outShape, [sa, sb]);
      rt.run(BINARY, [a, b, out], { n, op, ndim: m.dims.length, dims: m.dims, sa: m.strides[0], sb: m.strides[1] }, grid1d(n, WG));
    },

    unary(args) {
      const fn = 'unary';
      const op = opCode(fn, args.op, UnaryOp);
      const x = gpuStorage(args.x, `${fn} (x)`);
      const n = x.length;
      const y = input(fn, 'y', args.y, n);
      const params = { n, op, p0: args.p0 ?? 0, p1: args.p1 ?? 0 };
      if (sameRegion(x, y)) rt.run(UNARY_IN_PLACE, [y], params, grid1d(n, WG));
      else rt.run(UNARY, [x, y], params, grid1d(n, WG));
    },

    unaryBackward(args) {
      const fn = 'unaryBackward';
      const op = opCode(fn, args.op, UnaryOp);
      const x = gpuStorage(args.x, `${fn} (x)`);
      const n = x.length;
      const y = input(fn, 'y', args.y, n);
      const gy = input(fn, 'gy', args.gy, n);
      const gx = input(fn, 'gx', args.gx, n);
      rt.run(UNARY_BACKWARD, [x, y, gy, gx], { n, op, p0: args.p0 ?? 0, p1: args.p1 ?? 0 }, grid1d(n, WG));
    },

    sumToShape(args) {
      const fn = 'sumToShape';
      const from = checkShape(fn, 'gShape', args.gShape);
      const to = checkShape(fn, 'outShape', args.outShape);
      const g = input(fn, 'g', args.g, numel(from));
      const out = input(fn, 'out', args.out, numel(to));
      const nd = from.length;
      if (to.length > nd) throw new RangeError(`${fn}: outShape [${to}] has more dims than gShape [${from}]`);
      // Groups of adjacent kept / reduced dims of g (size-1 dims dropped); adjacent dims of one
      // kind merge, g being contiguous: the group's stride is that of its innermost dim.
      const kinds: { reduced: boolean; size: number; stride: number }[] = [];
      let stride = 1;
      for (let k = nd - 1; k >= 0; k--) {
        const j = k + to.length - nd;
        const d = j >= 0 ? to[j] : 1;
        if (d !== from[k] && d !== 1) {
          throw new RangeError(`${fn}: outShape [${to}] dim ${j} (size ${d}) is neither 1 nor the gradient's size ${from[k]}`);
        }
        const size = from[k];
        if (size !== 1) {
          const reduced = d !== from[k];
          const first = kinds[0];
          if (first !== undefined && first.reduced === reduced) first.size *= size;
          else kinds.unshift({ reduced, size, stride });
        }
        stride *= size;
      }
      const M = numel(to);
      if (M === 0) return;
      if (numel(from) === 0) {
        rt.clear(prefix(out, M));
        return;
      }
      const kept = kinds.filter((k) => !k.reduced);
      const red = kinds.filter((k) => k.reduced);
      if (red.length === 0) {
        rt.copy(prefix(g, M), prefix(out, M));
        return;
      }
      if (kept.length > MAX_SUM_GROUPS || red.length > MAX_SUM_GROUPS) {
        throw new RangeError(`${fn}: gShape [${from}] alternates kept and reduced dims more than ${MAX_SUM_GROUPS} times`);
      }
      reduceGroups(g, kept.map((k) => k.size), kept.map((k) => k.stride), red.map((k) => k.size), red.map((k) => k.stride), out);
    },

    minMaxBackward(args) {
      const fn = 'minMaxBackward';
      const g = gpuStorage(args.g, `${fn} (g)`);
      const n = g.length;
      const a = gpuStorage(args.a, `${fn} (a)`);
      const b = gpuStorage(args.b, `${fn} (b)`);
      const ga = gpuStorage(args.ga, `${fn} (ga)`);
      const gb = gpuStorage(args.gb, `${fn} (gb)`);
      if (a.length !== n || b.length !== n || ga.length !== n || gb.length !== n) {
        throw new RangeError(`${fn}: a, b, g, ga and gb must hold ${n} values each, got ${a.length}, ${b.length}, ${n}, ${ga.length}, ${gb.length}`);
      }
      // ga and gb may be views of one allocation; a kernel cannot write one buffer through two
      // bindings, so gb then goes through a temporary.
      const shared = ga.alloc === gb.alloc;
      const gbOut = shared ? rt.allocate(n, 'float32') : gb;
      rt.run(MIN_MAX_BACKWARD, [a, b, g, ga, gbOut], { n, isMax: args.isMax }, grid1d(n, WG));
      if (shared) {
        rt.copy(gbOut, gb);
        rt.release(gbOut);
      }
    },
  };
}
