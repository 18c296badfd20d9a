// WebGPU reductions and layout kernels (WGSL), with the CPU's semantics (native/kernels/reduce.cc):
// - reduce: size-1 dims are dropped and neighbouring dims of the same kind (kept / reduced)
//   merged on the host (at most 8 of each kind remain). One workgroup of 256 invocations per
//   output: lanes stride over the reduced positions, then a shared-memory tree. Variance is
//   two-pass as on the CPU: c = mean, S2 = sum (x - c)^2, S1 = sum (x - c), M2 = S2 - S1^2 / R.
//   max/min keep (value, position) pairs with the CPU's rule: NaN wins, then the strictly better
//   value, then on equal values the smaller position, so the index is the first extreme.
// - extremeBackward: one invocation per input value (its output o and reduced position r come
//   from its coordinates); the tie-splitting form first counts each output's ties with the
//   reduce kernel's tree.
// - permute and copyRegion: one invocation per copied value, offsets from per-dim strides.
import type { ReduceKernels } from '../kernels/reduce.js';
import { grid1d, type GpuRuntime, type Grid, type KernelSpec, type ParamDecl } from './runtime.js';
import { gpuStorage } from './storage.js';
import type { Storage } from '../storage.js';

const MAXD = 8;
const WG = 256;
const OP_COUNT_TIES = 6;

const arr = (name: string): ParamDecl => ({ name, type: 'u32', count: MAXD });
const AT = 'fn at(a: array<vec4<u32>, 2>, i: u32) -> u32 { return a[i / 4u][i % 4u]; }';

/**
 * ops: 0 sum, 1 mean, 2 max, 3 var, 4 min, 5 std (ReduceOp), 6 = count of values equal to
 * values[o] (NaN equal to NaN), for extremeBackward.
 */
