// WebGPU conv kernels (WGSL), implementing ConvKernels of kernels/conv.ts on the runtime's storage.
//
// Every pass is an implicit GEMM on the tiled kernel of gemm.ts: the operands are read through
// the im2col index map, no column matrix is materialised. Per group g (Cg = C/groups input and
// Og = O/groups output channels, KC = Cg*KH*KW patch length, OHW = OH*OW):
//   forward          y[n, g*Og + o, p]   = sum_k  w[g*Og + o, k] * col(k, (n, p)) + bias[g*Og + o]
//   input gradient   dx[n, g*Cg + c, q]  = sum_r  w[g*Og + o, c, i, j] * dy[n, g*Og + o, oh, ow]
//                    over r = (o*KH + i)*KW + j with oh*SH - PH + i*DH = h, ow*SW - PW + j*DW = w
//                    (q = h*W + w): the transposed convolution as a GEMM gathering every
//                    contribution of one dx element, so no two invocations write the same element
//   weight gradient  dw[g*Og + o, k]     = sum_(n, p) dy[n, g*Og + o, p] * col(k, (n, p))
// with col(k, (n, p)) = x[n, g*Cg + c, oh*SH - PH + i*DH, ow*SW - PW + j*DW] (0 outside the
// image), k = (c*KH + i)*KW + j and p = oh*OW + ow. The batch is folded into the GEMM columns
// (forward, input gradient) or its reduction (weight gradient); groups are the grid's z.
// The weight gradient splits its reduction over (n, p) into S parts when the Og x KC product alone
// gives too few workgroups: each part writes its own partial [O, KC] block and a second kernel
// sums the parts in order (S depends on the shapes only, so results are deterministic).
// dbias[o] = sum over n, p of dy[n, o, p]: one workgroup per channel, a shared-memory tree.
import type { ConvKernels, Conv2dBackwardInputArgs, Conv2dBackwardWeightArgs, Conv2dForwardArgs, Conv2dGeometry } from '../kernels/conv.js';
import type { Storage } from '../storage.js';
import { chooseTile, SpecCache, tileCols, tileRows, type GemmTemplate } from './gemm.js';
import { grid1d, type GpuRuntime, type KernelSpec, type ParamDecl } from './runtime.js';
import { gpuStorage, type GpuStorage } from './storage.js';

