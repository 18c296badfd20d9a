// ONNX opset-13 decompositions of the normalization layers built from several ops (the entries
// src/ops/more_norms.ts and spectralNorm trace). ONNX 13 has no RMSNorm, LayerNorm,
// GroupNorm, FRN or EvoNorm op: each becomes ReduceMean / Sub / Mul / Add / Sqrt / Div / Max /
// Sigmoid / Reshape nodes computing the same formula; LocalResponseNorm with an odd window is
// ONNX's LRN (for even windows PyTorch's window differs from LRN's, so it is decomposed with an
// AveragePool over the channel axis); a spectral-normalized weight is constant in eval and is
// written as an initializer.
import type { TraceEntry } from '../autograd/trace.js';
import type { Tensor } from '../tensor/tensor.js';

export interface OnnxNodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: { name: string; i?: number; f?: number; ints?: number[] }[];
}

export interface OnnxBuildContext {
  /** The graph name of a traced value, the input or a state tensor. */
  ref(t: Tensor, user: string): string;
  /** Names the value `t` (the entry's output) and returns that name. */
  out(t: Tensor): string;
  /** A new initializer. */
  constant(base: string, dims: number[], data: Float32Array | BigInt64Array): string;
  /** Gives `t` an existing graph name. */
  alias(t: Tensor, name: string): void;
  /** A new intermediate value name. */
  fresh(): string;
  push(node: OnnxNodeSpec): void;
}

export const COMPOSED_NORM_OPS: ReadonlySet<string> = new Set([
  'rmsNorm', 'layerNorm2d', 'localResponseNorm', 'filterResponseNorm', 'evoNormB0', 'evoNormS0', 'groupNormAct', 'spectralNormWeight',
]);

const ACT_OPS = ['Relu', 'Sigmoid', 'Tanh', null];