const REDUCE: KernelSpec = {
  name: 'reduce',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 'out', type: 'f32', access: 'read_write' },
    { name: 'idx', type: 'i32', access: 'read_write', optional: true },
    { name: 'values', type: 'f32', access: 'read', optional: true },
  ],
  params: [
    { name: 'op', type: 'u32' }, { name: 'O', type: 'u32' }, { name: 'R', type: 'u32' }, { name: 'nk', type: 'u32' }, { name: 'nr', type: 'u32' },
    { name: 'hasIdx', type: 'u32' }, { name: 'denom', type: 'f32' },
    arr('ksize'), arr('kxs'), arr('rsize'), arr('rxs'),
  ],
  workgroupSize: [WG],
  moduleScope: `
${AT}
var<workgroup> rv: array<f32, ${WG}>;
var<workgroup> rv2: array<f32, ${WG}>;
var<workgroup> ri: array<i32, ${WG}>;
fn is_nan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }
// NaN from a runtime value: WGSL's constant evaluation rejects it.
fn nan() -> f32 { var bits = 0x7fc00000u; return bitcast<f32>(bits); }
fn x_base(o0: u32) -> u32 {
  var o = o0;
  var off = 0u;
  for (var k = i32(P.nk) - 1; k >= 0; k--) {
    let s = at(P.ksize, u32(k));
    off += (o % s) * at(P.kxs, u32(k));
    o /= s;
  }
  return off;
}
fn r_off(r0: u32) -> u32 {
  var r = r0;
  var off = 0u;
  for (var k = i32(P.nr) - 1; k >= 0; k--) {
    let s = at(P.rsize, u32(k));
    off += (r % s) * at(P.rxs, u32(k));
    r /= s;
  }
  return off;
}
// Whether (v, r) replaces the extreme (b, br); ismax selects max.
fn takes(v: f32, r: i32, b: f32, br: i32, ismax: bool) -> bool {
  let vn = is_nan(v);
  let bn = is_nan(b);
  if (vn || bn) { return vn && (!bn || r < br); }
  if (v == b) { return r < br; }
  if (ismax) { return v > b; }
  return v < b;
}
fn tree_sum(v: f32) -> f32 {
  rv[lid_g] = v;
  workgroupBarrier();
  for (var h = ${WG / 2}u; h > 0u; h /= 2u) {
    if (lid_g < h) { rv[lid_g] += rv[lid_g + h]; }
    workgroupBarrier();
  }
  let s = rv[0];
  workgroupBarrier();
  return s;
}
var<private> lid_g: u32;`,
  body: `
  lid_g = lidx;
  let o = wid.x + wid.y * nwg.x;
  let live = o < P.O;
  var base = 0u;
  if (live) { base = P.x_off + x_base(o); }
  if (P.op == 2u || P.op == 4u) {
    let ismax = P.op == 2u;
    var b = 0.0;
    var br = -1;
    if (live) {
      for (var r = lidx; r < P.R; r += ${WG}u) {
        let v = x[base + r_off(r)];
        if (br < 0 || takes(v, i32(r), b, br, ismax)) { b = v; br = i32(r); }
      }
    }
    rv[lidx] = b;
    ri[lidx] = br;
    workgroupBarrier();
    for (var h = ${WG / 2}u; h > 0u; h /= 2u) {
      if (lidx < h) {
        let cr = ri[lidx + h];
        if (cr >= 0 && (ri[lidx] < 0 || takes(rv[lidx + h], cr, rv[lidx], ri[lidx], ismax))) { rv[lidx] = rv[lidx + h]; ri[lidx] = cr; }
      }
      workgroupBarrier();
    }
    if (live && lidx == 0u) {
      out[P.out_off + o] = rv[0];
      if (P.hasIdx != 0u) { idx[P.idx_off + o] = ri[0]; }
    }
    return;
  }
  if (P.op == ${OP_COUNT_TIES}u) {
    var c = 0.0;
    if (live) {
      let best = values[P.values_off + o];
      let nan = is_nan(best);
      for (var r = lidx; r < P.R; r += ${WG}u) {
        let v = x[base + r_off(r)];
        if ((nan && is_nan(v)) || (!nan && v == best)) { c += 1.0; }
      }
    }
    c = tree_sum(c);
    if (live && lidx == 0u) { out[P.out_off + o] = c; }
    return;
  }
  var s = 0.0;
  if (live) { for (var r = lidx; r < P.R; r += ${WG}u) { s += x[base + r_off(r)]; } }
  s = tree_sum(s);
  if (P.op == 0u || P.op == 1u) {
    if (live && lidx == 0u) {
      if (P.op == 0u) { out[P.out_off + o] = s; } else { out[P.out_off + o] = s / f32(P.R); }
    }
    return;
  }
  let c = s / f32(P.R);
  var s2 = 0.0;
  var s1 = 0.0;
  if (live) {
    for (var r = lidx; r < P.R; r += ${WG}u) { let d = x[base + r_off(r)] - c; s2 += d * d; s1 += d; }
  }
  s2 = tree_sum(s2);
  s1 = tree_sum(s1);
  if (live && lidx == 0u) {
    var v = (s2 - s1 * s1 / f32(P.R)) / P.denom;
    if (P.denom <= 0.0) { v = nan(); }
    if (P.op == 5u) { v = sqrt(v); }
    out[P.out_off + o] = v;
  }`,
};

