// WebGPU reduce kernels (WGSL), implementing ReduceKernels of kernels/reduce.ts on the runtime's
// storage: reductions over any dim set, the max/min backward, permute and strided box copies.
//
// Reduction geometry (as native/kernels/reduce.cc): size-1 dims are dropped and neighbouring dims
// with the same kept/reduced status merged, so a rank-8 tensor has at most 4 kept and 4 reduced
// runs. Output o is the kept index (row-major); r is the row-major position inside the reduced
// dims; the element read is x[koff(o) + roff(r)], both offsets decomposed from u32 shape/stride
// params. No permute copy is made.
//
// Work split: a workgroup of 256 threads is TX x TY (powers of two): TX consecutive outputs, TY
// threads sharing each output's reduction, TY = min(256, R rounded up to a power of two); thread
// ty takes r = lo + ty, lo + ty + TY, ... so neighbouring threads read neighbouring memory when
// the last dim is reduced (TX = 1 for R >= 256), and neighbouring outputs when it is kept (TX at
// least min(32, inner kept size)). The TY states of an output merge in a workgroup-memory tree. When there are few outputs, each output's r range is cut into nseg
// segments (one workgroup each) whose states go to a partials buffer that a second kernel merges
// (again TY threads per output and a tree). The split depends on the shape only, so results are
// deterministic (no atomics).
//
// States: sum - f32 sum; var/std - (count, mean, M2) with Welford updates per element and Chan's
// merge  M2 = M2a + M2b + d^2 * na * nb / n,  d = mean_b - mean_a  (no sum-of-squares
// cancellation); max/min - (value, position) where NaN wins, then the strictly better value,
// then on equal values the smaller position (the CPU's rule), which makes the merge order free.
// NaN tests use the bit pattern, so they hold whatever the driver assumes about NaN.
import type { CopyRegionArgs, ExtremeBackwardArgs, PermuteArgs, ReduceArgs, ReduceKernels } from '../kernels/reduce.js';
import { ReduceOp } from '../kernels/reduce.js';
import type { Storage } from '../storage.js';
import { grid1d, type GpuRuntime, type KernelSpec, type ParamDecl, type StorageBinding } from './runtime.js';
import { GpuStorage, gpuStorage } from './storage.js';
import { gridOf } from './checks.js';
import { IS_NAN } from './wgsl.js';

const WG = 256;
/** Quiet NaN bits, passed as a param: a NaN constant expression is a WGSL compile error. */
const NAN_BITS = 0x7fc00000;
/** Elements each thread of a segment should read at least, before segments are cut. */
const PER_THREAD = 32;
/** Workgroups of the first reduction pass above which outputs are not split into segments. */
const WIDE_ENOUGH = 1024;
/** At most this many segments per output (the second pass reads them all). */
const MAX_SEG = 4096;

const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const nextPow2 = (n: number): number => (n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n)));

/** Row-major strides of a contiguous tensor of `shape`, in elements. */
function stridesOf(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = s;
    s *= shape[i];
  }
  return st;
}

// ---- WGSL shared pieces ----------------------------------------------------------------------

const COMMON_WGSL = /* wgsl */ `
const EMPTY: u32 = 0xffffffffu;
${IS_NAN}
/** Equal, with NaN equal to NaN. */
fn same(a: f32, b: f32) -> bool { return select(a == b, is_nan(a), is_nan(b)); }
fn at4(a: array<vec4<u32>, 2>, i: u32) -> u32 { return a[i / 4u][i % 4u]; }
`;

/** Per-mode state code: St holds a (sum | count | value), b (mean), c (M2), i (position). */
type Mode = 'sum' | 'tie' | 'var' | 'max' | 'min';

