// Op tracing for model export. While a tape is active (inside `traceOps`), the functional ops
// that export understands append one entry per call: the op's name, its tensor inputs, its
// output and its non-tensor arguments. The tape is a flat list in execution order, so a custom
// forward() (ResNet blocks, .add(), .flatten()) is recorded like a Sequential. Traced ops:
//   conv2d {stride, padding, dilation, groups}, linear, maxPool2d / avgPool2d {kernel, stride,
//   padding}, adaptiveAvgPool2d {size}, every unary elementwise op (name as the op, {p0, p1}),
//   add (tensor + tensor; tensor + number as 'addScalar' {value}), reshape {shape}, and the
//   running-statistics normalization of batchNorm / filteredBatchNorm in eval
//   ('batchNormEval': inputs x, runningMean, runningVar, weight?, bias? and {eps}), and the
//   per-sample statistics of groupNorm and instanceNorm ('groupNorm': x, weight?, bias?
//   {groups, eps}; instance statistics are groups = C) and layerNorm ('layerNorm': x, weight?,
//   bias? {normalizedShape, eps}).
// Ops not listed leave no entry; the exporter reports a tensor it cannot trace to its source.
import type { Tensor } from '../tensor/tensor.js';

export type TraceAttr = number | number[] | boolean;

export interface TraceEntry {
  op: string;
  /** Tensor inputs in the op's argument order (null where an optional tensor was not given). */
  inputs: (Tensor | null)[];
  output: Tensor;
  attrs: Record<string, TraceAttr>;
}

let tape: TraceEntry[] | null = null;

/** Appends an entry when tracing (a no-op otherwise, so ops call it unconditionally). */
export function traceOp(op: string, inputs: (Tensor | null)[], output: Tensor, attrs: Record<string, TraceAttr> = {}): void {
  if (tape !== null) tape.push({ op, inputs, output, attrs });
}

/** Runs fn while recording the traced ops it calls; tapes do not nest. */
export function traceOps<T>(fn: () => T): { result: T; tape: TraceEntry[] } {
  if (tape !== null) throw new Error('traceOps: already tracing');
  const own: TraceEntry[] = [];
  tape = own;
  try {
    return { result: fn(), tape: own };
  } finally {
    tape = null;
  }
}

/**
 * Runs fn with the tape paused: a layer built from several traced ops (RMSNorm, EvoNorm, ...)
 * records itself as one entry instead, which the exporter decomposes into ONNX nodes.
 */
export function untraced<T>(fn: () => T): T {
  const saved = tape;
  tape = null;
  try {
    return fn();
  } finally {
    tape = saved;
  }
}
