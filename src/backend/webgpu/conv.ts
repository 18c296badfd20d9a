// WebGPU 2-D convolutions (WGSL) as implicit GEMMs on the tiled product of gemm.ts: the
// im2col matrix is never stored, its values are read through the index map. Per group g
// (the grid's z), with Cg = C / groups, Og = O / groups and R = Cg * KH * KW:
//   forward:         y[n, gOg + o, oh, ow]  = sum over r of w[gOg + o, r] * x(n, gCg + c, oh*SH - PH + kh*DH, ...)
//                    (M = Og, N = batch * OH * OW, K = R), then + bias[o]
//   backward input:  dx[n, gCg + c, ih, iw] = sum over (o, kh, kw) of w[gOg + o, c, kh, kw] * dy(n, gOg + o, oh, ow)
//                    where ih = oh*SH - PH + kh*DH (oh must be a whole number inside [0, OH)): a gather,
//                    so no two invocations write one value (M = Cg, N = batch * H * W, K = Og * KH * KW)
//   backward weight: dw[gOg + o, r] = sum over (n, oh, ow) of dy(n, gOg + o, oh, ow) * x(n, gCg + c, ih, iw)
//                    (M = Og, N = R, K = batch * OH * OW), split over K into chunks whose partial
//                    products a second kernel adds in chunk order (deterministic)
//   dbias[o] = sum of dy over n, oh, ow: one workgroup per channel, a shared-memory tree.
import type { ConvKernels, Conv2dGeometry } from '../kernels/conv.js';
import { tiledProduct, TILE } from './gemm.js';
import { grid1d, type GpuRuntime, type KernelSpec, type ParamDecl } from './runtime.js';
import { gpuStorage } from './storage.js';
import type { Storage } from '../storage.js';

const GEOMETRY_PARAMS: ParamDecl[] = [
  'M', 'N', 'K', 'a_kfast', 'b_nfast', 'Bn', 'C', 'H', 'W', 'O', 'OH', 'OW', 'KH', 'KW', 'Cg', 'Og', 'SH', 'SW', 'DH', 'DW', 'hasBias', 'kStart',
].map((name) => ({ name, type: 'u32' as const }));
const SIGNED_PARAMS: ParamDecl[] = [{ name: 'PH', type: 'i32' }, { name: 'PW', type: 'i32' }];

/** x(n, c, ih, iw) with zeros outside the input; column index q = (n * OH + oh) * OW + ow. */
const X_AT = `
fn x_at(n: u32, c: u32, ih: i32, iw: i32) -> f32 {
  if (ih < 0 || iw < 0 || ih >= i32(P.H) || iw >= i32(P.W)) { return 0.0; }
  return x[P.x_off + ((n * P.C + c) * P.H + u32(ih)) * P.W + u32(iw)];
}`;

const FORWARD = tiledProduct(
  'conv2dForward',
  [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 'w', type: 'f32', access: 'read' },
    { name: 'bias', type: 'f32', access: 'read', optional: true },
    { name: 'y', type: 'f32', access: 'read_write' },
  ],
  [...GEOMETRY_PARAMS, ...SIGNED_PARAMS],
  `${X_AT}
fn load_a(g: u32, o: u32, r: u32) -> f32 { return w[P.w_off + (g * P.Og + o) * P.K + r]; }
fn load_b(g: u32, r: u32, q: u32) -> f32 {
  let kw = r % P.KW;
  let kh = (r / P.KW) % P.KH;
  let c = r / (P.KW * P.KH);
  let ow = q % P.OW;
  let oh = (q / P.OW) % P.OH;
  let n = q / (P.OW * P.OH);
  return x_at(n, g * P.Cg + c, i32(oh * P.SH + kh * P.DH) - P.PH, i32(ow * P.SW + kw * P.DW) - P.PW);
}
fn store(g: u32, o: u32, q: u32, v: f32) {
  let oc = g * P.Og + o;
  let ow = q % P.OW;
  let oh = (q / P.OW) % P.OH;
  let n = q / (P.OW * P.OH);
  var out = v;
  if (P.hasBias != 0u) { out += bias[P.bias_off + oc]; }
  y[P.y_off + ((n * P.O + oc) * P.OH + oh) * P.OW + ow] = out;
}`,
);