function stateWgsl(mode: Mode): string {
  const words = mode === 'var' ? 3 : mode === 'max' || mode === 'min' ? 2 : 1;
  let ops: string;
  if (mode === 'sum' || mode === 'tie') {
    ops = `
fn st_empty() -> St { return St(0.0, 0.0, 0.0, 0u); }
fn st_add(s: St, v: f32, r: u32) -> St { return St(s.a + v, 0.0, 0.0, 0u); }
fn st_merge(s: St, t: St) -> St { return St(s.a + t.a, 0.0, 0.0, 0u); }
fn st_read(p: u32) -> St { return St(bitcast<f32>(part[P.part_off + p]), 0.0, 0.0, 0u); }
fn st_write(p: u32, s: St) { part[P.part_off + p] = bitcast<u32>(s.a); }`;
  } else if (mode === 'var') {
    ops = `
fn st_empty() -> St { return St(0.0, 0.0, 0.0, 0u); }
// Welford: n += 1, d = v - mean, mean += d / n, M2 += d * (v - mean).
fn st_add(s: St, v: f32, r: u32) -> St {
  let n = s.a + 1.0;
  let d = v - s.b;
  let m = s.b + d / n;
  return St(n, m, s.c + d * (v - m), 0u);
}
// Chan: n = na + nb, d = mb - ma, mean = ma + d nb / n, M2 = M2a + M2b + d^2 na nb / n.
fn st_merge(s: St, t: St) -> St {
  if (t.a == 0.0) { return s; }
  if (s.a == 0.0) { return t; }
  let n = s.a + t.a;
  let d = t.b - s.b;
  let w = t.a / n;
  return St(n, s.b + d * w, s.c + t.c + d * d * (s.a * w), 0u);
}
fn st_read(p: u32) -> St {
  let q = P.part_off + 3u * p;
  return St(bitcast<f32>(part[q]), bitcast<f32>(part[q + 1u]), bitcast<f32>(part[q + 2u]), 0u);
}
fn st_write(p: u32, s: St) {
  let q = P.part_off + 3u * p;
  part[q] = bitcast<u32>(s.a);
  part[q + 1u] = bitcast<u32>(s.b);
  part[q + 2u] = bitcast<u32>(s.c);
}`;
  } else {
    ops = `
// Whether (v, r) replaces (b, br): NaN wins, then the strictly better value, then on equal
// values the smaller position; EMPTY marks no element.
fn takes(v: f32, r: u32, b: f32, br: u32) -> bool {
  if (r == EMPTY) { return false; }
  if (br == EMPTY) { return true; }
  let vn = is_nan(v);
  let bn = is_nan(b);
  if (vn || bn) { return vn && (!bn || r < br); }
  if (v == b) { return r < br; }
  return v ${mode === 'max' ? '>' : '<'} b;
}
fn st_empty() -> St { return St(0.0, 0.0, 0.0, EMPTY); }
fn st_add(s: St, v: f32, r: u32) -> St { if (takes(v, r, s.a, s.i)) { return St(v, 0.0, 0.0, r); } return s; }
fn st_merge(s: St, t: St) -> St { if (takes(t.a, t.i, s.a, s.i)) { return t; } return s; }
fn st_read(p: u32) -> St { let q = P.part_off + 2u * p; return St(bitcast<f32>(part[q]), 0.0, 0.0, part[q + 1u]); }
fn st_write(p: u32, s: St) { let q = P.part_off + 2u * p; part[q] = bitcast<u32>(s.a); part[q + 1u] = s.i; }`;
  }
  let finish: string;
  if (mode === 'sum' || mode === 'tie') {
    // mean over nothing is NaN, as on the CPU.
    finish = `
fn st_finish(o: u32, s: St) {
  var v = s.a;
  if (P.op == ${ReduceOp.mean}u) { v = select(s.a / f32(P.R), bitcast<f32>(P.nanv), P.R == 0u); }
  out[P.out_off + o] = v;
}`;
  } else if (mode === 'var') {
    // var = M2 / (R - unbiased), NaN when that divisor is <= 0; std = sqrt(var).
    finish = `
fn st_finish(o: u32, s: St) {
  let denom = i32(P.R) - i32(P.unbiased);
  var v = bitcast<f32>(P.nanv);
  // M2 clamped at 0 by select (max() may drop a NaN).
  if (denom > 0) { v = select(s.c, 0.0, s.c < 0.0) / f32(denom); }
  if (P.op == ${ReduceOp.std}u) { v = sqrt(v); }
  out[P.out_off + o] = v;
}`;
  } else {
    finish = `
fn st_finish(o: u32, s: St) {
  out[P.out_off + o] = s.a;
  if (P.has_idx != 0u) { idx[P.idx_off + o] = i32(s.i); }
}`;
  }
  return `
struct St { a: f32, b: f32, c: f32, i: u32 }
const WORDS: u32 = ${words}u;
var<workgroup> wa: array<f32, ${WG}>;
var<workgroup> wb: array<f32, ${WG}>;
var<workgroup> wc: array<f32, ${WG}>;
var<workgroup> wi: array<u32, ${WG}>;
fn st_store(k: u32, s: St) { wa[k] = s.a; wb[k] = s.b; wc[k] = s.c; wi[k] = s.i; }
fn st_load(k: u32) -> St { return St(wa[k], wb[k], wc[k], wi[k]); }
${ops}
${finish}`;
}

/** The tree over the TY states of each output (threads ty < h merge ty + h), then ty 0 holds it. */
const TREE_WGSL = `
  st_store(lidx, s);
  workgroupBarrier();
  for (var h = P.ty / 2u; h > 0u; h = h / 2u) {
    if (ty < h) { st_store(lidx, st_merge(st_load(lidx), st_load(lidx + h * P.tx))); }
    workgroupBarrier();
  }`;

