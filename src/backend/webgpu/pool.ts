// WebGPU pooling kernels (WGSL), implementing PoolKernels of kernels/pool.ts with the CPU's
// semantics (native/kernels/pool.cc): one invocation per output value for the forwards; the
// average and adaptive backwards gather, per input value, the outputs whose windows hold it (in
// the CPU's output order, so the sums match); max-pool backward adds each dy to its saved argmax
// position with a compare-and-swap loop on the float's bits, since WGSL has no float atomics
// (overlapping windows can pick the same maximum).
import type { PoolKernels, Pool2dWindow } from '../kernels/pool.js';
import { grid1d, type GpuRuntime, type KernelSpec } from './runtime.js';
import { GpuStorage, gpuStorage } from './storage.js';
import type { Storage } from '../storage.js';

const WG = 256;

/** Geometry params shared by the windowed kernels. */
const GEOMETRY = ['P', 'H', 'W', 'OH', 'OW', 'KH', 'KW', 'SH', 'SW', 'PH', 'PW', 'DH', 'DW'].map((name) => ({ name, type: 'i32' as const }));

const MAX_FORWARD: KernelSpec = {
  name: 'maxPool2dForward',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 'y', type: 'f32', access: 'read_write' },
    { name: 'ind', type: 'i32', access: 'read_write' },
  ],
  params: [...GEOMETRY, { name: 'total', type: 'u32' }],
  workgroupSize: [WG],
  moduleScope: `
fn is_nan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }
// -inf from a runtime value: WGSL's constant evaluation rejects infinities.
fn neg_inf() -> f32 { var bits = 0xff800000u; return bitcast<f32>(bits); }`,
  // Taps hs + i*DH inside [0, H) are i in [i0, i1); the first tap's position is kept when every
  // tap is -inf; a NaN replaces the current maximum (the last NaN's index wins), as the CPU.
  body: `
  let o = linear_id(gid, nwg);
  if (o >= P.total) { return; }
  let plane = i32(o / u32(P.OH * P.OW));
  let r = i32(o % u32(P.OH * P.OW));
  let oh = r / P.OW;
  let ow = r % P.OW;
  let hs = oh * P.SH - P.PH;
  let ws = ow * P.SW - P.PW;
  var i0 = 0;
  if (hs < 0) { i0 = (-hs + P.DH - 1) / P.DH; }
  let i1 = min(P.KH, (P.H - hs + P.DH - 1) / P.DH);
  var j0 = 0;
  if (ws < 0) { j0 = (-ws + P.DW - 1) / P.DW; }
  let j1 = min(P.KW, (P.W - ws + P.DW - 1) / P.DW);
  let base = u32(plane) * u32(P.H * P.W);
  var best = neg_inf();
  var bi = (hs + i0 * P.DH) * P.W + ws + j0 * P.DW;
  for (var i = i0; i < i1; i++) {
    let h = hs + i * P.DH;
    for (var j = j0; j < j1; j++) {
      let w = ws + j * P.DW;
      let v = x[P.x_off + base + u32(h * P.W + w)];
      if (v > best || is_nan(v)) {
        best = v;
        bi = h * P.W + w;
      }
    }
  }
  y[P.y_off + o] = best;
  ind[P.ind_off + o] = bi;`,
};

const MAX_BACKWARD: KernelSpec = {
  name: 'maxPool2dBackward',
  storages: [
    { name: 'dy', type: 'f32', access: 'read' },
    { name: 'ind', type: 'i32', access: 'read' },
    { name: 'dx', type: 'atomic<u32>', access: 'read_write' },
  ],
  params: [{ name: 'planeOut', type: 'u32' }, { name: 'planeIn', type: 'u32' }, { name: 'total', type: 'u32' }],
  workgroupSize: [WG],
  body: `
  let o = linear_id(gid, nwg);
  if (o >= P.total) { return; }
  let plane = o / P.planeOut;
  let k = ind[P.ind_off + o];
  if (k < 0 || u32(k) >= P.planeIn) { return; }
  let at = P.dx_off + plane * P.planeIn + u32(k);
  let g = dy[P.dy_off + o];
  var old = atomicLoad(&dx[at]);
  loop {
    let r = atomicCompareExchangeWeak(&dx[at], old, bitcast<u32>(bitcast<f32>(old) + g));
    if (r.exchanged) { break; }
    old = r.old_value;
  }`,
};

