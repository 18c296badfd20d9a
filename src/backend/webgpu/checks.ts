// Argument checks and declaration shorthands shared by the WebGPU kernel families: storage
// handles validated with their lengths (errors name the kernel, the argument, expected vs
// actual), sizes, grids of workgroups past one dimension's limit, and binding / parameter
// declarations of KernelSpecs.
import type { Grid, ParamDecl, StorageBinding } from './runtime.js';
import { gpuStorage, type GpuStorage } from './storage.js';
import type { Storage } from '../storage.js';

/** Throws unless v is an integer >= 0. */
export function checkSize(fn: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`${fn}: ${name} must be an integer >= 0, got ${v}`);
}

/** The WebGPU handle `s` holding at least n values of dtype. */
export function storageAtLeast(fn: string, arg: string, s: Storage, n: number, dtype: 'float32' | 'int32' = 'float32'): GpuStorage {
  const g = gpuStorage(s, `${fn} (${arg})`, dtype);
  if (g.length < n) throw new RangeError(`${fn}: ${arg} must hold at least ${n} values, got ${g.length}`);
  return g;
}

/** The WebGPU handle `s` holding exactly n values of dtype (n undefined: any length). */
export function storageExactly(fn: string, arg: string, s: Storage, n?: number, dtype: 'float32' | 'int32' = 'float32'): GpuStorage {
  const g = gpuStorage(s, `${fn} (${arg})`, dtype);
  if (n !== undefined && g.length !== n) throw new RangeError(`${fn}: ${arg} must have ${n} values, got ${g.length}`);
  return g;
}

/** storageExactly for an optional argument (null or undefined passes as null). */
export function optionalExactly(fn: string, arg: string, s: Storage | null | undefined, n?: number): GpuStorage | null {
  return s == null ? null : storageExactly(fn, arg, s, n);
}

/** storageAtLeast for an optional argument. */
export function optionalAtLeast(fn: string, arg: string, s: Storage | null | undefined, n: number): GpuStorage | null {
  return s == null ? null : storageAtLeast(fn, arg, s, n);
}

/** A grid of `count` workgroups: x up to 65535, the rest along y (kernels index wid.x + wid.y * nwg.x). */
export function gridOf(count: number): Grid {
  return count <= 65535 ? [count, 1, 1] : [65535, Math.ceil(count / 65535), 1];
}

/** Storage bindings: a float32 input, a float32 output. */
export const f32in = (name: string, optional = false): StorageBinding => ({ name, type: 'f32', access: 'read', optional });
export const f32out = (name: string, optional = false): StorageBinding => ({ name, type: 'f32', access: 'read_write', optional });

/** Scalar parameters of one type. */
export const u32p = (...names: string[]): ParamDecl[] => names.map((name) => ({ name, type: 'u32' }));
export const i32p = (...names: string[]): ParamDecl[] => names.map((name) => ({ name, type: 'i32' }));
export const f32p = (...names: string[]): ParamDecl[] => names.map((name) => ({ name, type: 'f32' }));