const BACKWARD_INPUT = tiledProduct(
  'conv2dBackwardInput',
  [
    { name: 'dy', type: 'f32', access: 'read' },
    { name: 'w', type: 'f32', access: 'read' },
    { name: 'dx', type: 'f32', access: 'read_write' },
  ],
  [...GEOMETRY_PARAMS, ...SIGNED_PARAMS],
  `
// A[c, (o, kh, kw)] = w[gOg + o, c, kh, kw]
fn load_a(g: u32, c: u32, t: u32) -> f32 {
  let kw = t % P.KW;
  let kh = (t / P.KW) % P.KH;
  let o = t / (P.KW * P.KH);
  return w[P.w_off + (((g * P.Og + o) * P.Cg + c) * P.KH + kh) * P.KW + kw];
}
// B[(o, kh, kw), (n, ih, iw)] = dy[n, gOg + o, oh, ow] where oh*SH = ih + PH - kh*DH, else 0.
fn load_b(g: u32, t: u32, q: u32) -> f32 {
  let kw = t % P.KW;
  let kh = (t / P.KW) % P.KH;
  let o = t / (P.KW * P.KH);
  let iw = q % P.W;
  let ih = (q / P.W) % P.H;
  let n = q / (P.W * P.H);
  let th = i32(ih) + P.PH - i32(kh * P.DH);
  let tw = i32(iw) + P.PW - i32(kw * P.DW);
  if (th < 0 || tw < 0) { return 0.0; }
  let uh = u32(th);
  let uw = u32(tw);
  if (uh % P.SH != 0u || uw % P.SW != 0u) { return 0.0; }
  let oh = uh / P.SH;
  let ow = uw / P.SW;
  if (oh >= P.OH || ow >= P.OW) { return 0.0; }
  return dy[P.dy_off + ((n * P.O + g * P.Og + o) * P.OH + oh) * P.OW + ow];
}
fn store(g: u32, c: u32, q: u32, v: f32) {
  let iw = q % P.W;
  let ih = (q / P.W) % P.H;
  let n = q / (P.W * P.H);
  dx[P.dx_off + ((n * P.C + g * P.Cg + c) * P.H + ih) * P.W + iw] = v;
}`,
);

/** dw partial products of one K chunk: part[(split * groups + g) * Og * R + o * R + r]. */
const BACKWARD_WEIGHT = tiledProduct(
  'conv2dBackwardWeight',
  [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 'dy', type: 'f32', access: 'read' },
    { name: 'part', type: 'f32', access: 'read_write' },
  ],
  [...GEOMETRY_PARAMS, ...SIGNED_PARAMS, { name: 'groups', type: 'u32' }, { name: 'split', type: 'u32' }],
  `${X_AT}
// A[o, q] = dy(n, gOg + o, oh, ow), q = (n * OH + oh) * OW + ow counted from kStart.
fn load_a(g: u32, o: u32, t: u32) -> f32 {
  let q = P.kStart + t;
  let ow = q % P.OW;
  let oh = (q / P.OW) % P.OH;
  let n = q / (P.OW * P.OH);
  return dy[P.dy_off + ((n * P.O + g * P.Og + o) * P.OH + oh) * P.OW + ow];
}
fn load_b(g: u32, t: u32, r: u32) -> f32 {
  let q = P.kStart + t;
  let ow = q % P.OW;
  let oh = (q / P.OW) % P.OH;
  let n = q / (P.OW * P.OH);
  let kw = r % P.KW;
  let kh = (r / P.KW) % P.KH;
  let c = r / (P.KW * P.KH);
  return x_at(n, g * P.Cg + c, i32(oh * P.SH + kh * P.DH) - P.PH, i32(ow * P.SW + kw * P.DW) - P.PW);
}
fn store(g: u32, o: u32, r: u32, v: f32) {
  part[P.part_off + ((P.split * P.groups + g) * P.Og + o) * P.N + r] = v;
}`,
);

