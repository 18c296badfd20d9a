// WebGPU pool kernels (WGSL), implementing PoolKernels of kernels/pool.ts on the runtime's storage,
// with the CPU kernels' semantics (native/kernels/pool.cc):
//   max pool:  taps hs + i*DH, ws + j*DW of the window at hs = oh*SH - PH, ws = ow*SW - PW, inside
//              the input; scanned row-major from best = -inf, a tap replaces the best when it is
//              greater or NaN (first maximum wins, the last NaN wins); the index of an all -inf
//              window is its first tap's (ih*W + iw within the plane).
//   avg pool:  window [hs, min(hs+KH, H+PH)) x [ws, min(ws+KW, W+PW)) clipped to the input; the
//              divisor is the padded window's size (countIncludePad) or the clipped window's.
//   adaptive:  bin i of OL over L covers [floor(i*L/OL), ceil((i+1)*L/OL)).
// Forwards run one invocation per output (adaptive pooling with large bins: one workgroup per
// output with a shared-memory tree sum). Backwards are gathers, one invocation per input
// element summing, in ascending output order as the CPU does, the gradients of the outputs that
// reach it, so no two invocations write one element and the sums are deterministic.
import type {
  AdaptiveAvgPool2dBackwardArgs, AdaptiveAvgPool2dForwardArgs, AvgPool2dBackwardArgs, AvgPool2dForwardArgs,
  MaxPool2dBackwardArgs, MaxPool2dForwardArgs, PoolKernels, Pool2dWindow,
} from '../kernels/pool.js';
import { grid1d, type GpuRuntime, type KernelSpec, type ParamDecl } from './runtime.js';
import { i32p, storageAtLeast, u32p } from './checks.js';
import { IS_NAN } from './wgsl.js';

const WG = 256;
/** Threads of the workgroup that sums one adaptive bin. */
const BIN_WG = 128;
/** Mean bin area from which adaptive pooling sums each bin with a workgroup. */
const BIN_WG_AREA = 64;


/** Output index o -> (plane, oh, ow) as i32, from the params total, OH, OW. */
const OUTPUT_COORDS = `
  let o = linear_id(gid, nwg);
  if (o >= P.total) { return; }
  let ow = i32(o % u32(P.OW));
  let oh = i32((o / u32(P.OW)) % u32(P.OH));
  let pl = o / u32(P.OW * P.OH);`;

/** NaN test on the bits: a compiler may assume v == v for floats. */

const MAX_FORWARD: KernelSpec = {
  name: 'maxPool2dForward',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 'y', type: 'f32', access: 'read_write' },
    { name: 'ind', type: 'i32', access: 'read_write' },
  ],
  params: [...u32p('total'), ...i32p('H', 'W', 'OH', 'OW', 'KH', 'KW', 'SH', 'SW', 'PH', 'PW', 'DH', 'DW'), { name: 'neg_inf', type: 'f32' }],
  workgroupSize: [WG],
  moduleScope: IS_NAN,
  body: `${OUTPUT_COORDS}
  let xb = P.x_off + pl * u32(P.H * P.W);
  // Taps inside the input: i in [i0, i1), j in [j0, j1) (hs < H holds for every window).
  let hs = oh * P.SH - P.PH;
  let ws = ow * P.SW - P.PW;
  let i0 = select(0, (-hs + P.DH - 1) / P.DH, hs < 0);
  let i1 = min(P.KH, (P.H - hs + P.DH - 1) / P.DH);
  let j0 = select(0, (-ws + P.DW - 1) / P.DW, ws < 0);
  let j1 = min(P.KW, (P.W - ws + P.DW - 1) / P.DW);
  var best = P.neg_inf;
  var bi = (hs + i0 * P.DH) * P.W + ws + j0 * P.DW;
  for (var i = i0; i < i1; i++) {
    let h = hs + i * P.DH;
    for (var j = j0; j < j1; j++) {
      let p = h * P.W + ws + j * P.DW;
      let v = x[xb + u32(p)];
      if (v > best || is_nan(v)) {
        best = v;
        bi = p;
      }
    }
  }
  y[P.y_off + o] = best;
  ind[P.ind_off + o] = bi;`,
};