const REDUCE_PARAMS: ParamDecl[] = [
  { name: 'op', type: 'u32' },
  { name: 'O', type: 'u32' },
  { name: 'R', type: 'u32' },
  { name: 'tx', type: 'u32' },
  { name: 'ty', type: 'u32' },
  { name: 'nseg', type: 'u32' },
  { name: 'groups', type: 'u32' },
  { name: 'unbiased', type: 'u32' },
  { name: 'has_idx', type: 'u32' },
  { name: 'nanv', type: 'u32' },
];

/** The index output binding, declared for max/min only ('auto' layouts drop unused bindings). */
function idxBinding(mode: Mode): StorageBinding[] {
  return mode === 'max' || mode === 'min' ? [{ name: 'idx', type: 'i32', access: 'read_write', optional: true }] : [];
}

/** First pass: each workgroup reduces segment `seg` of TX outputs, from x. */
function passOneSpec(mode: Mode): KernelSpec {
  const elem = mode === 'tie' ? 'select(0.0, 1.0, same(x[P.x_off + off], values[P.values_off + o]))' : 'x[P.x_off + off]';
  return {
    name: `reduce_${mode}`,
    storages: [
      { name: 'x', type: 'f32', access: 'read' },
      ...(mode === 'tie' ? [{ name: 'values', type: 'f32' as const, access: 'read' as const }] : []),
      { name: 'out', type: 'f32', access: 'read_write' },
      ...idxBinding(mode),
      { name: 'part', type: 'u32', access: 'read_write' },
    ],
    params: [
      ...REDUCE_PARAMS,
      { name: 'seg_len', type: 'u32' },
      { name: 'nk', type: 'u32' },
      { name: 'nr', type: 'u32' },
      // kept sizes/strides in entries 0-3 and 4-7, reduced ones likewise.
      { name: 'kdims', type: 'u32', count: 8 },
      { name: 'rdims', type: 'u32', count: 8 },
    ],
    workgroupSize: [WG],
    moduleScope: `${COMMON_WGSL}${stateWgsl(mode)}
fn kept_offset(o: u32) -> u32 {
  var rem = o;
  var off = 0u;
  for (var k = P.nk; k > 0u; k = k - 1u) {
    let sz = at4(P.kdims, k - 1u);
    off = off + (rem % sz) * at4(P.kdims, k + 3u);
    rem = rem / sz;
  }
  return off;
}
fn red_offset(r: u32) -> u32 {
  var rem = r;
  var off = 0u;
  for (var k = P.nr; k > 0u; k = k - 1u) {
    let sz = at4(P.rdims, k - 1u);
    off = off + (rem % sz) * at4(P.rdims, k + 3u);
    rem = rem / sz;
  }
  return off;
}`,
    body: `
  let wg = wid.x + wid.y * nwg.x;
  if (wg >= P.groups) { return; }
  let seg = wg % P.nseg;
  let tx = lidx % P.tx;
  let ty = lidx / P.tx;
  let o = (wg / P.nseg) * P.tx + tx;
  var s = st_empty();
  if (o < P.O) {
    let base = kept_offset(o);
    let lo = seg * P.seg_len;
    let hi = min(P.R, lo + P.seg_len);
    for (var r = lo + ty; r < hi; r = r + P.ty) {
      let off = base + red_offset(r);
      s = st_add(s, ${elem}, r);
    }
  }
${TREE_WGSL}
  if (ty == 0u && o < P.O) {
    if (P.nseg == 1u) { st_finish(o, st_load(lidx)); } else { st_write(o * P.nseg + seg, st_load(lidx)); }
  }`,
  };
}

/** Second pass: each output merges its nseg partial states in order, then finishes. */
function passTwoSpec(mode: Mode): KernelSpec {
  return {
    name: `reduce_${mode}_merge`,
    storages: [
      // read_write: the state code shared with the first pass also holds its writer.
      { name: 'part', type: 'u32', access: 'read_write' },
      { name: 'out', type: 'f32', access: 'read_write' },
      ...idxBinding(mode),
    ],
    params: REDUCE_PARAMS,
    workgroupSize: [WG],
    moduleScope: `${COMMON_WGSL}${stateWgsl(mode)}`,
    body: `
  let wg = wid.x + wid.y * nwg.x;
  if (wg >= P.groups) { return; }
  let tx = lidx % P.tx;
  let ty = lidx / P.tx;
  let o = wg * P.tx + tx;
  var s = st_empty();
  if (o < P.O) {
    for (var k = ty; k < P.nseg; k = k + P.ty) { s = st_merge(s, st_read(o * P.nseg + k)); }
  }
${TREE_WGSL}
  if (ty == 0u && o < P.O) { st_finish(o, st_load(lidx)); }`,
  };
}