/** The validated geometry of one convolution (names as native/kernels/conv.h). */
interface Geom {
  N: number; C: number; H: number; W: number;
  O: number; KH: number; KW: number;
  SH: number; SW: number; PH: number; PW: number; DH: number; DW: number; G: number;
  OH: number; OW: number; Cg: number; Og: number; KC: number; OHW: number;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

function intList(fn: string, name: string, v: unknown, len: number, min: number, what: string): number[] {
  if (!Array.isArray(v) || v.length !== len || !v.every((d) => isInt(d) && d >= min)) {
    throw new RangeError(`${fn}: ${name} must be ${what}, got ${JSON.stringify(v)}`);
  }
  return v as number[];
}

/** The checks of the CPU kernel's geometry parsing (native/bindings/conv.cc), naming the fields. */
function geometry(fn: string, xShape: unknown, wShape: unknown, a: Conv2dGeometry): Geom {
  const [N, C, H, W] = intList(fn, 'xShape', xShape, 4, 0, 'an input shape [N, C, H, W] of sizes >= 0');
  const [O, wc, KH, KW] = intList(fn, 'wShape', wShape, 4, 1, 'a weight shape [O, C/groups, KH, KW] of sizes >= 1');
  const [SH, SW] = intList(fn, 'stride', a.stride, 2, 1, 'a stride [sh, sw] >= 1');
  const [PH, PW] = intList(fn, 'padding', a.padding, 2, 0, 'a padding [ph, pw] >= 0');
  const [DH, DW] = intList(fn, 'dilation', a.dilation, 2, 1, 'a dilation [dh, dw] >= 1');
  const G = a.groups;
  if (!isInt(G) || G < 1 || C % G !== 0 || O % G !== 0) {
    throw new RangeError(`${fn}: groups must be >= 1 and divide the input and output channels (${C} and ${O}), got ${String(G)}`);
  }
  const Cg = C / G;
  const Og = O / G;
  if (wc !== Cg) throw new RangeError(`${fn}: wShape must have C/groups = ${Cg} input channels, got ${wc}`);
  const eh = DH * (KH - 1) + 1;
  const ew = DW * (KW - 1) + 1;
  if (H + 2 * PH < eh || W + 2 * PW < ew) throw new RangeError(`${fn}: wShape has a kernel larger than the padded input`);
  const OH = Math.floor((H + 2 * PH - eh) / SH) + 1;
  const OW = Math.floor((W + 2 * PW - ew) / SW) + 1;
  return { N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW, Cg, Og, KC: Cg * KH * KW, OHW: OH * OW };
}

/** The storage behind a handle, checked to hold at least `need` floats. */
function operand(fn: string, name: string, s: Storage, need: number): GpuStorage {
  const g = gpuStorage(s, `${fn} (${name})`);
  if (g.length < need) throw new RangeError(`${fn}: ${name} must hold at least ${need} floats, got ${g.length}`);
  return g;
}

// The geometry params every convolution kernel declares (u32; padding enters as i32 arithmetic).
const GEOM_NAMES = ['N', 'C', 'H', 'W', 'O', 'KH', 'KW', 'SH', 'SW', 'PH', 'PW', 'DH', 'DW', 'OH', 'OW', 'Cg', 'Og', 'KC', 'OHW'] as const;
const GEOM_PARAMS: ParamDecl[] = GEOM_NAMES.map((name) => ({ name, type: 'u32' }));
const geomValues = (g: Geom): Record<string, number> => Object.fromEntries(GEOM_NAMES.map((k) => [k, g[k]]));

// col(k, (n, p)) of group grp for image nBase + n; x is the binding named x.
const XCOL = `
fn xcol(k: u32, j: u32, grp: u32) -> f32 {
  let khw = P.KH * P.KW;
  let c = k / khw;
  let r = k - c * khw;
  let i = r / P.KW;
  let jw = r - i * P.KW;
  let n = j / P.OHW;
  let p = j - n * P.OHW;
  let oh = p / P.OW;
  let ow = p - oh * P.OW;
  let h = i32(oh * P.SH + i * P.DH) - i32(P.PH);
  let w = i32(ow * P.SW + jw * P.DW) - i32(P.PW);
  if (h < 0 || w < 0 || h >= i32(P.H) || w >= i32(P.W)) { return 0.0; }
  return x[P.x_off + (((P.nBase + n) * P.C + grp * P.Cg + c) * P.H + u32(h)) * P.W + u32(w)];
}`;

const forwardTemplate = (): GemmTemplate => ({
  name: 'conv2d_forward',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 'weight', type: 'f32', access: 'read' },
    { name: 'bias', type: 'f32', access: 'read', optional: true },
    { name: 'y', type: 'f32', access: 'read_write' },
  ],
  params: [...GEOM_PARAMS, { name: 'nBase', type: 'u32' }, { name: 'nb', type: 'u32' }, { name: 'hasBias', type: 'u32' }],
  prelude: 'let GM = P.Og; let GN = P.nb * P.OHW; let kBegin = 0u; let kEnd = P.KC; let zid = wid.z;',
  aContig: 'k',
  bContig: 'n',
  helpers: XCOL,
  loadA: 'return weight[P.weight_off + (zid * P.Og + m) * P.KC + k];',
  loadB: 'return xcol(k, n, zid);',
  storeC: [
    'let nn = n / P.OHW;',
    'let p = n - nn * P.OHW;',
    'let o = zid * P.Og + m;',
    'var b = 0.0;',
    'if (P.hasBias != 0u) { b = bias[P.bias_off + o]; }',
    'y[P.y_off + ((P.nBase + nn) * P.O + o) * P.OHW + p] = v + b;',
  ].join('\n'),
});