// Max-pool backward without the window geometry (the args do not carry it): the outputs whose
// index names input (ih, iw) lie in output rows whose indices reach row ih and output columns
// whose indices reach column iw. ENVELOPE records, over all planes, the lowest and highest index
// row of every output row and the same for columns, as u32 maxima (zeroed buffer = none):
// env[oh] = ~lowest row, env[OH + oh] = highest row + 1, env[2OH + ow] = ~lowest column,
// env[2OH + OW + ow] = highest column + 1. Integer maxima do not depend on the atomics' order.
const MAX_BACKWARD_ENVELOPE: KernelSpec = {
  name: 'maxPool2dBackwardEnvelope',
  storages: [
    { name: 'ind', type: 'i32', access: 'read' },
    { name: 'env', type: 'atomic<u32>', access: 'read_write' },
  ],
  params: u32p('total', 'OH', 'OW', 'W', 'plane_in'),
  workgroupSize: [WG],
  // The plain load first skips the atomic once a slot holds its final value (most outputs).
  moduleScope: `fn raise(k: u32, v: u32) {
  if (v > atomicLoad(&env[P.env_off + k])) { atomicMax(&env[P.env_off + k], v); }
}`,
  body: `
  let o = linear_id(gid, nwg);
  if (o >= P.total) { return; }
  let v = ind[P.ind_off + o];
  if (v < 0 || u32(v) >= P.plane_in) { return; }
  let r = u32(v) / P.W;
  let c = u32(v) % P.W;
  let ow = o % P.OW;
  let oh = (o / P.OW) % P.OH;
  raise(oh, ~r);
  raise(P.OH + oh, r + 1u);
  raise(2u * P.OH + ow, ~c);
  raise(2u * P.OH + P.OW + ow, c + 1u);`,
};

// ranges[2t], ranges[2t + 1]: the output rows [first, last + 1) whose envelope holds input row t
// (t < H), then the output columns of input column t - H; [0, 0) when none does.
const MAX_BACKWARD_RANGES: KernelSpec = {
  name: 'maxPool2dBackwardRanges',
  storages: [
    { name: 'env', type: 'u32', access: 'read' },
    { name: 'ranges', type: 'i32', access: 'read_write' },
  ],
  params: u32p('H', 'W', 'OH', 'OW'),
  workgroupSize: [WG],
  body: `
  let t = linear_id(gid, nwg);
  if (t >= P.H + P.W) { return; }
  let is_row = t < P.H;
  let pos = select(t - P.H, t, is_row);
  let n = select(P.OW, P.OH, is_row);
  let e = P.env_off + select(2u * P.OH, 0u, is_row);
  var k0 = 0;
  var k1 = 0;
  var found = false;
  for (var k = 0u; k < n; k++) {
    let lo = ~env[e + k];
    let hi = env[e + n + k];
    if (lo <= pos && pos < hi) {
      if (!found) { k0 = i32(k); found = true; }
      k1 = i32(k) + 1;
    }
  }
  ranges[P.ranges_off + 2u * t] = k0;
  ranges[P.ranges_off + 2u * t + 1u] = k1;`,
};

const MAX_BACKWARD_GATHER: KernelSpec = {
  name: 'maxPool2dBackward',
  storages: [
    { name: 'dy', type: 'f32', access: 'read' },
    { name: 'ind', type: 'i32', access: 'read' },
    { name: 'ranges', type: 'i32', access: 'read' },
    { name: 'dx', type: 'f32', access: 'read_write' },
  ],
  params: u32p('total', 'H', 'W', 'OH', 'OW'),
  workgroupSize: [WG],
  body: `
  let g = linear_id(gid, nwg);
  if (g >= P.total) { return; }
  let plane_in = P.H * P.W;
  let pl = g / plane_in;
  let p = g % plane_in;
  let ih = p / P.W;
  let iw = p % P.W;
  let r = P.ranges_off + 2u * ih;
  let c = P.ranges_off + 2u * (P.H + iw);
  let oh1 = ranges[r + 1u];
  let ow0 = ranges[c];
  let ow1 = ranges[c + 1u];
  let base = pl * P.OH * P.OW;
  var s = 0.0;
  for (var oh = ranges[r]; oh < oh1; oh++) {
    for (var ow = ow0; ow < ow1; ow++) {
      let o = base + u32(oh) * P.OW + u32(ow);
      if (ind[P.ind_off + o] == i32(p)) { s += dy[P.dy_off + o]; }
    }
  }
  dx[P.dx_off + g] = s;`,
};