const MODES: readonly Mode[] = ['sum', 'tie', 'var', 'max', 'min'];
const PASS_ONE = new Map<Mode, KernelSpec>(MODES.map((m) => [m, passOneSpec(m)]));
/** 'tie' counts merge as sums. */
const PASS_TWO = new Map<Mode, KernelSpec>(MODES.filter((m) => m !== 'tie').map((m) => [m, passTwoSpec(m)]));

/** gx from g at each group's index, or split among the elements equal to the group's extreme. */
const EXTREME_BACKWARD: KernelSpec = {
  name: 'extreme_backward',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 'values', type: 'f32', access: 'read' },
    { name: 'g', type: 'f32', access: 'read' },
    { name: 'idx', type: 'i32', access: 'read', optional: true },
    { name: 'cnt', type: 'f32', access: 'read', optional: true },
    { name: 'gx', type: 'f32', access: 'read_write' },
  ],
  params: [
    { name: 'n', type: 'u32' },
    { name: 'nd', type: 'u32' },
    { name: 'redmask', type: 'u32' },
    { name: 'has_idx', type: 'u32' },
    { name: 'shape', type: 'u32', count: 8 },
  ],
  workgroupSize: [WG],
  moduleScope: COMMON_WGSL,
  body: `
  let i = linear_id(gid, nwg);
  if (i >= P.n) { return; }
  // Split the element index into o (kept dims, row-major) and r (reduced dims, row-major).
  var rem = i;
  var o = 0u;
  var om = 1u;
  var r = 0u;
  var rm = 1u;
  for (var k = P.nd; k > 0u; k = k - 1u) {
    let sz = at4(P.shape, k - 1u);
    let c = rem % sz;
    rem = rem / sz;
    if (((P.redmask >> (k - 1u)) & 1u) != 0u) { r = r + c * rm; rm = rm * sz; } else { o = o + c * om; om = om * sz; }
  }
  var v = 0.0;
  if (P.has_idx != 0u) {
    if (idx[P.idx_off + o] == i32(r)) { v = g[P.g_off + o]; }
  } else if (same(x[P.x_off + i], values[P.values_off + o])) {
    v = g[P.g_off + o] / cnt[P.cnt_off + o];
  }
  gx[P.gx_off + i] = v;`,
};

/** out[i] = x[sum_k idx_k(i) * sstride_k] over the output's (merged) dims. */
const PERMUTE: KernelSpec = {
  name: 'permute',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 'out', type: 'f32', access: 'read_write' },
  ],
  params: [
    { name: 'n', type: 'u32' },
    { name: 'nd', type: 'u32' },
    { name: 'shape', type: 'u32', count: 8 },
    { name: 'sstride', type: 'u32', count: 8 },
  ],
  workgroupSize: [WG],
  moduleScope: COMMON_WGSL,
  body: `
  let i = linear_id(gid, nwg);
  if (i >= P.n) { return; }
  var rem = i;
  var off = 0u;
  for (var k = P.nd; k > 0u; k = k - 1u) {
    let sz = at4(P.shape, k - 1u);
    off = off + (rem % sz) * at4(P.sstride, k - 1u);
    rem = rem / sz;
  }
  out[P.out_off + i] = x[P.x_off + off];`,
};

/**
 * Batched 2-D transpose for a permute whose innermost output dim is not innermost in x: a 32x32
 * tile is read along x's innermost dim and written along out's innermost dim (both coalesced)
 * through workgroup memory. Dims: a = x's innermost (stride 1 in x, stride astr in out), b =
 * out's innermost (stride 1 in out, stride bstr in x), and up to 6 batch dims with both strides.
 */