/** Average pooling's clipped window and divisor, as avg_window in pool.cc. */
const AVG_WINDOW = `
struct Win { h0: i32, h1: i32, w0: i32, w1: i32, inv: f32 }
fn avg_window(oh: i32, ow: i32) -> Win {
  let hs = oh * P.SH - P.PH;
  let ws = ow * P.SW - P.PW;
  let he = min(hs + P.KH, P.H + P.PH);
  let we = min(ws + P.KW, P.W + P.PW);
  var r = Win(max(hs, 0), min(he, P.H), max(ws, 0), min(we, P.W), 0.0);
  var count = (r.h1 - r.h0) * (r.w1 - r.w0);
  if (P.includePad != 0u) { count = (he - hs) * (we - ws); }
  if (count > 0) { r.inv = 1.0 / f32(count); }
  return r;
}`;

const AVG_FORWARD: KernelSpec = {
  name: 'avgPool2dForward',
  storages: [{ name: 'x', type: 'f32', access: 'read' }, { name: 'y', type: 'f32', access: 'read_write' }],
  params: [...GEOMETRY, { name: 'includePad', type: 'u32' }, { name: 'total', type: 'u32' }],
  workgroupSize: [WG],
  moduleScope: AVG_WINDOW,
  body: `
  let o = linear_id(gid, nwg);
  if (o >= P.total) { return; }
  let plane = o / u32(P.OH * P.OW);
  let r = i32(o % u32(P.OH * P.OW));
  let b = avg_window(r / P.OW, r % P.OW);
  let base = P.x_off + plane * u32(P.H * P.W);
  var s = 0.0;
  for (var h = b.h0; h < b.h1; h++) {
    for (var w = b.w0; w < b.w1; w++) { s += x[base + u32(h * P.W + w)]; }
  }
  y[P.y_off + o] = s * b.inv;`,
};

// dx(h, w) = sum over the windows holding (h, w) of dy * inv: oh with oh*SH - PH <= h <
// oh*SH - PH + KH (the clipped window only trims what lies outside the input), in (oh, ow) order.
const AVG_BACKWARD: KernelSpec = {
  name: 'avgPool2dBackward',
  storages: [{ name: 'dy', type: 'f32', access: 'read' }, { name: 'dx', type: 'f32', access: 'read_write' }],
  params: [...GEOMETRY, { name: 'includePad', type: 'u32' }, { name: 'total', type: 'u32' }],
  workgroupSize: [WG],
  moduleScope: AVG_WINDOW + `
fn first_window(v: i32, K: i32, S: i32) -> i32 {
  let t = v - K + 1;
  if (t <= 0) { return 0; }
  return (t + S - 1) / S;
}`,
  body: `
  let i = linear_id(gid, nwg);
  if (i >= P.total) { return; }
  let plane = i / u32(P.H * P.W);
  let r = i32(i % u32(P.H * P.W));
  let h = r / P.W;
  let w = r % P.W;
  let oh0 = first_window(h + P.PH, P.KH, P.SH);
  let oh1 = min(P.OH - 1, (h + P.PH) / P.SH);
  let ow0 = first_window(w + P.PW, P.KW, P.SW);
  let ow1 = min(P.OW - 1, (w + P.PW) / P.SW);
  let base = P.dy_off + plane * u32(P.OH * P.OW);
  var s = 0.0;
  for (var oh = oh0; oh <= oh1; oh++) {
    for (var ow = ow0; ow <= ow1; ow++) {
      let b = avg_window(oh, ow);
      if (h >= b.h0 && h < b.h1 && w >= b.w0 && w < b.w1) { s += dy[base + u32(oh * P.OW + ow)] * b.inv; }
    }
  }
  dx[P.dx_off + i] = s;`,
};

/** Adaptive bins [floor(i*L/OL), ceil((i+1)*L/OL)), as bin_start/bin_end in pool.cc. */
const BINS = `
fn bin_start(i: i32, L: i32, OL: i32) -> i32 { return (i * L) / OL; }
fn bin_end(i: i32, L: i32, OL: i32) -> i32 { return ((i + 1) * L + OL - 1) / OL; }`;

const ADAPTIVE_FORWARD: KernelSpec = {
  name: 'adaptiveAvgPool2dForward',
  storages: [{ name: 'x', type: 'f32', access: 'read' }, { name: 'y', type: 'f32', access: 'read_write' }],
  params: [...['H', 'W', 'OH', 'OW'].map((name) => ({ name, type: 'i32' as const })), { name: 'total', type: 'u32' }],
  workgroupSize: [WG],
  moduleScope: BINS,
  body: `
  let o = linear_id(gid, nwg);
  if (o >= P.total) { return; }
  let plane = o / u32(P.OH * P.OW);
  let r = i32(o % u32(P.OH * P.OW));
  let oh = r / P.OW;
  let ow = r % P.OW;
  let h0 = bin_start(oh, P.H, P.OH);
  let h1 = bin_end(oh, P.H, P.OH);
  let w0 = bin_start(ow, P.W, P.OW);
  let w1 = bin_end(ow, P.W, P.OW);
  let base = P.x_off + plane * u32(P.H * P.W);
  var s = 0.0;
  for (var h = h0; h < h1; h++) {
    for (var w = w0; w < w1; w++) { s += x[base + u32(h * P.W + w)]; }
  }
  y[P.y_off + o] = s / f32((h1 - h0) * (w1 - w0));`,
};