/** avg_window(oh, ow) of the CPU: clipped bounds and 1/divisor; needs params H, W, KH, KW, SH, SW, PH, PW, include_pad. */
const AVG_WINDOW = `struct Win { h0: i32, h1: i32, w0: i32, w1: i32, inv: f32 }
fn avg_window(oh: i32, ow: i32) -> Win {
  let hs = oh * P.SH - P.PH;
  let ws = ow * P.SW - P.PW;
  let he = min(hs + P.KH, P.H + P.PH);
  let we = min(ws + P.KW, P.W + P.PW);
  var r = Win(max(hs, 0), min(he, P.H), max(ws, 0), min(we, P.W), 0.0);
  let count = select((r.h1 - r.h0) * (r.w1 - r.w0), (he - hs) * (we - ws), P.include_pad != 0u);
  if (count > 0) { r.inv = 1.0 / f32(count); }
  return r;
}`;

const AVG_PARAMS: ParamDecl[] = [...u32p('total', 'include_pad'), ...i32p('H', 'W', 'OH', 'OW', 'KH', 'KW', 'SH', 'SW', 'PH', 'PW')];

const AVG_FORWARD: KernelSpec = {
  name: 'avgPool2dForward',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 'y', type: 'f32', access: 'read_write' },
  ],
  params: AVG_PARAMS,
  workgroupSize: [WG],
  moduleScope: AVG_WINDOW,
  body: `${OUTPUT_COORDS}
  let xb = P.x_off + pl * u32(P.H * P.W);
  let b = avg_window(oh, ow);
  var s = 0.0;
  for (var h = b.h0; h < b.h1; h++) {
    for (var w = b.w0; w < b.w1; w++) { s += x[xb + u32(h * P.W + w)]; }
  }
  y[P.y_off + o] = s * b.inv;`,
};

// Input ih lies in the window of output row oh iff oh*SH - PH <= ih < oh*SH - PH + KH, i.e.
// oh in [ceil((ih + PH - KH + 1) / SH), floor((ih + PH) / SH)] (the clip to H + PH never
// removes an input row); the same for columns.
const AVG_BACKWARD: KernelSpec = {
  name: 'avgPool2dBackward',
  storages: [
    { name: 'dy', type: 'f32', access: 'read' },
    { name: 'dx', type: 'f32', access: 'read_write' },
  ],
  params: AVG_PARAMS,
  workgroupSize: [WG],
  moduleScope: `${AVG_WINDOW}
fn first_window(i: i32, K: i32, S: i32, Pd: i32) -> i32 {
  let num = i + Pd - K + 1;
  return select(0, (num + S - 1) / S, num > 0);
}`,
  body: `
  let g = linear_id(gid, nwg);
  if (g >= P.total) { return; }
  let plane_in = u32(P.H * P.W);
  let pl = g / plane_in;
  let p = i32(g % plane_in);
  let ih = p / P.W;
  let iw = p % P.W;
  let oh0 = first_window(ih, P.KH, P.SH, P.PH);
  let oh1 = min(P.OH, (ih + P.PH) / P.SH + 1);
  let ow0 = first_window(iw, P.KW, P.SW, P.PW);
  let ow1 = min(P.OW, (iw + P.PW) / P.SW + 1);
  let base = P.dy_off + pl * u32(P.OH * P.OW);
  var s = 0.0;
  for (var oh = oh0; oh < oh1; oh++) {
    for (var ow = ow0; ow < ow1; ow++) {
      let b = avg_window(oh, ow);
      s += dy[base + u32(oh * P.OW + ow)] * b.inv;
    }
  }
  dx[P.dx_off + g] = s;`,
};

const ADAPTIVE_BIN = `fn bin_start(i: u32, L: u32, OL: u32) -> u32 { return (i * L) / OL; }
fn bin_end(i: u32, L: u32, OL: u32) -> u32 { return ((i + 1u) * L + OL - 1u) / OL; }`;

const ADAPTIVE_PARAMS: ParamDecl[] = u32p('total', 'H', 'W', 'OH', 'OW');

