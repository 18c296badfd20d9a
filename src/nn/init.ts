// Weight initialisation (torch.nn.init), drawing from the global generator unless one is given.
import type { Tensor } from '../tensor/tensor.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';

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
  for (let i = 0; i < t.size; i++) t.buffer[i] = g.normal() * std;
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
  for (let i = 0; i < t.size; i++) t.buffer[i] = low + (high - low) * g.uniform();
}

export function normal(t: Tensor, mean = 0, std = 1, generator?: Generator): void {
  const g = generator ?? defaultGenerator();
  for (let i = 0; i < t.size; i++) t.buffer[i] = mean + std * g.normal();
}

export function constant(t: Tensor, value: number): void {
  t.buffer.fill(value);
}
