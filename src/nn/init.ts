// Weight initialisation (torch.nn.init), drawing from the global generator unless one is given.
// Values are drawn on the host by the seeded generators (so a seed gives the same weights on
// every device) and written into the tensor's storage in one upload: the initialisers are the
// host boundary of a parameter's values.
import type { Tensor } from '../tensor/tensor.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import { backendFor } from '../backend/index.js';

/** fan_in and fan_out as torch computes them: dims 1 and 0 times the receptive field. */
export function fans(t: Tensor): { fanIn: number; fanOut: number } {
  if (t.ndim < 2) throw new RangeError(`init: fan in/out need a tensor of rank >= 2, got shape [${t.shape.join(', ')}]`);
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: t.shape[1] * receptive, fanOut: t.shape[0] * receptive };
}

function gain(nonlinearity: 'relu' | 'linear' | 'leaky_relu', a = 0): number {
  if (nonlinearity === 'relu') return Math.SQRT2;
  if (nonlinearity === 'leaky_relu') return Math.sqrt(2 / (1 + a * a));
  return 1;
}

/** n host values, sample() called once per value in index order. */
export function drawValues(n: number, sample: () => number): Float32Array {
  return Float32Array.from({ length: n }, sample);
}

/** n values (2u - 1) * bound with u ~ U[0, 1) from `gen`: PyTorch's default layer initialisation. */
export function symmetricUniform(n: number, bound: number, gen: Generator = defaultGenerator()): Float32Array {
  return drawValues(n, () => (2 * gen.uniform() - 1) * bound);
}

/** Writes host values into t's storage on its device. */
function fill(fn: string, t: Tensor, values: Float32Array): void {
  backendFor(fn, t).write(t.storage, values);
}

export interface KaimingOptions {
  mode?: 'fan_in' | 'fan_out';
  nonlinearity?: 'relu' | 'linear' | 'leaky_relu';
  a?: number;
  generator?: Generator;
}

/** N(0, std²) with std = gain / sqrt(fan) (kaiming_normal_). */
export function kaimingNormal(t: Tensor, o: KaimingOptions = {}): void {
  const { fanIn, fanOut } = fans(t);
  const std = gain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0) / Math.sqrt((o.mode ?? 'fan_in') === 'fan_in' ? fanIn : fanOut);
  const g = o.generator ?? defaultGenerator();
  fill('kaimingNormal', t, drawValues(t.size, () => g.normal() * std));
}

/** U(−bound, bound) with bound = gain·sqrt(3 / fan) (kaiming_uniform_). */
export function kaimingUniform(t: Tensor, o: KaimingOptions = {}): void {
  const { fanIn, fanOut } = fans(t);
  const bound = gain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0) * Math.sqrt(3 / ((o.mode ?? 'fan_in') === 'fan_in' ? fanIn : fanOut));
  uniform(t, -bound, bound, o.generator);
}

/**
 * U(−bound, bound) with bound = gain·sqrt(6 / (fan_in + fan_out)) (xavier_uniform_; Keras'
 * glorot_uniform with gain 1, whose fans of a kh×kw×in×out kernel are the same products).
 */
export function xavierUniform(t: Tensor, gain = 1, generator?: Generator): void {
  const { fanIn, fanOut } = fans(t);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  uniform(t, -bound, bound, generator);
}

export function uniform(t: Tensor, low: number, high: number, generator?: Generator): void {
  const g = generator ?? defaultGenerator();
  fill('uniform', t, drawValues(t.size, () => low + (high - low) * g.uniform()));
}

export function normal(t: Tensor, mean = 0, std = 1, generator?: Generator): void {
  const g = generator ?? defaultGenerator();
  fill('normal', t, drawValues(t.size, () => mean + std * g.normal()));
}

export function constant(t: Tensor, value: number): void {
  const be = backendFor('constant', t);
  const filled = be.full(t.size, value);
  be.copy(filled, t.storage);
  be.release(filled);
}