const ADAPTIVE_FORWARD: KernelSpec = {
  name: 'adaptiveAvgPool2dForward',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 'y', type: 'f32', access: 'read_write' },
  ],
  params: ADAPTIVE_PARAMS,
  workgroupSize: [WG],
  moduleScope: ADAPTIVE_BIN,
  body: `
  let o = linear_id(gid, nwg);
  if (o >= P.total) { return; }
  let ow = o % P.OW;
  let oh = (o / P.OW) % P.OH;
  let xb = P.x_off + (o / (P.OW * P.OH)) * P.H * P.W;
  let h0 = bin_start(oh, P.H, P.OH);
  let h1 = bin_end(oh, P.H, P.OH);
  let w0 = bin_start(ow, P.W, P.OW);
  let w1 = bin_end(ow, P.W, P.OW);
  var s = 0.0;
  for (var h = h0; h < h1; h++) {
    for (var w = w0; w < w1; w++) { s += x[xb + h * P.W + w]; }
  }
  y[P.y_off + o] = s / f32((h1 - h0) * (w1 - w0));`,
};

// One workgroup per output (workgroup id wid.x + wid.y * nwg.x): strided partial sums over the
// bin's elements in row-major order, then a shared-memory tree sum.
const ADAPTIVE_FORWARD_WG: KernelSpec = {
  name: 'adaptiveAvgPool2dForwardBins',
  storages: ADAPTIVE_FORWARD.storages,
  params: ADAPTIVE_PARAMS,
  workgroupSize: [BIN_WG],
  moduleScope: `${ADAPTIVE_BIN}
var<workgroup> sums: array<f32, ${BIN_WG}>;`,
  body: `
  let o = wid.x + wid.y * nwg.x;
  if (o >= P.total) { return; }
  let ow = o % P.OW;
  let oh = (o / P.OW) % P.OH;
  let xb = P.x_off + (o / (P.OW * P.OH)) * P.H * P.W;
  let h0 = bin_start(oh, P.H, P.OH);
  let w0 = bin_start(ow, P.W, P.OW);
  let bw = bin_end(ow, P.W, P.OW) - w0;
  let area = (bin_end(oh, P.H, P.OH) - h0) * bw;
  var s = 0.0;
  for (var k = lidx; k < area; k += ${BIN_WG}u) { s += x[xb + (h0 + k / bw) * P.W + w0 + k % bw]; }
  sums[lidx] = s;
  workgroupBarrier();
  for (var step = ${BIN_WG / 2}u; step > 0u; step >>= 1u) {
    if (lidx < step) { sums[lidx] += sums[lidx + step]; }
    workgroupBarrier();
  }
  if (lidx == 0u) { y[P.y_off + o] = sums[0] / f32(area); }`,
};

// Input ih lies in bin oh iff floor(oh*H/OH) <= ih < ceil((oh+1)*H/OH), i.e.
// oh in [floor(ih*OH/H), ceil((ih+1)*OH/H)); the same for columns.
const ADAPTIVE_BACKWARD: KernelSpec = {
  name: 'adaptiveAvgPool2dBackward',
  storages: [
    { name: 'dy', type: 'f32', access: 'read' },
    { name: 'dx', type: 'f32', access: 'read_write' },
  ],
  params: ADAPTIVE_PARAMS,
  workgroupSize: [WG],
  moduleScope: ADAPTIVE_BIN,
  body: `
  let g = linear_id(gid, nwg);
  if (g >= P.total) { return; }
  let plane_in = P.H * P.W;
  let pl = g / plane_in;
  let p = g % plane_in;
  let ih = p / P.W;
  let iw = p % P.W;
  let oh1 = ((ih + 1u) * P.OH + P.H - 1u) / P.H;
  let ow0 = (iw * P.OW) / P.W;
  let ow1 = ((iw + 1u) * P.OW + P.W - 1u) / P.W;
  let base = P.dy_off + pl * P.OH * P.OW;
  var s = 0.0;
  for (var oh = (ih * P.OH) / P.H; oh < oh1; oh++) {
    let bh = bin_end(oh, P.H, P.OH) - bin_start(oh, P.H, P.OH);
    for (var ow = ow0; ow < ow1; ow++) {
      let bw = bin_end(ow, P.W, P.OW) - bin_start(ow, P.W, P.OW);
      s += dy[base + oh * P.OW + ow] / f32(bh * bw);
    }
  }
  dx[P.dx_off + g] = s;`,
};

// ---- argument checks (the native bindings' rules, with the argument names) ----

function isIntList(v: unknown, n: number): v is number[] {
  return Array.isArray(v) && v.length === n && v.every((d) => Number.isInteger(d));
}

function fmt(v: unknown): string {
  return Array.isArray(v) ? `[${v.join(', ')}]` : String(v);
}