// The bins holding h are i in [floor(h*OH/H), ceil((h+1)*OH/H)) (bins overlap when OH does not
// divide H, and repeat an input when OH > H); contributions are added in (oh, ow) order.
const ADAPTIVE_BACKWARD: KernelSpec = {
  name: 'adaptiveAvgPool2dBackward',
  storages: [{ name: 'dy', type: 'f32', access: 'read' }, { name: 'dx', type: 'f32', access: 'read_write' }],
  params: [...['H', 'W', 'OH', 'OW'].map((name) => ({ name, type: 'i32' as const })), { name: 'total', type: 'u32' }],
  workgroupSize: [WG],
  moduleScope: BINS,
  body: `
  let i = linear_id(gid, nwg);
  if (i >= P.total) { return; }
  let plane = i / u32(P.H * P.W);
  let r = i32(i % u32(P.H * P.W));
  let h = r / P.W;
  let w = r % P.W;
  let oh0 = (h * P.OH) / P.H;
  let oh1 = min(P.OH, ((h + 1) * P.OH + P.H - 1) / P.H);
  let ow0 = (w * P.OW) / P.W;
  let ow1 = min(P.OW, ((w + 1) * P.OW + P.W - 1) / P.W);
  let base = P.dy_off + plane * u32(P.OH * P.OW);
  var s = 0.0;
  for (var oh = oh0; oh < oh1; oh++) {
    let h0 = bin_start(oh, P.H, P.OH);
    let h1 = bin_end(oh, P.H, P.OH);
    if (h < h0 || h >= h1) { continue; }
    for (var ow = ow0; ow < ow1; ow++) {
      let w0 = bin_start(ow, P.W, P.OW);
      let w1 = bin_end(ow, P.W, P.OW);
      if (w < w0 || w >= w1) { continue; }
      s += dy[base + u32(oh * P.OW + ow)] / f32((h1 - h0) * (w1 - w0));
    }
  }
  dx[P.dx_off + i] = s;`,
};

/** PyTorch's pooling_output_shape (pool_out_len in pool.cc). */
function outLen(L: number, K: number, S: number, P: number, D: number, ceilMode: boolean): number {
  const num = L + 2 * P - (D * (K - 1) + 1);
  let out = (ceilMode ? Math.ceil(num / S) : Math.floor(num / S)) + 1;
  if (ceilMode && (out - 1) * S >= L + P) out--;
  return out;
}

function pair(fn: string, arg: string, v: number[] | undefined, min: number): [number, number] {
  if (!Array.isArray(v) || v.length !== 2 || !v.every((d) => Number.isInteger(d) && d >= min)) {
    throw new RangeError(`${fn}: ${arg} must be a pair [h, w] of integers >= ${min}, got ${JSON.stringify(v)}`);
  }
  return [v[0], v[1]];
}

function shape4(fn: string, arg: string, v: number[]): [number, number, number, number] {
  if (!Array.isArray(v) || v.length !== 4 || !v.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new RangeError(`${fn}: ${arg} must be a shape [N, C, H, W] of sizes >= 0, got ${JSON.stringify(v)}`);
  }
  return [v[0], v[1], v[2], v[3]];
}

function checkLength(fn: string, arg: string, s: Storage, n: number, dtype: 'float32' | 'int32' = 'float32'): void {
  const g = gpuStorage(s, `${fn} (${arg})`, dtype);
  if (g.length < n) throw new RangeError(`${fn}: ${arg} must hold ${n} values, got ${g.length}`);
}

interface Geometry {
  params: Record<string, number>;
  planes: number;
  H: number;
  W: number;
  OH: number;
  OW: number;
}

function geometry(fn: string, xShape: number[], w: Pool2dWindow, dilation: number[] | undefined): Geometry {
  const [N, C, H, W] = shape4(fn, 'xShape', xShape);
  const [KH, KW] = pair(fn, 'kernel', w.kernel, 1);
  const [SH, SW] = pair(fn, 'stride', w.stride, 1);
  const [PH, PW] = pair(fn, 'padding', w.padding, 0);
  if (2 * PH > KH || 2 * PW > KW) throw new RangeError(`${fn}: padding must be at most half the kernel size, got ${JSON.stringify(w.padding)} for kernel ${JSON.stringify(w.kernel)}`);
  const [DH, DW] = dilation === undefined ? [1, 1] : pair(fn, 'dilation', dilation, 1);
  if (H + 2 * PH < DH * (KH - 1) + 1 || W + 2 * PW < DW * (KW - 1) + 1) {
    throw new RangeError(`${fn}: kernel ${JSON.stringify(w.kernel)} is larger than the padded input ${H + 2 * PH}x${W + 2 * PW}`);
  }
  const ceil = w.ceilMode ?? false;
  const OH = outLen(H, KH, SH, PH, DH, ceil);
  const OW = outLen(W, KW, SW, PW, DW, ceil);
  return { params: { P: N * C, H, W, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW }, planes: N * C, H, W, OH, OW };
}