/** gx[i] = the gradient routed to input i: at the saved index (hasIdx), or split among ties. */
const EXTREME_BACKWARD: KernelSpec = {
  name: 'extremeBackward',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 'values', type: 'f32', access: 'read' },
    { name: 'idx', type: 'i32', access: 'read', optional: true },
    { name: 'ties', type: 'f32', access: 'read', optional: true },
    { name: 'g', type: 'f32', access: 'read' },
    { name: 'gx', type: 'f32', access: 'read_write' },
  ],
  params: [{ name: 'n', type: 'u32' }, { name: 'nd', type: 'u32' }, { name: 'hasIdx', type: 'u32' }, arr('size'), arr('os'), arr('rs')],
  workgroupSize: [WG],
  moduleScope: `${AT}
fn is_nan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }`,
  body: `
  let i = linear_id(gid, nwg);
  if (i >= P.n) { return; }
  var rem = i;
  var o = 0u;
  var r = 0u;
  for (var k = i32(P.nd) - 1; k >= 0; k--) {
    let s = at(P.size, u32(k));
    let c = rem % s;
    rem /= s;
    o += c * at(P.os, u32(k));
    r += c * at(P.rs, u32(k));
  }
  var v = 0.0;
  if (P.hasIdx != 0u) {
    if (idx[P.idx_off + o] == i32(r)) { v = g[P.g_off + o]; }
  } else {
    let best = values[P.values_off + o];
    let xv = x[P.x_off + i];
    let nan = is_nan(best);
    if ((nan && is_nan(xv)) || (!nan && xv == best)) { v = g[P.g_off + o] / ties[P.ties_off + o]; }
  }
  gx[P.gx_off + i] = v;`,
};

/** out[j] = x[sum over k of coord_k(j) * xs[k]], coordinates of j in the output shape. */
const STRIDED_COPY: KernelSpec = {
  name: 'stridedCopy',
  storages: [{ name: 'src', type: 'f32', access: 'read' }, { name: 'dst', type: 'f32', access: 'read_write' }],
  params: [{ name: 'n', type: 'u32' }, { name: 'nd', type: 'u32' }, { name: 'sbase', type: 'u32' }, { name: 'dbase', type: 'u32' }, arr('size'), arr('ss'), arr('ds')],
  workgroupSize: [WG],
  moduleScope: AT,
  body: `
  let j = linear_id(gid, nwg);
  if (j >= P.n) { return; }
  var rem = j;
  var so = P.sbase;
  var d = P.dbase;
  for (var k = i32(P.nd) - 1; k >= 0; k--) {
    let s = at(P.size, u32(k));
    let c = rem % s;
    rem /= s;
    so += c * at(P.ss, u32(k));
    d += c * at(P.ds, u32(k));
  }
  dst[P.dst_off + d] = src[P.src_off + so];`,
};

const FILL_SPEC: KernelSpec = {
  name: 'reduceFill',
  storages: [{ name: 'y', type: 'f32', access: 'read_write' }],
  params: [{ name: 'n', type: 'u32' }, { name: 'value', type: 'f32' }],
  workgroupSize: [WG],
  body: 'let i = linear_id(gid, nwg); if (i < P.n) { y[P.y_off + i] = P.value; }',
};

const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

function stridesOf(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = s;
    s *= shape[i];
  }
  return st;
}

function checkShape(fn: string, arg: string, shape: number[]): void {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw new RangeError(`${fn}: ${arg} must hold sizes >= 0, got ${JSON.stringify(shape)}`);
}

/** Merged geometry: dims of size 1 dropped, neighbours of one kind merged. */
interface Merged {
  size: number[];
  reduced: boolean[];
}

function merge(shape: number[], dims: number[]): Merged {
  const size: number[] = [];
  const reduced: boolean[] = [];
  for (let k = 0; k < shape.length; k++) {
    if (shape[k] === 1) continue;
    const red = dims.includes(k);
    if (size.length > 0 && reduced[reduced.length - 1] === red) size[size.length - 1] *= shape[k];
    else {
      size.push(shape[k]);
      reduced.push(red);
    }
  }
  return { size, reduced };
}

function checkDims(fn: string, shape: number[], dims: number[]): void {
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0 || d >= shape.length) throw new RangeError(`${fn}: dims holds dim ${d}, outside [0, ${shape.length})`);
  }
}

function need(fn: string, arg: string, s: Storage, n: number, dtype: 'float32' | 'int32' = 'float32'): void {
  const g = gpuStorage(s, `${fn} (${arg})`, dtype);
  if (g.length < n) throw new RangeError(`${fn}: ${arg} must hold ${n} values, got ${g.length}`);
}

