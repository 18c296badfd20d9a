// ONNX export (opset 13, IR version 7) of a model in eval mode, by tracing one forward pass.
//
// exportOnnx runs model.eval() on a zero input of the given shape inside traceOps (see
// src/autograd/trace.ts) and turns the tape into an ONNX graph: parameters and buffers become
// initializers under their state-dict names, the input is `input` [batch, C, H, W] (batch is a
// symbolic dimension), the output `output`. Op mapping:
//   conv2d → Conv; linear → Gemm (transB = 1; 2-D inputs); maxPool2d → MaxPool;
//   avgPool2d → AveragePool (count_include_pad = 1); adaptiveAvgPool2d → GlobalAveragePool for
//   1×1, AveragePool when the output size divides the input, else an error; relu / sigmoid /
//   tanh → Relu / Sigmoid / Tanh; add → Add; addScalar → Add with a constant; reshape that keeps
//   the batch dimension → Flatten(axis 1) when the result is 2-D, else Reshape with 0 for batch;
//   batchNormEval (BN / FBN in eval with running statistics) → BatchNormalization, or with
//   foldBatchNorm folded into the Conv or Gemm before it when that op's output feeds only it
//   (Batch Renorm and InstanceNorm with running statistics take the same path in eval);
//   groupNorm (GroupNorm, GroupNorm(1, C) as 'ln', InstanceNorm without running statistics) and
//   layerNorm → primitive ops, as opset 13 has neither GroupNormalization nor
//   LayerNormalization: Reshape to [N, G, −1], ReduceMean, Sub, Mul, ReduceMean, Add ε, Sqrt,
//   Div (the biased variance, as the layers), Reshape back to Shape(x), then Mul γ and Add β
//   broadcast per channel ([C, 1, …]) or over the normalized dims (LayerNorm).
// Dropout is the identity in eval and leaves no node.
//
// The protobuf is written by hand (field numbers from onnx.proto; every message is
// length-delimited, integers are varints, floats little-endian).
import { writeFileSync } from 'node:fs';
import { traceOps, type TraceEntry } from '../autograd/trace.js';
import { noGrad } from '../autograd/graph.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { zeros } from '../tensor/create.js';
import { COMPOSED_NORM_OPS, exportComposedNorm, type OnnxBuildContext } from './onnx_norm.js';

// ---- protobuf encoding --------------------------------------------------------------------

class Writer {
  private parts: Uint8Array[] = [];

