// Dropout and channel dropout (dropout2d). The keep mask comes from a counter-based generator
// in the native kernel: element i is kept iff u(seed, i) >= p, so the same seed gives the same
// mask for any thread count. Kept values are scaled by 1 / (1 - p) (inverted dropout, as
// PyTorch), so the expectation of the output equals the input.
import { backend } from '../backend/index.js';
import { BinaryOp } from '../backend/kernels/elementwise.js';
import { needsGrad } from '../autograd/graph.js';
import { recordHost } from '../autograd/hostRules.js';
import { Tensor } from '../tensor/tensor.js';
import { checkRank } from '../tensor/shape.js';
import { defaultGenerator } from '../tensor/random.js';
import { emptyFloats, zeroFloats } from '../backend/cpu/alloc.js';
import { hostStorage } from '../backend/cpu/storage.js';

export interface DropoutOptions {
  /** Off: the op is the identity (evaluation mode). Default true, as torch.nn.functional.dropout. */
  training?: boolean;
  /** Mask seed (a safe integer). Without it one is drawn from the global generator (manualSeed). */
  seed?: number;
}

function checkP(fn: string, p: number): void {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new RangeError(`${fn}: p must be a probability in [0, 1], got ${p}`);
}

/** The mask seed: the given one, or 53 bits drawn from the global generator. */
function maskSeed(fn: string, seed: number | undefined): number {
  if (seed !== undefined) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`${fn}: seed must be a safe integer, got ${seed}`);
    return seed;
  }
  const gen = defaultGenerator();
  const hi = gen.nextU32() & 0x1fffff;
  return hi * 4294967296 + gen.nextU32();
}

/** x * mask with mask broadcast from maskShape; the gradient is g * mask. */
function applyMask(fn: string, x: Tensor, mask: Float32Array, maskShape: number[]): Tensor {
  const out = new Tensor(emptyFloats(x.size), x.shape);
  backend.binary({ op: BinaryOp.mul, a: x.storage, aShape: x.shape, b: hostStorage(mask), bShape: maskShape, out: out.storage, outShape: x.shape });
  if (!needsGrad(x)) return out;
  return recordHost(out, fn, [x], (g) => {
    const gx = emptyFloats(x.size);
    backend.binary({ op: BinaryOp.mul, a: hostStorage(g), aShape: x.shape, b: hostStorage(mask), bShape: maskShape, out: hostStorage(gx), outShape: x.shape });
    return [gx];
  });
}

function dropoutImpl(fn: string, x: Tensor, p: number, options: DropoutOptions, maskShape: number[]): Tensor {
  checkP(fn, p);
  const training = options.training ?? true;
  if (!training || p === 0) return x;
  const n = maskShape.reduce((a, d) => a * d, 1);
  const mask = zeroFloats(n);
  // p = 1 drops everything (PyTorch returns zeros); the kernel takes p in [0, 1).
  if (p < 1) backend.dropoutMask(maskSeed(fn, options.seed), p, mask, n);
  return applyMask(fn, x, mask, maskShape);
}

/** Zeroes each element with probability p and scales the rest by 1 / (1 - p). */
export function dropout(x: Tensor, p = 0.5, options: DropoutOptions = {}): Tensor {
  return dropoutImpl('dropout', x, p, options, x.shape);
}

/** Zeroes whole channels of an NCHW tensor with probability p; scales the rest by 1 / (1 - p). */
export function dropout2d(x: Tensor, p = 0.5, options: DropoutOptions = {}): Tensor {
  checkRank('dropout2d', 'input', x.shape, [4]);
  return dropoutImpl('dropout2d', x, p, options, [x.shape[0], x.shape[1], 1, 1]);
}