function checkShape(fn: string, name: string, shape: unknown): number[] {
  if (!isIntList(shape, 4) || shape.some((d) => d < 0)) {
    throw new RangeError(`${fn}: ${name} must be a shape [N, C, H, W] of sizes >= 0, got ${fmt(shape)}`);
  }
  return shape;
}

function checkPair(fn: string, name: string, v: unknown, min: number, what: string): [number, number] {
  if (!isIntList(v, 2) || v[0] < min || v[1] < min) throw new RangeError(`${fn}: ${name} must be ${what} [h, w] >= ${min}, got ${fmt(v)}`);
  return [v[0], v[1]];
}

function checkFlag(fn: string, name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new TypeError(`${fn}: ${name} must be a boolean, got ${String(v)}`);
  return v;
}

/** Output length along one axis (PyTorch's pooling_output_shape), as pool_out_len of the CPU. */
function poolOutLen(L: number, K: number, S: number, P: number, D: number, ceilMode: boolean): number {
  const num = L + 2 * P - (D * (K - 1) + 1);
  let out = (ceilMode ? Math.floor((num + S - 1) / S) : Math.floor(num / S)) + 1;
  if (ceilMode && (out - 1) * S >= L + P) out--;
  return out;
}

interface Geometry {
  planes: number;
  H: number;
  W: number;
  OH: number;
  OW: number;
  params: Record<string, number>;
}

function windowGeometry(fn: string, xShape: unknown, w: Pool2dWindow, dilation: unknown): Geometry {
  const [N, C, H, W] = checkShape(fn, 'xShape', xShape);
  const [KH, KW] = checkPair(fn, 'kernel', w.kernel, 1, 'a kernel size');
  const [SH, SW] = checkPair(fn, 'stride', w.stride, 1, 'a stride');
  const [PH, PW] = checkPair(fn, 'padding', w.padding, 0, 'a padding');
  if (2 * PH > KH || 2 * PW > KW) throw new RangeError(`${fn}: padding must be at most half the kernel size, got padding ${fmt(w.padding)} for kernel ${fmt(w.kernel)}`);
  const [DH, DW] = dilation === undefined ? [1, 1] : checkPair(fn, 'dilation', dilation, 1, 'a dilation');
  const ceilMode = checkFlag(fn, 'ceilMode', w.ceilMode, false);
  if (H + 2 * PH < DH * (KH - 1) + 1 || W + 2 * PW < DW * (KW - 1) + 1) {
    throw new RangeError(`${fn}: kernel ${fmt(w.kernel)} is larger than the padded input (xShape ${fmt(xShape)}, padding ${fmt(w.padding)})`);
  }
  const OH = poolOutLen(H, KH, SH, PH, DH, ceilMode);
  const OW = poolOutLen(W, KW, SW, PW, DW, ceilMode);
  return { planes: N * C, H, W, OH, OW, params: { H, W, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW } };
}

function adaptiveGeometry(fn: string, xShape: unknown, outSize: unknown): Geometry {
  const [N, C, H, W] = checkShape(fn, 'xShape', xShape);
  const [OH, OW] = checkPair(fn, 'outSize', outSize, 1, 'an output size');
  if (H < 1 || W < 1) throw new RangeError(`${fn}: xShape must have H, W >= 1, got ${fmt(xShape)}`);
  return { planes: N * C, H, W, OH, OW, params: { H, W, OH, OW } };
}

function avgParams(g: Geometry, countIncludePad: boolean): Record<string, number> {
  const { H, W, OH, OW, KH, KW, SH, SW, PH, PW } = g.params;
  return { H, W, OH, OW, KH, KW, SH, SW, PH, PW, include_pad: Number(countIncludePad) };
}