const backwardInputTemplate = (): GemmTemplate => ({
  name: 'conv2d_backward_input',
  storages: [
    { name: 'dy', type: 'f32', access: 'read' },
    { name: 'weight', type: 'f32', access: 'read' },
    { name: 'dx', type: 'f32', access: 'read_write' },
  ],
  params: [...GEOM_PARAMS, { name: 'nBase', type: 'u32' }, { name: 'nb', type: 'u32' }],
  prelude: 'let GM = P.Cg; let GN = P.nb * P.H * P.W; let kBegin = 0u; let kEnd = P.Og * P.KH * P.KW; let zid = wid.z;',
  aContig: 'k',
  bContig: 'n',
  loadA: [
    'let khw = P.KH * P.KW;',
    'let o = k / khw;',
    'let r = k - o * khw;',
    'return weight[P.weight_off + ((zid * P.Og + o) * P.Cg + m) * khw + r];',
  ].join('\n'),
  // dy[n, o, oh, ow] reaches dx[n, c, h, w] through tap (i, j) when h + PH - i*DH = oh*SH with
  // 0 <= oh < OH (likewise w); every other (tap, position) pair contributes 0.
  loadB: [
    'let khw = P.KH * P.KW;',
    'let o = k / khw;',
    'let r = k - o * khw;',
    'let i = r / P.KW;',
    'let jw = r - i * P.KW;',
    'let hw = P.H * P.W;',
    'let nn = n / hw;',
    'let q = n - nn * hw;',
    'let h = q / P.W;',
    'let w = q - h * P.W;',
    'let th = i32(h + P.PH) - i32(i * P.DH);',
    'let tw = i32(w + P.PW) - i32(jw * P.DW);',
    'if (th < 0 || tw < 0) { return 0.0; }',
    'let oh = u32(th) / P.SH;',
    'let ow = u32(tw) / P.SW;',
    'if (oh * P.SH != u32(th) || ow * P.SW != u32(tw) || oh >= P.OH || ow >= P.OW) { return 0.0; }',
    'return dy[P.dy_off + (((P.nBase + nn) * P.O + zid * P.Og + o) * P.OH + oh) * P.OW + ow];',
  ].join('\n'),
  storeC: [
    'let hw = P.H * P.W;',
    'let nn = n / hw;',
    'let q = n - nn * hw;',
    'dx[P.dx_off + ((P.nBase + nn) * P.C + zid * P.Cg + m) * hw + q] = v;',
  ].join('\n'),
});

// zid = grp * S + part; part covers the (n, p) range [part*chunk, min(N*OHW, (part+1)*chunk)).
const backwardWeightTemplate = (): GemmTemplate => ({
  name: 'conv2d_backward_weight',
  storages: [
    { name: 'x', type: 'f32', access: 'read' },
    { name: 'dy', type: 'f32', access: 'read' },
    { name: 'out', type: 'f32', access: 'read_write' },
  ],
  params: [...GEOM_PARAMS, { name: 'nBase', type: 'u32' }, { name: 'S', type: 'u32' }, { name: 'chunk', type: 'u32' }],
  prelude: [
    'let GM = P.Og; let GN = P.KC; let zid = wid.z;',
    'let kBegin = (zid % P.S) * P.chunk;',
    'let kEnd = min(P.N * P.OHW, kBegin + P.chunk);',
  ].join('\n'),
  aContig: 'k',
  bContig: 'k',
  helpers: XCOL,
  loadA: [
    'let nn = k / P.OHW;',
    'let p = k - nn * P.OHW;',
    'return dy[P.dy_off + (nn * P.O + (zid / P.S) * P.Og + m) * P.OHW + p];',
  ].join('\n'),
  loadB: 'return xcol(n, k, zid / P.S);',
  storeC: 'out[P.out_off + ((zid % P.S) * P.O + (zid / P.S) * P.Og + m) * P.KC + n] = v;',
});

