// Tensor creation: from data, constants, ranges and seeded random numbers.
import { Tensor, type TensorOptions } from './tensor.js';
import { formatShape, numelOf } from './shape.js';
import { generatorFor } from './random.js';
import { backendOn, checkDevice, getDefaultDevice, type Device } from '../backend/index.js';
import { hostStorage } from '../backend/cpu/storage.js';

export interface RandomOptions extends TensorOptions {
  /** Seed for this call only; without it the global generator (manualSeed) is used. */
  seed?: number;
}

/** The device a creation function puts its values on. */
function deviceOf(fn: string, options: TensorOptions): Device {
  return options.device === undefined ? getDefaultDevice() : checkDevice(fn, 'options.device', options.device);
}

/** A tensor over host values made for it: used as is on the CPU, uploaded elsewhere. */
function place(fn: string, values: Float32Array, shape: readonly number[], options: TensorOptions): Tensor {
  const device = deviceOf(fn, options);
  const storage = device === 'cpu' ? hostStorage(values) : backendOn(device, fn).upload(values);
  return new Tensor(storage, shape, { requiresGrad: options.requiresGrad });
}

function checkShapeArg(fn: string, shape: readonly number[]): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new RangeError(`${fn}: shape must be an array of integers >= 0, got ${JSON.stringify(shape)}`);
  }
}

/**
 * A tensor from values. `data` may be a Float32Array (used as is, not copied, on the CPU), a
 * number array, or a nested array (then the shape may be omitted).
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
  return place('tensor', buf, sh, options);
}

export function full(shape: readonly number[], value: number, options: TensorOptions = {}): Tensor {
  checkShapeArg('full', shape);
  const device = deviceOf('full', options);
  return new Tensor(backendOn(device, 'full').full(numelOf(shape), value), shape, { requiresGrad: options.requiresGrad });
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
  return place('randn', buf, shape, options);
}

/** Uniform samples in [0, 1). */
export function rand(shape: readonly number[], options: RandomOptions = {}): Tensor {
  checkShapeArg('rand', shape);
  const gen = generatorFor(options.seed);
  const buf = new Float32Array(numelOf(shape));
  for (let i = 0; i < buf.length; i++) buf[i] = gen.uniform();
  return place('rand', buf, shape, options);
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
  return place('arange', buf, [n], options);
}