/** dw[i] = sum over splits s of part[s * len + i], in split order. */
const SUM_SPLITS: KernelSpec = {
  name: 'conv2dSumSplits',
  storages: [{ name: 'part', type: 'f32', access: 'read' }, { name: 'dw', type: 'f32', access: 'read_write' }],
  params: [{ name: 'len', type: 'u32' }, { name: 'splits', type: 'u32' }],
  workgroupSize: [256],
  body: `
  let i = linear_id(gid, nwg);
  if (i >= P.len) { return; }
  var s = 0.0;
  for (var k = 0u; k < P.splits; k++) { s += part[P.part_off + k * P.len + i]; }
  dw[P.dw_off + i] = s;`,
};

/** dbias[o] = sum over n, oh, ow of dy: workgroup o, 256 lanes striding over the values, then a tree. */
const BIAS_GRAD: KernelSpec = {
  name: 'conv2dBiasGrad',
  storages: [{ name: 'dy', type: 'f32', access: 'read' }, { name: 'db', type: 'f32', access: 'read_write' }],
  params: [{ name: 'O', type: 'u32' }, { name: 'S', type: 'u32' }, { name: 'Bn', type: 'u32' }],
  workgroupSize: [256],
  moduleScope: 'var<workgroup> red: array<f32, 256>;',
  body: `
  let o = wid.x + wid.y * nwg.x;
  var s = 0.0;
  if (o < P.O) {
    for (var n = 0u; n < P.Bn; n++) {
      let base = P.dy_off + (n * P.O + o) * P.S;
      for (var i = lidx; i < P.S; i += 256u) { s += dy[base + i]; }
    }
  }
  red[lidx] = s;
  workgroupBarrier();
  for (var half = 128u; half > 0u; half /= 2u) {
    if (lidx < half) { red[lidx] += red[lidx + half]; }
    workgroupBarrier();
  }
  if (lidx == 0u && o < P.O) { db[P.db_off + o] = red[0]; }`,
};

interface Geometry {
  params: Record<string, number>;
  Bn: number;
  C: number;
  H: number;
  W: number;
  O: number;
  OH: number;
  OW: number;
  KH: number;
  KW: number;
  groups: number;
  Cg: number;
  Og: number;
}

function pair(fn: string, arg: string, v: number[], min: number): [number, number] {
  if (!Array.isArray(v) || v.length !== 2 || !v.every((d) => Number.isInteger(d) && d >= min)) {
    throw new RangeError(`${fn}: ${arg} must be a pair [h, w] of integers >= ${min}, got ${JSON.stringify(v)}`);
  }
  return [v[0], v[1]];
}

function shape4(fn: string, arg: string, v: number[]): [number, number, number, number] {
  if (!Array.isArray(v) || v.length !== 4 || !v.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new RangeError(`${fn}: ${arg} must be a shape of 4 sizes >= 0, got ${JSON.stringify(v)}`);
  }
  return [v[0], v[1], v[2], v[3]];
}

function geometry(fn: string, xShape: number[], wShape: number[], g: Conv2dGeometry): Geometry {
  const [Bn, C, H, W] = shape4(fn, 'xShape', xShape);
  const [O, Cg, KH, KW] = shape4(fn, 'wShape', wShape);
  const [SH, SW] = pair(fn, 'stride', g.stride, 1);
  const [PH, PW] = pair(fn, 'padding', g.padding, 0);
  const [DH, DW] = pair(fn, 'dilation', g.dilation, 1);
  const groups = g.groups;
  if (!Number.isInteger(groups) || groups < 1 || C % groups !== 0 || O % groups !== 0) {
    throw new RangeError(`${fn}: groups must be an integer >= 1 dividing C (${C}) and O (${O}), got ${groups}`);
  }
  if (Cg !== C / groups) throw new RangeError(`${fn}: wShape[1] must be C / groups = ${C / groups}, got ${Cg}`);
  if (KH < 1 || KW < 1) throw new RangeError(`${fn}: wShape must have a kernel of at least 1x1, got ${JSON.stringify(wShape)}`);
  const OH = Math.floor((H + 2 * PH - DH * (KH - 1) - 1) / SH) + 1;
  const OW = Math.floor((W + 2 * PW - DW * (KW - 1) - 1) / SW) + 1;
  if (OH < 1 || OW < 1) throw new RangeError(`${fn}: the kernel ${KH}x${KW} (dilation ${DH}x${DW}) is larger than the padded input ${H + 2 * PH}x${W + 2 * PW}`);
  const Og = O / groups;
  const params = { Bn, C, H, W, O, OH, OW, KH, KW, Cg, Og, SH, SW, DH, DW, PH, PW, hasBias: 0, kStart: 0 };
  return { params, Bn, C, H, W, O, OH, OW, KH, KW, groups, Cg, Og };
}