export function webgpuPoolKernels(rt: GpuRuntime): PoolKernels {
  return {
    maxPool2dForward(a) {
      const fn = 'maxPool2dForward';
      const g = geometry(fn, a.xShape, a, a.dilation);
      const total = g.planes * g.OH * g.OW;
      checkLength(fn, 'x', a.x, g.planes * g.H * g.W);
      checkLength(fn, 'y', a.y, total);
      checkLength(fn, 'indices', a.indices, total, 'int32');
      rt.run(MAX_FORWARD, [a.x, a.y, a.indices], { ...g.params, total }, grid1d(total, WG));
    },
    maxPool2dBackward(a) {
      const fn = 'maxPool2dBackward';
      const [N, C, OH, OW] = shape4(fn, 'outShape', a.outShape);
      const [xn, xc, H, W] = shape4(fn, 'xShape', a.xShape);
      if (xn !== N || xc !== C) throw new RangeError(`${fn}: outShape ${JSON.stringify(a.outShape)} must match xShape ${JSON.stringify(a.xShape)} in N and C`);
      const total = N * C * OH * OW;
      checkLength(fn, 'dy', a.dy, total);
      checkLength(fn, 'indices', a.indices, total, 'int32');
      checkLength(fn, 'dx', a.dx, N * C * H * W);
      const dx = gpuStorage(a.dx, fn);
      rt.clear(new GpuStorage('float32', dx.alloc, dx.offset, N * C * H * W));
      rt.run(MAX_BACKWARD, [a.dy, a.indices, a.dx], { planeOut: OH * OW, planeIn: H * W, total }, grid1d(total, WG));
    },
    avgPool2dForward(a) {
      const fn = 'avgPool2dForward';
      const g = geometry(fn, a.xShape, a, undefined);
      const total = g.planes * g.OH * g.OW;
      checkLength(fn, 'x', a.x, g.planes * g.H * g.W);
      checkLength(fn, 'y', a.y, total);
      rt.run(AVG_FORWARD, [a.x, a.y], { ...g.params, includePad: a.countIncludePad ?? true, total }, grid1d(total, WG));
    },
    avgPool2dBackward(a) {
      const fn = 'avgPool2dBackward';
      const g = geometry(fn, a.xShape, a, undefined);
      const total = g.planes * g.H * g.W;
      checkLength(fn, 'dy', a.dy, g.planes * g.OH * g.OW);
      checkLength(fn, 'dx', a.dx, total);
      rt.run(AVG_BACKWARD, [a.dy, a.dx], { ...g.params, includePad: a.countIncludePad ?? true, total }, grid1d(total, WG));
    },
    adaptiveAvgPool2dForward(a) {
      const fn = 'adaptiveAvgPool2dForward';
      const [N, C, H, W] = shape4(fn, 'xShape', a.xShape);
      const [OH, OW] = pair(fn, 'outSize', a.outSize, 1);
      if (H < 1 || W < 1) throw new RangeError(`${fn}: xShape must have H, W >= 1, got ${JSON.stringify(a.xShape)}`);
      const total = N * C * OH * OW;
      checkLength(fn, 'x', a.x, N * C * H * W);
      checkLength(fn, 'y', a.y, total);
      rt.run(ADAPTIVE_FORWARD, [a.x, a.y], { H, W, OH, OW, total }, grid1d(total, WG));
    },
    adaptiveAvgPool2dBackward(a) {
      const fn = 'adaptiveAvgPool2dBackward';
      const [N, C, H, W] = shape4(fn, 'xShape', a.xShape);
      const [OH, OW] = pair(fn, 'outSize', a.outSize, 1);
      if (H < 1 || W < 1) throw new RangeError(`${fn}: xShape must have H, W >= 1, got ${JSON.stringify(a.xShape)}`);
      const total = N * C * H * W;
      checkLength(fn, 'dy', a.dy, N * C * OH * OW);
      checkLength(fn, 'dx', a.dx, total);
      rt.run(ADAPTIVE_BACKWARD, [a.dy, a.dx], { H, W, OH, OW, total }, grid1d(total, WG));
    },
  };
}