const SUM_PARTS: KernelSpec = {
  name: 'conv2d_sum_parts',
  storages: [
    { name: 'part', type: 'f32', access: 'read' },
    { name: 'dw', type: 'f32', access: 'read_write' },
  ],
  params: [{ name: 'n', type: 'u32' }, { name: 'S', type: 'u32' }],
  workgroupSize: [256],
  body: [
    'let i = linear_id(gid, nwg);',
    'if (i < P.n) {',
    '  var s = 0.0;',
    '  for (var k = 0u; k < P.S; k++) { s += part[P.part_off + k * P.n + i]; }',
    '  dw[P.dw_off + i] = s;',
    '}',
  ].join('\n'),
};

// One workgroup per channel o = wid.x + 65535*wid.y: each invocation sums a strided slice of
// the N*OHW values, then a shared-memory tree adds the 256 partial sums.
const BIAS_GRAD: KernelSpec = {
  name: 'conv2d_bias_grad',
  storages: [
    { name: 'dy', type: 'f32', access: 'read' },
    { name: 'db', type: 'f32', access: 'read_write' },
  ],
  params: [{ name: 'N', type: 'u32' }, { name: 'O', type: 'u32' }, { name: 'OHW', type: 'u32' }],
  workgroupSize: [256],
  moduleScope: 'var<workgroup> red: array<f32, 256>;',
  body: [
    'let o = wid.x + wid.y * 65535u;',
    'var s = 0.0;',
    'if (o < P.O) {',
    '  let total = P.N * P.OHW;',
    '  for (var i = lidx; i < total; i += 256u) {',
    '    let n = i / P.OHW;',
    '    s += dy[P.dy_off + (n * P.O + o) * P.OHW + (i - n * P.OHW)];',
    '  }',
    '}',
    'red[lidx] = s;',
    'workgroupBarrier();',
    'for (var w = 128u; w > 0u; w >>= 1u) {',
    '  if (lidx < w) { red[lidx] += red[lidx + w]; }',
    '  workgroupBarrier();',
    '}',
    'if (lidx == 0u && o < P.O) { db[P.db_off + o] = red[0]; }',
  ].join('\n'),
};

const specs = new SpecCache();

/** Most workgroups along one grid dimension. */
const MAX_GROUPS = 65535;

/**
 * Images per dispatch when each image adds `cols` GEMM columns: as many as keep the column
 * workgroups within the grid's 65535.
 */
function imagesPerDispatch(fn: string, cols: number, bn: number, N: number): number {
  const nb = Math.floor((MAX_GROUPS * bn) / Math.max(cols, 1));
  if (nb < 1) throw new RangeError(`${fn}: ${cols} positions per image exceed the ${MAX_GROUPS * bn} one dispatch covers`);
  return Math.min(N, nb);
}

function forward(rt: GpuRuntime, a: Conv2dForwardArgs): void {
  const fn = 'conv2dForward';
  const g = geometry(fn, a.xShape, a.wShape, a);
  const x = operand(fn, 'x', a.x, g.N * g.C * g.H * g.W);
  const w = operand(fn, 'weight', a.weight, g.O * g.KC);
  const bias = a.bias == null ? null : operand(fn, 'bias', a.bias, g.O);
  const y = operand(fn, 'y', a.y, g.N * g.O * g.OHW);
  if (g.N === 0) return;
  const tile = chooseTile(g.Og, g.N * g.OHW);
  const spec = specs.get('fwd', tile, forwardTemplate);
  const nb = imagesPerDispatch(fn, g.OHW, tileCols(tile), g.N);
  for (let n0 = 0; n0 < g.N; n0 += nb) {
    const cnt = Math.min(nb, g.N - n0);
    rt.run(spec, [x, w, bias, y], { ...geomValues(g), nBase: n0, nb: cnt, hasBias: bias !== null }, [
      Math.ceil((cnt * g.OHW) / tileCols(tile)),
      Math.ceil(g.Og / tileRows(tile)),
      g.G,
    ]);
  }
}