const TRANSPOSE: KernelSpec = {
  name: 'permute_tiled',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 'out', type: 'f32', access: 'read_write' },
  ],
  params: [
    { name: 'na', type: 'u32' },
    { name: 'nb', type: 'u32' },
    { name: 'astr', type: 'u32' },
    { name: 'bstr', type: 'u32' },
    { name: 'ta', type: 'u32' },
    { name: 'tb', type: 'u32' },
    { name: 'batches', type: 'u32' },
    { name: 'nd', type: 'u32' },
    { name: 'bshape', type: 'u32', count: 8 },
    { name: 'bsx', type: 'u32', count: 8 },
    { name: 'bso', type: 'u32', count: 8 },
  ],
  workgroupSize: [32, 8],
  moduleScope: `${COMMON_WGSL}
var<workgroup> tile: array<f32, ${32 * 33}>;`,
  body: `
  let wg = wid.x + wid.y * nwg.x;
  if (wg >= P.ta * P.tb * P.batches) { return; }
  let at = wg % P.ta;
  let bt = (wg / P.ta) % P.tb;
  var rem = wg / (P.ta * P.tb);
  var xo = 0u;
  var oo = 0u;
  for (var k = P.nd; k > 0u; k = k - 1u) {
    let sz = at4(P.bshape, k - 1u);
    let c = rem % sz;
    rem = rem / sz;
    xo = xo + c * at4(P.bsx, k - 1u);
    oo = oo + c * at4(P.bso, k - 1u);
  }
  // Read: thread (lid.x, lid.y + 8j) takes a = at*32 + lid.x, b = bt*32 + lid.y + 8j.
  for (var j = 0u; j < 32u; j = j + 8u) {
    let a = at * 32u + lid.x;
    let b = bt * 32u + lid.y + j;
    if (a < P.na && b < P.nb) { tile[(lid.y + j) * 33u + lid.x] = x[P.x_off + xo + a + b * P.bstr]; }
  }
  workgroupBarrier();
  // Write: thread (lid.x, lid.y + 8j) writes b = bt*32 + lid.x, a = at*32 + lid.y + 8j.
  for (var j = 0u; j < 32u; j = j + 8u) {
    let b = bt * 32u + lid.x;
    let a = at * 32u + lid.y + j;
    if (a < P.na && b < P.nb) { out[P.out_off + oo + b + a * P.astr] = tile[lid.x * 33u + lid.y + j]; }
  }`,
};

/** dst[dbase + sum_k idx_k * dst_k] = src[sbase + sum_k idx_k * src_k] over the box's (merged) dims. */
const COPY_REGION: KernelSpec = {
  name: 'copy_region',
  storages: [
    { name: 'src', type: 'f32', access: 'read' },
    { name: 'dst', type: 'f32', access: 'read_write' },
  ],
  params: [
    { name: 'n', type: 'u32' },
    { name: 'nd', type: 'u32' },
    { name: 'sbase', type: 'u32' },
    { name: 'dbase', type: 'u32' },
    { name: 'size', type: 'u32', count: 8 },
    { name: 'sst', type: 'u32', count: 8 },
    { name: 'dst_st', type: 'u32', count: 8 },
  ],
  workgroupSize: [WG],
  moduleScope: COMMON_WGSL,
  body: `
  let i = linear_id(gid, nwg);
  if (i >= P.n) { return; }
  var rem = i;
  var so = P.sbase;
  var d = P.dbase;
  for (var k = P.nd; k > 0u; k = k - 1u) {
    let sz = at4(P.size, k - 1u);
    let c = rem % sz;
    rem = rem / sz;
    so = so + c * at4(P.sst, k - 1u);
    d = d + c * at4(P.dst_st, k - 1u);
  }
  dst[P.dst_off + d] = src[P.src_off + so];`,
};

// ---- host side ---------------------------------------------------------------------------------

interface Geometry {
  O: number;
  R: number;
  /** Merged kept and reduced runs, outermost first: [size, stride]. */
  kept: [number, number][];
  red: [number, number][];
  /** Whether the innermost merged dim is reduced. */
  rowLayout: boolean;
  /** Size of the innermost kept run (1 when none). */
  innerKept: number;
}

/** Size-1 dims dropped, neighbours with the same status merged (for shapes without zero sizes). */
function mergeRuns(shape: readonly number[], reduced: readonly boolean[]): { size: number[]; red: boolean[] } {
  const size: number[] = [];
  const red: boolean[] = [];
  for (let k = 0; k < shape.length; k++) {
    if (shape[k] === 1) continue;
    if (size.length > 0 && red[red.length - 1] === reduced[k]) size[size.length - 1] *= shape[k];
    else {
      size.push(shape[k]);
      red.push(reduced[k]);
    }
  }
  return { size, red };
}

function reduceGeometry(fn: string, shape: readonly number[], reduced: readonly boolean[]): Geometry {
  const { size, red } = mergeRuns(shape, reduced);
  const st = stridesOf(size);
  const g: Geometry = { O: 1, R: 1, kept: [], red: [], rowLayout: false, innerKept: 1 };
  for (let k = 0; k < size.length; k++) {
    (red[k] ? g.red : g.kept).push([size[k], st[k]]);
    if (red[k]) g.R *= size[k];
    else g.O *= size[k];
  }
  if (g.kept.length > 4 || g.red.length > 4) {
    throw new RangeError(`${fn}: the kept and reduced dims of shape [${shape.join(', ')}] form ${g.kept.length} and ${g.red.length} separate runs; at most 4 each (rank 8) are supported on 'webgpu'`);
  }
  g.rowLayout = red.length > 0 && red[red.length - 1];
  if (!g.rowLayout && g.kept.length > 0) g.innerKept = g.kept[g.kept.length - 1][0];
  return g;
}