function fit(fn: string, what: string, a: number[]): number[] {
  if (a.length > MAXD) throw new RangeError(`${fn}: ${what} has ${a.length} dims after merging; the WebGPU kernels take at most ${MAXD}`);
  return a;
}

function outGrid(O: number): Grid {
  return O <= 65535 ? [Math.max(1, O), 1, 1] : [65535, Math.ceil(O / 65535), 1];
}

export function webgpuReduceKernels(rt: GpuRuntime): ReduceKernels {
  /** Runs REDUCE for op over x (shape, dims) into out, with optional idx / values. */
  const runReduce = (fn: string, op: number, x: Storage, shape: number[], dims: number[], out: Storage, idx: Storage | null, values: Storage | null, unbiased: boolean): void => {
    const m = merge(shape, dims);
    const ksize: number[] = [], kxs: number[] = [], rsize: number[] = [], rxs: number[] = [];
    const xs = stridesOf(m.size);
    m.size.forEach((s, k) => {
      if (m.reduced[k]) {
        rsize.push(s);
        rxs.push(xs[k]);
      } else {
        ksize.push(s);
        kxs.push(xs[k]);
      }
    });
    fit(fn, 'the kept part of shape', ksize);
    fit(fn, 'the reduced part of shape', rsize);
    const O = prod(ksize), R = prod(rsize);
    if (O === 0) return;
    const denom = R - (unbiased ? 1 : 0);
    rt.run(REDUCE, [x, out, idx, values], {
      op, O, R, nk: ksize.length, nr: rsize.length, hasIdx: idx !== null, denom, ksize, kxs, rsize, rxs,
    }, outGrid(O));
  };

  const stridedCopy = (src: Storage, dst: Storage, size: number[], ss: number[], ds: number[], sbase: number, dbase: number): void => {
    const n = prod(size);
    if (n === 0) return;
    rt.run(STRIDED_COPY, [src, dst], { n, nd: size.length, sbase, dbase, size, ss, ds }, grid1d(n, WG));
  };

  return {
    reduce(a) {
      const fn = 'reduce';
      if (!Number.isInteger(a.op) || a.op < 0 || a.op > 5) throw new RangeError(`${fn}: op must be a reduction op code (0-5), got ${a.op}`);
      checkShape(fn, 'shape', a.shape);
      checkDims(fn, a.shape, a.dims);
      const n = prod(a.shape);
      need(fn, 'x', a.x, n);
      const R = prod(a.dims.filter((d, i, all) => all.indexOf(d) === i).map((d) => a.shape[d]));
      const O = R === 0 ? prod(a.shape.filter((_, k) => !a.dims.includes(k))) : n / R;
      need(fn, 'out', a.out, O);
      const extreme = a.op === 2 || a.op === 4;
      if (extreme && R === 0) throw new RangeError(`${fn}: dims selects an empty set of elements; max/min need at least one`);
      const idx = extreme ? a.index ?? null : null;
      if (idx !== null) need(fn, 'index', idx, O, 'int32');
      if (R === 0) {
        // Sum over nothing is 0; mean, var and std over nothing are NaN, as in PyTorch.
        if (O > 0) rt.run(FILL_SPEC, [a.out], { n: O, value: a.op === 0 ? 0 : NaN }, grid1d(O, WG));
        return;
      }
      runReduce(fn, a.op, a.x, a.shape, a.dims, a.out, idx, null, a.unbiased ?? false);
    },
    extremeBackward(a) {
      const fn = 'extremeBackward';
      checkShape(fn, 'shape', a.shape);
      checkDims(fn, a.shape, a.dims);
      const n = prod(a.shape);
      const O = prod(a.shape.filter((_, k) => !a.dims.includes(k)));
      need(fn, 'x', a.x, n);
      need(fn, 'gx', a.gx, n);
      need(fn, 'g', a.g, O);
      need(fn, 'values', a.values, O);
      if (a.index !== null) need(fn, 'index', a.index, O, 'int32');
      if (n === 0) return;
      let ties = null;
      if (a.index === null) {
        ties = rt.allocate(O, 'float32');
        runReduce(fn, OP_COUNT_TIES, a.x, a.shape, a.dims, ties, null, a.values, false);
      }
      const m = merge(a.shape, a.dims);
      fit(fn, 'shape', m.size);
      const os = new Array<number>(m.size.length).fill(0), rs = new Array<number>(m.size.length).fill(0);
      let so = 1, sr = 1;
      for (let k = m.size.length - 1; k >= 0; k--) {
        if (m.reduced[k]) {
          rs[k] = sr;
          sr *= m.size[k];
        } else {
          os[k] = so;
          so *= m.size[k];
        }
      }
      rt.run(EXTREME_BACKWARD, [a.x, a.values, a.index, ties, a.g, a.gx], { n, nd: m.size.length, hasIdx: a.index !== null, size: m.size, os, rs }, grid1d(n, WG));
      if (ties !== null) rt.release(ties);
    },
    permute(a) {
      const fn = 'permute';
      checkShape(fn, 'shape', a.shape);
      const r = a.shape.length;
      if (a.perm.length !== r || [...a.perm].sort((p, q) => p - q).some((p, i) => p !== i)) {
        throw new RangeError(`${fn}: perm must be a permutation of 0..${r - 1}, got ${JSON.stringify(a.perm)}`);
      }
      const n = prod(a.shape);
      need(fn, 'x', a.x, n);
      need(fn, 'out', a.out, n);
      if (r === 0) {
        stridedCopy(a.x, a.out, [1], [0], [0], 0, 0);
        return;
      }
      fit(fn, 'shape', a.shape);
      const xs = stridesOf(a.shape);
      const size = a.perm.map((p) => a.shape[p]);
      stridedCopy(a.x, a.out, size, a.perm.map((p) => xs[p]), stridesOf(size), 0, 0);
    },
    copyRegion(a) {
      const fn = 'copyRegion';
      const r = a.size.length;
      if (a.srcShape.length !== r || a.srcStart.length !== r || a.dstShape.length !== r || a.dstStart.length !== r) {
        throw new RangeError(`${fn}: srcShape, srcStart, dstShape, dstStart and size must have one entry per dim (${r})`);
      }
      for (let i = 0; i < r; i++) {
        if (a.srcStart[i] < 0 || a.srcStart[i] + a.size[i] > a.srcShape[i] || a.dstStart[i] < 0 || a.dstStart[i] + a.size[i] > a.dstShape[i]) {
          throw new RangeError(`${fn}: the box [${a.size.join(', ')}] at src [${a.srcStart.join(', ')}] / dst [${a.dstStart.join(', ')}] leaves src [${a.srcShape.join(', ')}] or dst [${a.dstShape.join(', ')}] on dim ${i}`);
        }
      }
      const src = gpuStorage(a.src, fn), dst = gpuStorage(a.dst, fn);
      if (src.length !== prod(a.srcShape) || dst.length !== prod(a.dstShape)) {
        throw new RangeError(`${fn}: src holds ${src.length} values and dst ${dst.length}, shapes need ${prod(a.srcShape)} and ${prod(a.dstShape)}`);
      }
      if (r === 0) {
        stridedCopy(src, dst, [1], [0], [0], 0, 0);
        return;
      }
      fit(fn, 'size', a.size);
      const ss = stridesOf(a.srcShape), ds = stridesOf(a.dstShape);
      const sbase = a.srcStart.reduce((acc, s, i) => acc + s * ss[i], 0);
      const dbase = a.dstStart.reduce((acc, s, i) => acc + s * ds[i], 0);
      stridedCopy(src, dst, a.size, ss, ds, sbase, dbase);
    },
  };
}
