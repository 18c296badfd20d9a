// Tensor creation: from data, constants, ranges and seeded random numbers.
import { Tensor, type TensorOptions } from './tensor.js';
import { formatShape, numelOf } from './shape.js';
import { generatorFor } from './random.js';

export interface RandomOptions extends TensorOptions {
  /** Seed for this call only; without it the global generator (manualSeed) is used. */
  seed?: number;
}

function checkShapeArg(fn: string, shape: readonly number[]): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new RangeError(`${fn}: shape must be an array of integers >= 0, got ${JSON.stringify(shape)}`);
  }
}

/**
 * A tensor from values. `data` may be a Float32Array (used as is, not copied), a number array,
 * or a nested array (then the shape may be omitted).
 */
export function tensor(data: Float32Array | ArrayLike<number> | unknown[], shape?: readonly number[], options: TensorOptions = {}): Tensor {
  let buf: Float32Array;
  let sh: number[];
  if (data instanceof Float32Array) {
    buf = data;
    sh = shape ? [...shape] : [data.length];
  } else {
    const flat: number[] = [];
    const inferred: number[] = [];
    const walk = (v: unknown, depth: number): void => {
      if (Array.isArray(v)) {
        if (inferred.length <= depth) inferred.push(v.length);
        else if (inferred[depth] !== v.length) throw new RangeError('tensor: nested arrays must be rectangular');
        for (const e of v) walk(e, depth + 1);
      } else if (typeof v === 'number') {
        flat.push(v);
      } else if (ArrayBuffer.isView(v)) {
        for (const e of Array.from(v as unknown as ArrayLike<number>)) flat.push(e);
        if (inferred.length <= depth) inferred.push((v as unknown as ArrayLike<number>).length);
      } else {
        throw new TypeError(`tensor: data must contain numbers, got ${typeof v}`);
      }
    };
    walk(Array.isArray(data) ? data : Array.from(data as ArrayLike<number>), 0);
    buf = Float32Array.from(flat);
    sh = shape ? [...shape] : inferred;
  }
  checkShapeArg('tensor', sh);
  if (numelOf(sh) !== buf.length) {
    throw new RangeError(`tensor: data has ${buf.length} values but shape ${formatShape(sh)} needs ${numelOf(sh)}`);
  }
  return new Tensor(buf, sh, options);
}

export function full(shape: readonly number[], value: number, options: TensorOptions = {}): Tensor {
  checkShapeArg('full', shape);
  const buf = new Float32Array(numelOf(shape));
  if (value !== 0) buf.fill(value);
  return new Tensor(buf, shape, options);
}

export function zeros(shape: readonly number[], options: TensorOptions = {}): Tensor {
  checkShapeArg('zeros', shape);
  return full(shape, 0, options);
}

export function ones(shape: readonly number[], options: TensorOptions = {}): Tensor {
  checkShapeArg('ones', shape);
  return full(shape, 1, options);
}

/** Standard normal samples. */
export function randn(shape: readonly number[], options: RandomOptions = {}): Tensor {
  checkShapeArg('randn', shape);
  const gen = generatorFor(options.seed);
  const buf = new Float32Array(numelOf(shape));
  for (let i = 0; i < buf.length; i++) buf[i] = gen.normal();
  return new Tensor(buf, shape, options);
}

/** Uniform samples in [0, 1). */
export function rand(shape: readonly number[], options: RandomOptions = {}): Tensor {
  checkShapeArg('rand', shape);
  const gen = generatorFor(options.seed);
  const buf = new Float32Array(numelOf(shape));
  for (let i = 0; i < buf.length; i++) buf[i] = gen.uniform();
  return new Tensor(buf, shape, options);
}

/** Values start, start + step, ... below end (as torch.arange). */
export function arange(start: number, end?: number, step = 1, options: TensorOptions = {}): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  if (step === 0 || !Number.isFinite(step)) throw new RangeError(`arange: step must be a non-zero finite number, got ${step}`);
  const n = Math.max(0, Math.ceil((end - start) / step));
  const buf = new Float32Array(n);
  for (let i = 0; i < n; i++) buf[i] = start + i * step;
  return new Tensor(buf, [n], options);
}