function dimsParam(runs: [number, number][]): number[] {
  const p = new Array<number>(8).fill(0);
  runs.forEach(([s, t], k) => {
    p[k] = s;
    p[k + 4] = t;
  });
  return p;
}

/** Threads per output (TY) and outputs per workgroup (TX) for n items per output; TX*TY = 256. */
function split(n: number, innerKept: number, rowLayout: boolean): { tx: number; ty: number } {
  let ty = Math.min(WG, nextPow2(n));
  // Column layout: neighbouring threads take neighbouring outputs (coalesced along the kept dim).
  if (!rowLayout) ty = Math.min(ty, Math.max(1, WG / Math.min(32, nextPow2(innerKept))));
  return { tx: WG / ty, ty };
}

function checkLength(fn: string, what: string, s: GpuStorage, need: number, exact: boolean): void {
  if (exact ? s.length !== need : s.length < need) {
    throw new RangeError(`${fn}: ${what} must hold ${exact ? '' : 'at least '}${need} values, got ${s.length}`);
  }
}

function checkShape(fn: string, what: string, shape: readonly number[]): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new RangeError(`${fn}: ${what} must be a list of integers >= 0, got [${String(shape)}]`);
  }
}

export function webgpuReduceKernels(rt: GpuRuntime): ReduceKernels {
  /**
   * Reduces x over the geometry into out (and idx), in one pass or in segments plus a merge.
   * mode 'tie' counts the elements equal to values[o] (NaN equal to NaN).
   */
  function runReduce(mode: Mode, op: number, x: GpuStorage, g: Geometry, out: GpuStorage, idx: GpuStorage | null, unbiased: boolean, values: GpuStorage | null): void {
    if (g.O === 0) return;
    const { tx, ty } = split(g.R, g.innerKept, g.rowLayout);
    const outGroups = Math.ceil(g.O / tx);
    let nseg = 1;
    if (outGroups < WIDE_ENOUGH) {
      nseg = Math.min(Math.ceil(g.R / (ty * PER_THREAD)), MAX_SEG, Math.max(1, Math.floor((8 * WIDE_ENOUGH) / outGroups)));
      nseg = Math.max(1, nseg);
    }
    const segLen = Math.ceil(g.R / nseg);
    if (g.R > 0) nseg = Math.ceil(g.R / segLen);
    const common = { op, O: g.O, R: g.R, unbiased: unbiased ? 1 : 0, has_idx: idx === null ? 0 : 1, nanv: NAN_BITS };
    const words = mode === 'var' ? 3 : mode === 'max' || mode === 'min' ? 2 : 1;
    // A one-word part when unused: two null optional outputs would share the runtime's one
    // dummy buffer, which WebGPU refuses for written bindings.
    const part = rt.allocate(nseg > 1 ? g.O * nseg * words : 1, 'int32');
    const arg = mode === 'max' || mode === 'min';
    const storages: (Storage | null)[] = [x, ...(mode === 'tie' ? [values] : []), out, ...(arg ? [idx] : []), part];
    const groups = outGroups * nseg;
    rt.run(
      PASS_ONE.get(mode) as KernelSpec,
      storages,
      { ...common, tx, ty, nseg, groups, seg_len: segLen, nk: g.kept.length, nr: g.red.length, kdims: dimsParam(g.kept), rdims: dimsParam(g.red) },
      gridOf(groups),
    );
    if (nseg === 1) {
      rt.release(part);
      return;
    }
    const s2 = split(nseg, 1, true);
    const groups2 = Math.ceil(g.O / s2.tx);
    rt.run(PASS_TWO.get(mode === 'tie' ? 'sum' : mode) as KernelSpec, arg ? [part, out, idx] : [part, out], { ...common, tx: s2.tx, ty: s2.ty, nseg, groups: groups2 }, gridOf(groups2));
    rt.release(part);
  }

  /** The reduced flags of `dims` over a shape of `rank` dims; throws naming fn for a bad dim. */
  function reducedFlags(fn: string, rank: number, dims: readonly number[]): boolean[] {
    const reduced = new Array<boolean>(rank).fill(false);
    for (const d of dims) {
      if (!Number.isInteger(d) || d < 0 || d >= rank) throw new RangeError(`${fn}: dims holds dim ${d}, outside [0, ${rank})`);
      reduced[d] = true;
    }
    return reduced;
  }

  return {
    reduce(a: ReduceArgs) {
      const fn = 'reduce';
      if (!Number.isInteger(a.op) || a.op < ReduceOp.sum || a.op > ReduceOp.std) throw new RangeError(`${fn}: op ${a.op} is not a reduction op code (0-5)`);
      checkShape(fn, 'shape', a.shape);
      const reduced = reducedFlags(fn, a.shape.length, a.dims);
      const x = gpuStorage(a.x, fn);
      const out = gpuStorage(a.out, fn);
      let O = 1;
      let R = 1;
      a.shape.forEach((d, k) => {
        if (reduced[k]) R *= d;
        else O *= d;
      });
      checkLength(fn, 'x', x, O * R, false);
      checkLength(fn, 'out', out, O, false);
      const extreme = a.op === ReduceOp.max || a.op === ReduceOp.min;
      let idx: GpuStorage | null = null;
      if (extreme) {
        if (R === 0 && O > 0) throw new RangeError(`${fn}: dims [${a.dims.join(', ')}] of shape [${a.shape.join(', ')}] select an empty set of elements; max/min need at least one`);
        if (a.index != null) {
          idx = gpuStorage(a.index, fn, 'int32');
          checkLength(fn, 'index', idx, O, false);
        }
      }
      if (O === 0) return;
      const g = reduceGeometry(fn, a.shape, reduced);
      const mode: Mode = extreme ? (a.op === ReduceOp.max ? 'max' : 'min') : a.op === ReduceOp.var || a.op === ReduceOp.std ? 'var' : 'sum';
      runReduce(mode, a.op, x, g, out, idx, a.unbiased === true, null);
    },

    extremeBackward(a: ExtremeBackwardArgs) {
      const fn = 'extremeBackward';
      checkShape(fn, 'shape', a.shape);
      const reduced = reducedFlags(fn, a.shape.length, a.dims);
      const x = gpuStorage(a.x, fn);
      const values = gpuStorage(a.values, fn);
      const g = gpuStorage(a.g, fn);
      const gx = gpuStorage(a.gx, fn);
      const idx = a.index === null ? null : gpuStorage(a.index, fn, 'int32');
      const n = prod(a.shape);
      let O = 1;
      a.shape.forEach((d, k) => {
        if (!reduced[k]) O *= d;
      });
      if (x.length !== n || gx.length !== n || g.length !== O || values.length !== O || (idx !== null && idx.length !== O)) {
        throw new RangeError(`${fn}: x and gx need ${n} values, g, values and index ${O}; got ${x.length}, ${gx.length}, ${g.length}, ${values.length}, ${idx?.length ?? '-'}`);
      }
      if (n === 0) return;
      const { size, red } = mergeRuns(a.shape, reduced);
      let cnt: GpuStorage | null = null;
      if (idx === null) {
        cnt = rt.allocate(O, 'float32');
        runReduce('tie', ReduceOp.sum, x, reduceGeometry(fn, a.shape, reduced), cnt, null, false, values);
      }
      const shape = new Array<number>(8).fill(0);
      size.forEach((s, k) => (shape[k] = s));
      const redmask = red.reduce((m, r, k) => (r ? m | (1 << k) : m), 0);
      rt.run(EXTREME_BACKWARD, [x, values, g, idx, cnt, gx], { n, nd: size.length, redmask, has_idx: idx === null ? 0 : 1, shape }, grid1d(n, WG));
      if (cnt !== null) rt.release(cnt);
    },

    permute(a: PermuteArgs) {
      const fn = 'permute';
      checkShape(fn, 'shape', a.shape);
      const nd = a.shape.length;
      if (a.perm.length !== nd || [...a.perm].sort((p, q) => p - q).some((p, k) => p !== k)) {
        throw new RangeError(`${fn}: perm [${a.perm.join(', ')}] is not a permutation of the ${nd} dims of shape [${a.shape.join(', ')}]`);
      }
      const x = gpuStorage(a.x, fn);
      const out = gpuStorage(a.out, fn);
      const n = prod(a.shape);
      checkLength(fn, 'x', x, n, false);
      checkLength(fn, 'out', out, n, false);
      if (n === 0) return;
      // Output dims in order as [size, stride in x]; size-1 dims dropped, and neighbours that are
      // also neighbours in x (outer stride = inner stride * inner size) merged.
      const xs = stridesOf(a.shape);
      const dims: [number, number][] = [];
      for (const p of a.perm) {
        if (a.shape[p] === 1) continue;
        const last = dims[dims.length - 1];
        if (last !== undefined && last[1] === xs[p] * a.shape[p]) {
          last[0] *= a.shape[p];
          last[1] = xs[p];
        } else dims.push([a.shape[p], xs[p]]);
      }
      if (dims.length > 8) throw new RangeError(`${fn}: more than 8 dims after merging are not supported on 'webgpu'`);
      const m = dims.length;
      // x's innermost dim (stride 1) is output dim ka; out's innermost dim has stride bstr in x.
      const ka = dims.findIndex((d) => d[1] === 1);
      if (m >= 2 && ka >= 0 && ka !== m - 1) {
        const os = stridesOf(dims.map((d) => d[0]));
        const batch = dims.map((d, k) => ({ size: d[0], sx: d[1], so: os[k] })).filter((_, k) => k !== ka && k !== m - 1);
        const na = dims[ka][0];
        const nb = dims[m - 1][0];
        const ta = Math.ceil(na / 32);
        const tb = Math.ceil(nb / 32);
        const batches = prod(batch.map((b) => b.size));
        const fill = (f: (b: (typeof batch)[number]) => number): number[] => Object.assign(new Array<number>(8).fill(0), batch.map(f));
        rt.run(
          TRANSPOSE,
          [x, out],
          { na, nb, astr: os[ka], bstr: dims[m - 1][1], ta, tb, batches, nd: batch.length, bshape: fill((b) => b.size), bsx: fill((b) => b.sx), bso: fill((b) => b.so) },
          gridOf(ta * tb * batches),
        );
        return;
      }
      const shape = new Array<number>(8).fill(0);
      const sstride = new Array<number>(8).fill(0);
      dims.forEach(([s, t], k) => {
        shape[k] = s;
        sstride[k] = t;
      });
      rt.run(PERMUTE, [x, out], { n, nd: m, shape, sstride }, grid1d(n, WG));
    },

    copyRegion(a: CopyRegionArgs) {
      const fn = 'copyRegion';
      const src = gpuStorage(a.src, fn);
      const dst = gpuStorage(a.dst, fn);
      const r = a.size.length;
      if (a.srcShape.length !== r || a.srcStart.length !== r || a.dstShape.length !== r || a.dstStart.length !== r) {
        throw new RangeError(`${fn}: srcShape, srcStart, dstShape, dstStart and size must have one entry per dim (${r})`);
      }
      for (let i = 0; i < r; i++) {
        if (a.srcStart[i] < 0 || a.srcStart[i] + a.size[i] > a.srcShape[i] || a.dstStart[i] < 0 || a.dstStart[i] + a.size[i] > a.dstShape[i]) {
          throw new RangeError(`${fn}: the box [${a.size.join(', ')}] at src [${a.srcStart.join(', ')}] / dst [${a.dstStart.join(', ')}] leaves src [${a.srcShape.join(', ')}] or dst [${a.dstShape.join(', ')}] on dim ${i}`);
        }
      }
      if (src.length !== prod(a.srcShape) || dst.length !== prod(a.dstShape)) {
        throw new RangeError(`${fn}: src holds ${src.length} values and dst ${dst.length}, shapes need ${prod(a.srcShape)} and ${prod(a.dstShape)}`);
      }
      const n = prod(a.size);
      if (n === 0) return;
      const sSt = stridesOf(a.srcShape);
      const dSt = stridesOf(a.dstShape);
      let sbase = 0;
      let dbase = 0;
      // Box dims as [size, src stride, dst stride]; size-1 dims only move the bases, and a dim
      // merges into the one before when it is contiguous in both tensors.
      const dims: [number, number, number][] = [];
      for (let i = 0; i < r; i++) {
        sbase += a.srcStart[i] * sSt[i];
        dbase += a.dstStart[i] * dSt[i];
        if (a.size[i] === 1) continue;
        const last = dims[dims.length - 1];
        if (last !== undefined && last[1] === sSt[i] * a.size[i] && last[2] === dSt[i] * a.size[i]) {
          last[0] *= a.size[i];
          last[1] = sSt[i];
          last[2] = dSt[i];
        } else dims.push([a.size[i], sSt[i], dSt[i]]);
      }
      if (dims.length > 8) throw new RangeError(`${fn}: more than 8 dims after merging are not supported on 'webgpu'`);
      if (dims.length === 1 && dims[0][1] === 1 && dims[0][2] === 1) {
        // One contiguous run in both: a buffer copy.
        rt.copy(new GpuStorage(src.dtype, src.alloc, src.offset + sbase, n), new GpuStorage(dst.dtype, dst.alloc, dst.offset + dbase, n));
        return;
      }
      const size = new Array<number>(8).fill(0);
      const sst = new Array<number>(8).fill(0);
      const dstSt = new Array<number>(8).fill(0);
      dims.forEach(([s, p, q], k) => {
        size[k] = s;
        sst[k] = p;
        dstSt[k] = q;
      });
      rt.run(COPY_REGION, [src, dst], { n, nd: dims.length, sbase, dbase, size, sst, dst_st: dstSt }, grid1d(n, WG));
    },
  };
}