function need(fn: string, arg: string, s: Storage, n: number): void {
  const g = gpuStorage(s, `${fn} (${arg})`);
  if (g.length < n) throw new RangeError(`${fn}: ${arg} must hold ${n} values, got ${g.length}`);
}

/** Rows of K (positions) per split of the weight gradient: enough workgroups without long partial buffers. */
const SPLIT_K = 4096;

export function webgpuConvKernels(rt: GpuRuntime): ConvKernels {
  return {
    conv2dForward(a) {
      const fn = 'conv2dForward';
      const g = geometry(fn, a.xShape, a.wShape, a);
      need(fn, 'x', a.x, g.Bn * g.C * g.H * g.W);
      need(fn, 'weight', a.weight, g.O * g.Cg * g.KH * g.KW);
      if (a.bias !== null) need(fn, 'bias', a.bias, g.O);
      need(fn, 'y', a.y, g.Bn * g.O * g.OH * g.OW);
      const M = g.Og, N = g.Bn * g.OH * g.OW, K = g.Cg * g.KH * g.KW;
      if (N === 0 || M === 0) return;
      rt.run(FORWARD, [a.x, a.weight, a.bias, a.y], { ...g.params, M, N, K, a_kfast: 1, b_nfast: 1, hasBias: a.bias !== null ? 1 : 0 },
        [Math.ceil(N / TILE), Math.ceil(M / TILE), g.groups]);
    },
    conv2dBackwardInput(a) {
      const fn = 'conv2dBackwardInput';
      const g = geometry(fn, a.xShape, a.wShape, a);
      need(fn, 'dy', a.dy, g.Bn * g.O * g.OH * g.OW);
      need(fn, 'weight', a.weight, g.O * g.Cg * g.KH * g.KW);
      need(fn, 'dx', a.dx, g.Bn * g.C * g.H * g.W);
      const M = g.Cg, N = g.Bn * g.H * g.W, K = g.Og * g.KH * g.KW;
      if (N === 0 || M === 0) return;
      rt.run(BACKWARD_INPUT, [a.dy, a.weight, a.dx], { ...g.params, M, N, K, a_kfast: 0, b_nfast: 1 },
        [Math.ceil(N / TILE), Math.ceil(M / TILE), g.groups]);
    },
    conv2dBackwardWeight(a) {
      const fn = 'conv2dBackwardWeight';
      const g = geometry(fn, a.xShape, a.wShape, a);
      need(fn, 'x', a.x, g.Bn * g.C * g.H * g.W);
      need(fn, 'dy', a.dy, g.Bn * g.O * g.OH * g.OW);
      if (a.dbias !== null) {
        need(fn, 'dbias', a.dbias, g.O);
        const S = g.OH * g.OW;
        rt.run(BIAS_GRAD, [a.dy, a.dbias], { O: g.O, S, Bn: g.Bn }, [Math.min(g.O, 65535), Math.ceil(g.O / 65535), 1]);
      }
      if (a.dw === null) return;
      const R = g.Cg * g.KH * g.KW;
      need(fn, 'dw', a.dw, g.O * R);
      const positions = g.Bn * g.OH * g.OW;
      const splits = Math.max(1, Math.ceil(positions / SPLIT_K));
      const len = g.O * R;
      const part = rt.allocate(splits * len, 'float32');
      if (positions === 0) rt.clear(part);
      for (let s = 0; s < splits; s++) {
        const kStart = s * SPLIT_K;
        const K = Math.min(SPLIT_K, positions - kStart);
        rt.run(BACKWARD_WEIGHT, [a.x, a.dy, part], { ...g.params, M: g.Og, N: R, K, a_kfast: 1, b_nfast: 0, kStart, groups: g.groups, split: s },
          [Math.ceil(R / TILE), Math.ceil(g.Og / TILE), g.groups]);
      }
      rt.run(SUM_SPLITS, [part, a.dw], { len, splits }, grid1d(len, 256));
      rt.release(part);
    },
  };
}
