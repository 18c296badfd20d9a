// Dropout and channel dropout (dropout2d). The keep mask comes from a counter-based generator
// in the native kernel: element i is kept iff u(seed, i) >= p, so the same seed gives the same
// mask for any thread count. Kept values are scaled by 1 / (1 - p) (inverted dropout, as
// PyTorch), so the expectation of the output equals the input.
import { backendFor } from '../backend/index.js';
import { Tensor } from '../tensor/tensor.js';
import { checkRank } from '../tensor/shape.js';
import { defaultGenerator } from '../tensor/random.js';
import { mul } from './elementwise.js';

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

function dropoutImpl(fn: string, x: Tensor, p: number, options: DropoutOptions, maskShape: number[]): Tensor {
  checkP(fn, p);
  const training = options.training ?? true;
  if (!training || p === 0) return x;
  const be = backendFor(fn, x);
  const n = maskShape.reduce((a, d) => a * d, 1);
  // p = 1 drops everything (PyTorch returns zeros); the kernel takes p in [0, 1). The mask is
  // drawn on x's device by the counter-based generator, so no random values cross to it.
  const mask = p < 1 ? be.empty(n) : be.zeros(n);
  if (p < 1) be.dropoutMask({ seed: maskSeed(fn, options.seed), p, n, mask });
  // x * mask, the mask broadcast from maskShape; mul's rule gives the gradient g * mask.
  return mul(x, new Tensor(mask, maskShape));
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