  private varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    const bytes: number[] = [];
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x !== 0n) b |= 0x80;
      bytes.push(b);
    } while (x !== 0n);
    this.parts.push(Uint8Array.from(bytes));
  }

  private key(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, v: number): this {
    this.key(field, 0);
    this.varint(v);
    return this;
  }

  float(field: number, v: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.parts.push(b);
    return this;
  }

  bytes(field: number, v: Uint8Array): this {
    this.key(field, 2);
    this.varint(v.length);
    this.parts.push(v);
    return this;
  }

  string(field: number, v: string): this {
    return this.bytes(field, new TextEncoder().encode(v));
  }

  message(field: number, w: Writer): this {
    return this.bytes(field, w.finish());
  }

  finish(): Uint8Array {
    const n = this.parts.reduce((a, p) => a + p.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

const FLOAT = 1;
const INT64 = 7;

type Attr = { name: string; i?: number; f?: number; ints?: number[] };

/** AttributeProto: name 1, f 2, i 3, ints 8, type 20 (FLOAT 1, INT 2, INTS 7). */
function attribute(a: Attr): Writer {
  const w = new Writer().string(1, a.name);
  if (a.f !== undefined) w.float(2, a.f).int(20, 1);
  else if (a.i !== undefined) w.int(3, a.i).int(20, 2);
  else {
    for (const v of a.ints!) w.int(8, v);
    w.int(20, 7);
  }
  return w;
}

/** TensorProto: dims 1, data_type 2, name 8, raw_data 9. */
function tensorProto(name: string, dims: readonly number[], data: Float32Array | BigInt64Array): Writer {
  const w = new Writer();
  for (const d of dims) w.int(1, d);
  w.int(2, data instanceof Float32Array ? FLOAT : INT64);
  w.string(8, name);
  return w.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/** ValueInfoProto: name 1, type 2 → TypeProto.tensor_type 1 → elem_type 1, shape 2 → dim 1 (value 1 | param 2). */
function valueInfo(name: string, dims: (number | string)[]): Writer {
  const shape = new Writer();
  for (const d of dims) shape.message(1, typeof d === 'number' ? new Writer().int(1, d) : new Writer().string(2, d));
  const tensorType = new Writer().int(1, FLOAT).message(2, shape);
  return new Writer().string(1, name).message(2, new Writer().message(1, tensorType));
}

// ---- graph building -----------------------------------------------------------------------

interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Attr[];
}

export interface OnnxExportOptions {
  /** Input shape [N, C, *] (e.g. [N, C, H, W]); N becomes the symbolic dimension `batch`. */
  inputShape: readonly number[];
  /** Fold eval BatchNorm into the preceding Conv / Gemm when possible (default false). */
  foldBatchNorm?: boolean;
  /** ModelProto.producer_name (default 'normlab'). */
  producer?: string;
}

export interface OnnxGraphSummary {
  /** Op types of the graph's nodes in order. */
  ops: string[];
  initializers: number;
}

/** The model as an ONNX ModelProto (bytes) and a summary of its graph. */
export function exportOnnx(model: Module, options: OnnxExportOptions): { bytes: Uint8Array; summary: OnnxGraphSummary } {
  const shape = [...options.inputShape];
  if (shape.length < 2 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new RangeError(`exportOnnx: inputShape must be [N, C, ...] with positive integers, got [${shape.join(', ')}]`);
  }
  // The traced input: zeros on the model's device (only the graph is traced, not values).
  const x = zeros(shape, { device: model.device });
  model.eval();
  const { result: y, tape } = noGrad(() => traceOps(() => model.call(x)));

  const names = new Map<Tensor, string>([[x, 'input']]);
  const stateNames = new Map<Tensor, string>();
  for (const [k, t] of Object.entries(model.stateDict())) if (!stateNames.has(t)) stateNames.set(t, k);
  const inits = new Map<string, { dims: number[]; data: Float32Array | BigInt64Array }>();
  const nodes: Node[] = [];
  let tmp = 0;
  const producer = new Map<Tensor, TraceEntry>();
  for (const e of tape) producer.set(e.output, e);
  const uses = new Map<Tensor, number>();
  for (const e of tape) for (const t of e.inputs) if (t !== null) uses.set(t, (uses.get(t) ?? 0) + 1);

  const constant = (base: string, dims: number[], data: Float32Array | BigInt64Array): string => {
    let name = base;
    for (let k = 1; inits.has(name); k++) name = `${base}_${k}`;
    inits.set(name, { dims, data });
    return name;
  };
  /** The graph name of a tensor: a traced value, the input, or an initializer for state. */
  const ref = (t: Tensor, user: string): string => {
    const known = names.get(t);
    if (known !== undefined) return known;
    const state = stateNames.get(t);
    if (state !== undefined) {
      names.set(t, state);
      // Export read: the state's values become an initializer.
      inits.set(state, { dims: [...t.shape], data: t.data() });
      return state;
    }
    throw new Error(
      `exportOnnx: an input of ${user} (shape [${t.shape.join(', ')}]) comes from an op the exporter does not trace; ` +
        'supported: conv2d, linear, pooling, relu/sigmoid/tanh, add, reshape/flatten, BN/FBN/Batch Renorm with running statistics, ' +
        'GroupNorm/LayerNorm/InstanceNorm (see src/autograd/trace.ts); Filtered BN with evalMode batch normalizes with batch statistics in eval, which ONNX cannot express',
    );
  };
  const out = (t: Tensor): string => {
    const name = `t${tmp++}`;
    names.set(t, name);
    return name;
  };
  const pads = (p: number[]): number[] => [p[0], p[1], p[0], p[1]];
  const composed: OnnxBuildContext = {
    ref, out, constant, fresh: () => `t${tmp++}`,
    alias: (t, name) => {
      names.set(t, name);
    },
    push: (node) => {
      nodes.push(node);
    },
  };
  // Conv / Gemm nodes by their output tensor, for folding a following BatchNorm into them.
  const foldable = new Map<Tensor, { node: Node; weight: Tensor; bias: Tensor | null; kind: 'conv' | 'gemm' }>();

  for (const e of tape) {
    const [a, b, bias] = e.inputs;
    const at = e.attrs;
    switch (e.op) {
      case 'conv2d':
      case 'linear': {
        const isConv = e.op === 'conv2d';
        if (!isConv && a!.ndim !== 2) throw new Error(`exportOnnx: linear on a rank-${a!.ndim} input is not supported (Gemm takes 2-D inputs)`);
        const attrs: Attr[] = isConv
          ? [
            { name: 'kernel_shape', ints: b!.shape.slice(2) }, { name: 'strides', ints: at.stride as number[] },
            { name: 'pads', ints: pads(at.padding as number[]) }, { name: 'dilations', ints: at.dilation as number[] },
            { name: 'group', i: at.groups as number },
          ]
          : [{ name: 'transB', i: 1 }];
        const node: Node = { op: isConv ? 'Conv' : 'Gemm', inputs: [ref(a!, e.op), ref(b!, e.op), ...(bias ? [ref(bias, e.op)] : [])], outputs: [out(e.output)], attrs };
        nodes.push(node);
        foldable.set(e.output, { node, weight: b!, bias: bias ?? null, kind: isConv ? 'conv' : 'gemm' });
        break;
      }
      case 'maxPool2d':
      case 'avgPool2d':
        nodes.push({
          op: e.op === 'maxPool2d' ? 'MaxPool' : 'AveragePool', inputs: [ref(a!, e.op)], outputs: [out(e.output)],
          attrs: [
            { name: 'kernel_shape', ints: at.kernel as number[] }, { name: 'strides', ints: at.stride as number[] },
            { name: 'pads', ints: pads(at.padding as number[]) },
            ...(e.op === 'avgPool2d' ? [{ name: 'count_include_pad', i: at.countIncludePad === false ? 0 : 1 }] : []),
            ...(at.ceilMode === true ? [{ name: 'ceil_mode', i: 1 }] : []),
            ...(e.op === 'maxPool2d' && (at.dilation as number[] | undefined)?.some((d) => d !== 1) ? [{ name: 'dilations', ints: at.dilation as number[] }] : []),
          ],
        });
        break;
      case 'adaptiveAvgPool2d': {
        const [oh, ow] = at.size as number[];
        const [ih, iw] = a!.shape.slice(2);
        if (oh === 1 && ow === 1) {
          nodes.push({ op: 'GlobalAveragePool', inputs: [ref(a!, e.op)], outputs: [out(e.output)], attrs: [] });
        } else if (ih % oh === 0 && iw % ow === 0) {
          const k = [ih / oh, iw / ow];
          nodes.push({ op: 'AveragePool', inputs: [ref(a!, e.op)], outputs: [out(e.output)], attrs: [{ name: 'kernel_shape', ints: k }, { name: 'strides', ints: k }] });
        } else {
          throw new Error(`exportOnnx: adaptiveAvgPool2d from ${ih}x${iw} to ${oh}x${ow} has uneven windows; ONNX has no equivalent op`);
        }
        break;
      }
      case 'relu':
      case 'sigmoid':
      case 'tanh':
        nodes.push({ op: e.op[0].toUpperCase() + e.op.slice(1), inputs: [ref(a!, e.op)], outputs: [out(e.output)], attrs: [] });
        break;
      case 'add':
        nodes.push({ op: 'Add', inputs: [ref(a!, 'add'), ref(b!, 'add')], outputs: [out(e.output)], attrs: [] });
        break;
      case 'addScalar':
        nodes.push({ op: 'Add', inputs: [ref(a!, 'add'), constant('scalar', [], Float32Array.of(at.value as number))], outputs: [out(e.output)], attrs: [] });
        break;
      case 'reshape': {
        const shape = at.shape as number[];
        const input = ref(a!, 'reshape');
        if (shape.length === 2 && shape[0] === a!.shape[0]) {
          nodes.push({ op: 'Flatten', inputs: [input], outputs: [out(e.output)], attrs: [{ name: 'axis', i: 1 }] });
        } else {
          const target = BigInt64Array.from(shape.map((d, i) => BigInt(i === 0 && d === a!.shape[0] ? 0 : d)));
          nodes.push({ op: 'Reshape', inputs: [input, constant('shape', [shape.length], target)], outputs: [out(e.output)], attrs: [] });
        }
        break;
      }
      case 'batchNormEval': {
        const [xIn, mean, vr, weight, bnBias] = e.inputs as [Tensor, Tensor, Tensor, Tensor | null, Tensor | null];
        const C = mean.size;
        const eps = at.eps as number;
        const prev = foldable.get(xIn);
        if (options.foldBatchNorm && prev !== undefined && uses.get(xIn) === 1) {
          foldInto(prev, mean, vr, weight, bnBias, eps, constant);
          names.set(e.output, prev.node.outputs[0]);
          break;
        }
        const gamma = weight !== null ? ref(weight, 'batchNorm') : constant('bn_scale', [C], new Float32Array(C).fill(1));
        const beta = bnBias !== null ? ref(bnBias, 'batchNorm') : constant('bn_bias', [C], new Float32Array(C));
        nodes.push({
          op: 'BatchNormalization', inputs: [ref(xIn, 'batchNorm'), gamma, beta, ref(mean, 'batchNorm'), ref(vr, 'batchNorm')],
          outputs: [out(e.output)], attrs: [{ name: 'epsilon', f: eps }],
        });
        break;
      }
      case 'groupNorm':
      case 'layerNorm': {
        const [xIn, weight, nBias] = e.inputs as [Tensor, Tensor | null, Tensor | null];
        const eps = at.eps as number;
        const input = ref(xIn, e.op);
        const t = (): string => `t${tmp++}`;
        const epsName = constant(`${e.op}_eps`, [], Float32Array.of(eps));
        let stats: { src: string; axes: number[] };
        let grouped = '';
        if (e.op === 'groupNorm') {
          grouped = t();
          nodes.push({ op: 'Reshape', inputs: [input, constant('group_shape', [3], BigInt64Array.of(0n, BigInt(at.groups as number), -1n))], outputs: [grouped], attrs: [] });
          stats = { src: grouped, axes: [2] };
        } else {
          const k = (at.normalizedShape as number[]).length;
          stats = { src: input, axes: Array.from({ length: k }, (_, i) => i - k) };
        }
        const [mean, centred, sq, vr, shifted, sd, normed] = [t(), t(), t(), t(), t(), t(), t()];
        nodes.push(
          { op: 'ReduceMean', inputs: [stats.src], outputs: [mean], attrs: [{ name: 'axes', ints: stats.axes }, { name: 'keepdims', i: 1 }] },
          { op: 'Sub', inputs: [stats.src, mean], outputs: [centred], attrs: [] },
          { op: 'Mul', inputs: [centred, centred], outputs: [sq], attrs: [] },
          { op: 'ReduceMean', inputs: [sq], outputs: [vr], attrs: [{ name: 'axes', ints: stats.axes }, { name: 'keepdims', i: 1 }] },
          { op: 'Add', inputs: [vr, epsName], outputs: [shifted], attrs: [] },
          { op: 'Sqrt', inputs: [shifted], outputs: [sd], attrs: [] },
          { op: 'Div', inputs: [centred, sd], outputs: [normed], attrs: [] },
        );
        let cur = normed;
        if (e.op === 'groupNorm') {
          const shape = t();
          cur = t();
          nodes.push({ op: 'Shape', inputs: [input], outputs: [shape], attrs: [] }, { op: 'Reshape', inputs: [normed, shape], outputs: [cur], attrs: [] });
        }
        // γ and β: per channel ([C, 1, ...] against (N, C, *)) for groupNorm, the normalized shape for layerNorm.
        const affineDims = (p: Tensor): number[] => (e.op === 'groupNorm' ? [p.size, ...new Array<number>(xIn.ndim - 2).fill(1)] : [...p.shape]);
        const affine = (p: Tensor | null, op: 'Mul' | 'Add', base: string): void => {
          if (p === null) return;
          const name = constant(stateNames.get(p) ?? base, affineDims(p), p.data());
          const next = t();
          nodes.push({ op, inputs: [cur, name], outputs: [next], attrs: [] });
          cur = next;
        };
        affine(weight, 'Mul', `${e.op}_weight`);
        affine(nBias, 'Add', `${e.op}_bias`);
        names.set(e.output, cur);
        break;
      }
      default:
        if (COMPOSED_NORM_OPS.has(e.op)) {
          exportComposedNorm(e, composed);
          break;
        }
        if (e.inputs.some((t) => t !== null && names.has(t))) throw new Error(`exportOnnx: op '${e.op}' has no ONNX mapping`);
    }
  }
  const outName = ref(y, 'the model output');
  // The output gets a stable name: rename the node that produces it.
  for (const node of nodes) node.outputs = node.outputs.map((o) => (o === outName ? 'output' : o));
  for (const node of nodes) node.inputs = node.inputs.map((i) => (i === outName ? 'output' : i));
  if (outName === 'input') nodes.push({ op: 'Identity', inputs: ['input'], outputs: ['output'], attrs: [] });

  const graph = new Writer();
  nodes.forEach((node, k) => {
    const nw = new Writer();
    for (const i of node.inputs) nw.string(1, i);
    for (const o of node.outputs) nw.string(2, o);
    nw.string(3, `${node.op}_${k}`).string(4, node.op);
    for (const a of node.attrs) nw.message(5, attribute(a));
    graph.message(1, nw);
  });
  graph.string(2, model.constructor.name);
  // Folding leaves the unfolded weights unreferenced; only referenced initializers are written.
  const used = new Set(nodes.flatMap((nd) => nd.inputs));
  for (const [name, t] of inits) if (used.has(name)) graph.message(5, tensorProto(name, t.dims, t.data));
  graph.message(11, valueInfo('input', ['batch', ...shape.slice(1)]));
  graph.message(12, valueInfo('output', ['batch', ...y.shape.slice(1)]));
  const bytes = new Writer()
    .int(1, 7)
    .string(2, options.producer ?? 'normlab')
    .string(3, '0.1.0')
    .message(7, graph)
    .message(8, new Writer().string(1, '').int(2, 13))
    .finish();
  return { bytes, summary: { ops: nodes.map((nd) => nd.op), initializers: [...inits.keys()].filter((k) => used.has(k)).length } };
}

/**
 * Folds y = (z - mean) / sqrt(var + eps) * gamma + beta into the Conv / Gemm producing z:
 * W'[o] = W[o] * s[o], b'[o] = (b[o] - mean[o]) * s[o] + beta[o] with s = gamma / sqrt(var + eps).
 * The folded weights are new initializers (the model's tensors are not changed).
 */
function foldInto(
  prev: { node: Node; weight: Tensor; bias: Tensor | null },
  mean: Tensor, vr: Tensor, gamma: Tensor | null, beta: Tensor | null, eps: number,
  constant: (base: string, dims: number[], data: Float32Array) => string,
): void {
  const O = prev.weight.shape[0];
  const per = prev.weight.size / O;
  // Export read: the folded initializers are computed on the host.
  const weight = prev.weight.data();
  const bias = prev.bias?.data() ?? null;
  const mu = mean.data();
  const v = vr.data();
  const g = gamma?.data() ?? null;
  const be = beta?.data() ?? null;
  const w = new Float32Array(prev.weight.size);
  const b = new Float32Array(O);
  for (let o = 0; o < O; o++) {
    const s = (g ? g[o] : 1) / Math.sqrt(v[o] + eps);
    for (let k = 0; k < per; k++) w[o * per + k] = weight[o * per + k] * s;
    b[o] = ((bias ? bias[o] : 0) - mu[o]) * s + (be ? be[o] : 0);
  }
  prev.node.inputs = [prev.node.inputs[0], constant(`${prev.node.inputs[1]}_folded`, [...prev.weight.shape], w), constant(`${prev.node.inputs[1]}_folded_bias`, [O], b)];
}

/** exportOnnx, written to a file. */
export function saveOnnx(path: string, model: Module, options: OnnxExportOptions): OnnxGraphSummary {
  const { bytes, summary } = exportOnnx(model, options);
  writeFileSync(path, bytes);
  return summary;
}