export function webgpuPoolKernels(rt: GpuRuntime): PoolKernels {
  return {
    maxPool2dForward(a: MaxPool2dForwardArgs) {
      const fn = 'maxPool2dForward';
      const g = windowGeometry(fn, a.xShape, a, a.dilation);
      if (g.H * g.W > 2 ** 31 - 1) throw new RangeError(`${fn}: xShape ${fmt(a.xShape)} has planes too large for int32 indices`);
      const total = g.planes * g.OH * g.OW;
      const x = storageAtLeast(fn, 'x', a.x, g.planes * g.H * g.W);
      const y = storageAtLeast(fn, 'y', a.y, total);
      const ind = storageAtLeast(fn, 'indices', a.indices, total, 'int32');
      rt.run(MAX_FORWARD, [x, y, ind], { ...g.params, total, neg_inf: -Infinity }, grid1d(total, WG));
    },

    maxPool2dBackward(a: MaxPool2dBackwardArgs) {
      const fn = 'maxPool2dBackward';
      const os = checkShape(fn, 'outShape', a.outShape);
      const xs = checkShape(fn, 'xShape', a.xShape);
      if (os[0] !== xs[0] || os[1] !== xs[1]) {
        throw new RangeError(`${fn}: outShape ${fmt(os)} must match xShape ${fmt(xs)} in N and C`);
      }
      const [N, C, H, W] = xs;
      const [OH, OW] = [os[2], os[3]];
      const planes = N * C, planeOut = OH * OW;
      const dy = storageAtLeast(fn, 'dy', a.dy, planes * planeOut);
      const ind = storageAtLeast(fn, 'indices', a.indices, planes * planeOut, 'int32');
      const dx = storageAtLeast(fn, 'dx', a.dx, planes * H * W);
      const totalIn = planes * H * W;
      if (totalIn === 0) return;
      // Indices outside the plane (which the CPU kernel rejects after the fact) reach no input.
      const env = rt.allocate(2 * (OH + OW), 'int32');
      const ranges = rt.allocate(2 * (H + W), 'int32');
      rt.clear(env);
      const total = planes * planeOut;
      rt.run(MAX_BACKWARD_ENVELOPE, [ind, env], { total, OH, OW, W, plane_in: H * W }, grid1d(total, WG));
      rt.run(MAX_BACKWARD_RANGES, [env, ranges], { H, W, OH, OW }, grid1d(H + W, WG));
      rt.run(MAX_BACKWARD_GATHER, [dy, ind, ranges, dx], { total: totalIn, H, W, OH, OW }, grid1d(totalIn, WG));
      rt.release(env);
      rt.release(ranges);
    },

    avgPool2dForward(a: AvgPool2dForwardArgs) {
      const fn = 'avgPool2dForward';
      const g = windowGeometry(fn, a.xShape, a, undefined);
      const includePad = checkFlag(fn, 'countIncludePad', a.countIncludePad, true);
      const total = g.planes * g.OH * g.OW;
      const x = storageAtLeast(fn, 'x', a.x, g.planes * g.H * g.W);
      const y = storageAtLeast(fn, 'y', a.y, total);
      rt.run(AVG_FORWARD, [x, y], { ...avgParams(g, includePad), total }, grid1d(total, WG));
    },

    avgPool2dBackward(a: AvgPool2dBackwardArgs) {
      const fn = 'avgPool2dBackward';
      const g = windowGeometry(fn, a.xShape, a, undefined);
      const includePad = checkFlag(fn, 'countIncludePad', a.countIncludePad, true);
      const total = g.planes * g.H * g.W;
      const dy = storageAtLeast(fn, 'dy', a.dy, g.planes * g.OH * g.OW);
      const dx = storageAtLeast(fn, 'dx', a.dx, total);
      rt.run(AVG_BACKWARD, [dy, dx], { ...avgParams(g, includePad), total }, grid1d(total, WG));
    },

    adaptiveAvgPool2dForward(a: AdaptiveAvgPool2dForwardArgs) {
      const fn = 'adaptiveAvgPool2dForward';
      const g = adaptiveGeometry(fn, a.xShape, a.outSize);
      const total = g.planes * g.OH * g.OW;
      const x = storageAtLeast(fn, 'x', a.x, g.planes * g.H * g.W);
      const y = storageAtLeast(fn, 'y', a.y, total);
      const params = { ...g.params, total };
      if ((g.H * g.W) / (g.OH * g.OW) >= BIN_WG_AREA) rt.run(ADAPTIVE_FORWARD_WG, [x, y], params, grid1d(total, 1));
      else rt.run(ADAPTIVE_FORWARD, [x, y], params, grid1d(total, WG));
    },

    adaptiveAvgPool2dBackward(a: AdaptiveAvgPool2dBackwardArgs) {
      const fn = 'adaptiveAvgPool2dBackward';
      const g = adaptiveGeometry(fn, a.xShape, a.outSize);
      const total = g.planes * g.H * g.W;
      const dy = storageAtLeast(fn, 'dy', a.dy, g.planes * g.OH * g.OW);
      const dx = storageAtLeast(fn, 'dx', a.dx, total);
      rt.run(ADAPTIVE_BACKWARD, [dy, dx], { ...g.params, total }, grid1d(total, WG));
    },
  };
}
