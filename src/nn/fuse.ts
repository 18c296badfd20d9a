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

interface Foldable extends Module {
  evalScaleShift(): { scale: Float32Array; shift: Float32Array };
}

function isFoldable(m: Module): m is Foldable {
  if (!(m instanceof RunningStats)) return false;
  const evalMode = (m as unknown as { evalMode?: string }).evalMode;
  return (evalMode === undefined || evalMode === 'running') && m.getBuffer('running_mean') !== null && m.constructor.name.includes('2d');
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
  let before: Float32Array;
  try {
    before = noGrad(() => model.call(example)).data();
  } finally {
    for (const r of removers) r();
  }
  for (const [conv, norm] of pairs) {
    const { scale, shift } = norm.evalScaleShift();
    const w = conv.weight.buffer;
    const per = w.length / conv.outChannels;
    for (let o = 0; o < conv.outChannels; o++) for (let i = 0; i < per; i++) w[o * per + i] *= scale[o];
    let bias = conv.bias;
    if (bias === null) {
      bias = new Parameter(new Float32Array(conv.outChannels), [conv.outChannels]);
      conv.setParameter('bias', bias);
    }
    for (let o = 0; o < conv.outChannels; o++) bias.buffer[o] = bias.buffer[o] * scale[o] + shift[o];
    // The folded norm layer now passes its input through.
    norm.forward = (x: Tensor) => x;
  }
  const after = noGrad(() => model.call(example)).data();
  let maxAbsDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < after.length; i++) {
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(after[i] - before[i]));
    maxRef = Math.max(maxRef, Math.abs(before[i]));
  }
  if (!(maxAbsDiff <= tolerance * Math.max(1, maxRef))) {
    throw new Error(`fuseConvBn: the fused model's output differs from the original by ${maxAbsDiff} (tolerance ${tolerance}); a folded conv output is probably used elsewhere`);
  }
  return { fused: pairs.map(([c, n]) => [names.get(c) ?? '?', names.get(n) ?? '?']), maxAbsDiff };
}