function backwardInput(rt: GpuRuntime, a: Conv2dBackwardInputArgs): void {
  const fn = 'conv2dBackwardInput';
  const g = geometry(fn, a.xShape, a.wShape, a);
  const dy = operand(fn, 'dy', a.dy, g.N * g.O * g.OHW);
  const w = operand(fn, 'weight', a.weight, g.O * g.KC);
  const dx = operand(fn, 'dx', a.dx, g.N * g.C * g.H * g.W);
  if (g.N === 0 || g.H * g.W === 0) return;
  const hw = g.H * g.W;
  const tile = chooseTile(g.Cg, g.N * hw);
  const spec = specs.get('bwdInput', tile, backwardInputTemplate);
  const nb = imagesPerDispatch(fn, hw, tileCols(tile), g.N);
  for (let n0 = 0; n0 < g.N; n0 += nb) {
    const cnt = Math.min(nb, g.N - n0);
    rt.run(spec, [dy, w, dx], { ...geomValues(g), nBase: n0, nb: cnt }, [Math.ceil((cnt * hw) / tileCols(tile)), Math.ceil(g.Cg / tileRows(tile)), g.G]);
  }
}

/** Workgroups the weight gradient aims for before splitting its reduction (two per SM of a large GPU). */
const TARGET_WORKGROUPS = 264;
/** Shortest reduction range of one part. */
const MIN_PART = 512;
/** Most floats of partial sums the split may allocate (64 MiB). */
const MAX_PART_FLOATS = 1 << 24;

function backwardWeight(rt: GpuRuntime, a: Conv2dBackwardWeightArgs): void {
  const fn = 'conv2dBackwardWeight';
  const g = geometry(fn, a.xShape, a.wShape, a);
  const x = operand(fn, 'x', a.x, g.N * g.C * g.H * g.W);
  const dy = operand(fn, 'dy', a.dy, g.N * g.O * g.OHW);
  const dw = a.dw == null ? null : operand(fn, 'dw', a.dw, g.O * g.KC);
  const db = a.dbias == null ? null : operand(fn, 'dbias', a.dbias, g.O);
  if (db !== null) {
    rt.run(BIAS_GRAD, [dy, db], { N: g.N, O: g.O, OHW: g.OHW }, [Math.min(g.O, MAX_GROUPS), Math.ceil(g.O / MAX_GROUPS), 1]);
  }
  if (dw === null) return;
  const tile = chooseTile(g.Og, g.KC);
  const spec = specs.get('bwdWeight', tile, backwardWeightTemplate);
  const J = g.N * g.OHW;
  const tiles = g.G * Math.ceil(g.Og / tileRows(tile)) * Math.ceil(g.KC / tileCols(tile));
  let S = Math.min(Math.ceil(TARGET_WORKGROUPS / tiles), Math.floor(J / MIN_PART), Math.floor(MAX_GROUPS / g.G), Math.floor(MAX_PART_FLOATS / (g.O * g.KC)));
  S = Math.max(1, S);
  // Parts cover whole K steps; S is recomputed so that no part is empty.
  const chunk = S === 1 ? J : Math.ceil(J / S / 16) * 16;
  if (S > 1) S = Math.ceil(J / chunk);
  const grid = [Math.ceil(g.KC / tileCols(tile)), Math.ceil(g.Og / tileRows(tile)), g.G * S] as const;
  const params = { ...geomValues(g), nBase: 0, S, chunk };
  if (S === 1) {
    rt.run(spec, [x, dy, dw], params, grid);
    return;
  }
  const n = g.O * g.KC;
  const part = rt.allocate(S * n, 'float32');
  rt.run(spec, [x, dy, part], params, grid);
  rt.run(SUM_PARTS, [part, dw], { n, S }, grid1d(n, 256));
  rt.release(part);
}

export function webgpuConvKernels(rt: GpuRuntime): ConvKernels {
  return {
    conv2dForward: (a) => forward(rt, a),
    conv2dBackwardInput: (a) => backwardInput(rt, a),
    conv2dBackwardWeight: (a) => backwardWeight(rt, a),
  };
}