/** Appends the nodes of one composed-norm entry. */
export function exportComposedNorm(e: TraceEntry, ctx: OnnxBuildContext): void {
  const own: OnnxNodeSpec[] = [];
  const node = (op: string, inputs: string[], attrs: OnnxNodeSpec['attrs'] = []): string => {
    const o = ctx.fresh();
    const n = { op, inputs, outputs: [o], attrs };
    own.push(n);
    ctx.push(n);
    return o;
  };
  const scalar = (v: number): string => ctx.constant(`${e.op}_const`, [], Float32Array.of(v));
  const shapeConst = (dims: number[]): string => ctx.constant(`${e.op}_shape`, [dims.length], BigInt64Array.from(dims.map(BigInt)));
  const x = e.inputs[0]!;
  const xn = ctx.ref(x, e.op);
  const rank = x.ndim;
  const spatial = Array.from({ length: rank - 2 }, (_, i) => i + 2);
  /** A per-channel vector reshaped to [1, C, 1, ...]. */
  const perChannel = (t: Tensor): string => node('Reshape', [ctx.ref(t, e.op), shapeConst([1, x.shape[1], ...spatial.map(() => 1)])]);
  const mean = (a: string, axes: number[]): string => node('ReduceMean', [a], [{ name: 'axes', ints: axes }]);
  /** a / sqrt(mean((a - mean(a))^2) + eps) over axes, and the centered a. */
  const standardize = (a: string, axes: number[], eps: number): string => {
    const d = node('Sub', [a, mean(a, axes)]);
    return node('Div', [d, node('Sqrt', [node('Add', [mean(node('Mul', [d, d]), axes), scalar(eps)])])]);
  };
  const stdOf = (a: string, axes: number[], eps: number): string => {
    const d = node('Sub', [a, mean(a, axes)]);
    return node('Sqrt', [node('Add', [mean(node('Mul', [d, d]), axes), scalar(eps)])]);
  };
  const affine = (a: string, w: Tensor | null, b: Tensor | null): string => {
    let y = a;
    if (w !== null) y = node('Mul', [y, perChannel(w)]);
    if (b !== null) y = node('Add', [y, perChannel(b)]);
    return y;
  };
  /** The entry's output is the value `last` (produced by the last node, or x itself). */
  const finish = (last: string): void => {
    const producer = own.length > 0 && own[own.length - 1].outputs[0] === last ? own[own.length - 1] : null;
    if (producer === null) ctx.alias(e.output, last);
    else producer.outputs[0] = ctx.out(e.output);
  };
  const at = e.attrs;
  const eps = at.eps as number;
  switch (e.op) {
    case 'rmsNorm': {
      const [, w] = e.inputs;
      const axes = at.axes as number[];
      let y = node('Div', [xn, node('Sqrt', [node('Add', [mean(node('Mul', [xn, xn]), axes), scalar(eps)])])]);
      // Trailing-dims weight broadcasts as it is; a channels-first one is reshaped to [1, C, 1, ...].
      if (w !== null) y = node('Mul', [y, axes[0] === 1 && rank > 2 ? perChannel(w) : ctx.ref(w, e.op)]);
      finish(y);
      break;
    }
    case 'layerNorm2d': {
      const [, w, b] = e.inputs;
      finish(affine(standardize(xn, [1], eps), w, b));
      break;
    }
    case 'localResponseNorm': {
      const size = at.size as number;
      const attrs = { alpha: at.alpha as number, beta: at.beta as number, k: at.k as number };
      if (size % 2 === 1) {
        finish(node('LRN', [xn], [{ name: 'alpha', f: attrs.alpha }, { name: 'beta', f: attrs.beta }, { name: 'bias', f: attrs.k }, { name: 'size', i: size }]));
        break;
      }
      // Window [c - size/2, c + size/2 - 1] (PyTorch): zero-pad the channel axis of x^2 viewed as
      // [N, 1, C, rest] and average over size channels.
      const sq = node('Reshape', [node('Mul', [xn, xn]), shapeConst([0, 1, x.shape[1], -1])]);
      const padded = node('Pad', [sq, shapeConst([0, 0, size / 2, 0, 0, 0, size / 2 - 1, 0])]);
      const avg = node('AveragePool', [padded], [{ name: 'kernel_shape', ints: [size, 1] }, { name: 'strides', ints: [1, 1] }]);
      const back = node('Reshape', [avg, node('Shape', [xn])]);
      const den = node('Pow', [node('Add', [node('Mul', [back, scalar(attrs.alpha)]), scalar(attrs.k)]), scalar(attrs.beta)]);
      finish(node('Div', [xn, den]));
      break;
    }
    case 'filterResponseNorm': {
      const [, w, b, tau] = e.inputs;
      const nu = node('Sqrt', [node('Add', [mean(node('Mul', [xn, xn]), spatial), scalar(eps)])]);
      let y = affine(node('Div', [xn, nu]), w, b);
      if (tau !== null) y = node('Max', [y, perChannel(tau)]);
      finish(y);
      break;
    }
    case 'evoNormB0': {
      // Traced in eval: the second input is running_var.
      const [, batchVar, v, w, b] = e.inputs;
      let y = xn;
      if (v !== null) {
        const left = node('Sqrt', [node('Add', [perChannel(batchVar!), scalar(eps)])]);
        const right = node('Add', [node('Mul', [xn, perChannel(v)]), stdOf(xn, spatial, eps)]);
        y = node('Div', [xn, node('Max', [left, right])]);
      }
      finish(affine(y, w, b));
      break;
    }
    case 'evoNormS0': {
      const [, v, w, b] = e.inputs;
      const groups = at.groups as number;
      let y = xn;
      if (v !== null) {
        const num = node('Mul', [xn, node('Sigmoid', [node('Mul', [xn, perChannel(v)])])]);
        const grouped = shapeConst([0, groups, -1]);
        const std = stdOf(node('Reshape', [xn, grouped]), [2], eps);
        y = node('Reshape', [node('Div', [node('Reshape', [num, grouped]), std]), node('Shape', [xn])]);
      }
      finish(affine(y, w, b));
      break;
    }
    case 'groupNormAct': {
      const [, w, b] = e.inputs;
      const groups = at.groups as number;
      const yg = standardize(node('Reshape', [xn, shapeConst([0, groups, -1])]), [2], eps);
      let y = affine(node('Reshape', [yg, node('Shape', [xn])]), w, b);
      const act = ACT_OPS[at.act as number];
      if (act !== null) y = node(act, [y]);
      finish(y);
      break;
    }
    case 'spectralNormWeight': {
      const orig = ctx.ref(x, e.op);
      const w = e.output;
      // Export read: the normalized weight's values become an initializer.
      ctx.alias(w, ctx.constant(orig.replace(/_orig$/, ''), [...w.shape], w.data()));
      break;
    }
    default:
      throw new Error(`exportOnnx: no decomposition for '${e.op}'`);
  }
}
