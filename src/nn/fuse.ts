// fuseConvBn: folds eval-mode batch normalization into the convolution that feeds it, for
// inference. For BN (and FBN with evalMode 'running') in eval, y = x·scale + shift per channel
// with scale = γ/sqrt(running_var + eps) and shift = β − running_mean·scale, so
//   BN(conv(x; W, b)) = conv(x; W·scale[o], b·scale + shift).
// Pairs are found by tracing one eval forward pass on an example input with forward hooks: a
// norm layer whose input is exactly the output tensor of a Conv2d is folded into it, and the
// norm layer then passes its input through. The fused model's output on the example is compared
// with the unfused output, so a conv whose output also feeds something else is caught.
import { Module, Parameter } from './module.js';
import { Conv2d } from './conv.js';
import { RunningStats } from './norm/running_stats.js';
import { noGrad } from '../autograd/graph.js';
import type { Tensor } from '../tensor/tensor.js';
import { backendFor } from '../backend/index.js';
import { abs, add, mul, neg, rsqrt, sub } from '../ops/elementwise.js';
import { max } from '../ops/reduce.js';
import { reshape } from '../ops/shape.js';

type Foldable = RunningStats & { runningMean: Tensor; runningVar: Tensor };

function isFoldable(m: Module): m is Foldable {
  if (!(m instanceof RunningStats)) return false;
  const evalMode = (m as unknown as { evalMode?: string }).evalMode;
  return (evalMode === undefined || evalMode === 'running') && m.runningMean !== null && m.runningVar !== null && m.constructor.name.includes('2d');
}

/** The norm layer's eval transform y = x * scale + shift per channel, as tensors on its device. */
function scaleShift(norm: Foldable): { scale: Tensor; shift: Tensor } {
  const invstd = rsqrt(add(norm.runningVar, norm.eps));
  const scale = norm.weight === null ? invstd : mul(norm.weight, invstd);
  const meanScaled = mul(norm.runningMean, scale);
  return { scale, shift: norm.bias === null ? neg(meanScaled) : sub(norm.bias, meanScaled) };
}

/** Folds the norm layer into the conv's weight and bias (in place: optimizers keep their references). */
function fold(conv: Conv2d, norm: Foldable): void {
  const { scale, shift } = scaleShift(norm);
  const be = backendFor('fuseConvBn', conv.weight, scale);
  const w = mul(conv.weight, reshape(scale, [conv.outChannels, 1, 1, 1]));
  be.copy(w.storage, conv.weight.storage);
  w.dispose();
  const bias = conv.bias;
  if (bias === null) conv.setParameter('bias', new Parameter(shift));
  else {
    const b = add(mul(bias, scale), shift);
    be.copy(b.storage, bias.storage);
    b.dispose();
  }
}

export interface FuseResult {
  /** Dotted names of the folded (conv, norm) pairs. */
  fused: [string, string][];
  /** Largest |fused − unfused| on the example input. */
  maxAbsDiff: number;
}

export function fuseConvBn(model: Module, example: Tensor, tolerance = 1e-4): FuseResult {
  if (model.training) throw new Error('fuseConvBn: the model must be in eval mode (call model.eval() first)');
  const names = new Map<Module, string>(model.namedModules().map(([n, m]) => [m, n]));
  const producedBy = new Map<Tensor, Conv2d>();
  const pairs: [Conv2d, Foldable][] = [];
  const removers: (() => void)[] = [];
  for (const m of model.modules()) {
    if (m instanceof Conv2d) removers.push(m.registerForwardHook((mod, _in, out) => producedBy.set(out, mod as Conv2d)));
    else if (isFoldable(m)) {
      removers.push(m.registerForwardHook((mod, inputs) => {
        const conv = producedBy.get(inputs[0]);
        if (conv !== undefined && !pairs.some(([c, n]) => c === conv || n === mod)) pairs.push([conv, mod as Foldable]);
      }));
    }
  }
  let before: Tensor;
  try {
    before = noGrad(() => model.call(example));
  } finally {
    for (const r of removers) r();
  }
  for (const [conv, norm] of pairs) {
    noGrad(() => fold(conv, norm));
    // The folded norm layer now passes its input through.
    norm.forward = (x: Tensor) => x;
  }
  const after = noGrad(() => model.call(example));
  // The two numbers of the report are the one host read of fuseConvBn.
  const maxAbsDiff = max(abs(sub(after, before))).item();
  const maxRef = max(abs(before)).item();
  if (!(maxAbsDiff <= tolerance * Math.max(1, maxRef))) {
    throw new Error(`fuseConvBn: the fused model's output differs from the original by ${maxAbsDiff} (tolerance ${tolerance}); a folded conv output is probably used elsewhere`);
  }
  return { fused: pairs.map(([c, n]) => [names.get(c) ?? '?', names.get(n) ?? '?']), maxAbsDiff };
}
