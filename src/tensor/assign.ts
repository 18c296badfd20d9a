// Writing values into existing tensors in place, on whatever device they live: what code outside
// the backend uses instead of writing into a host view (x.buffer). Loading a checkpoint into
// parameters, restoring saved statistics, moving parameters along a direction are such writes.
import type { Tensor } from './tensor.js';
import { backendFor } from '../backend/index.js';
import { formatShape } from './shape.js';

/**
 * Overwrites every value of `t` with host `values` (as many as t has), in place: one upload to
 * t's device. Tensors sharing t's storage (views, detach()) see the new values.
 */
export function assignValues(t: Tensor, values: Float32Array | ArrayLike<number>): void {
  if (values.length !== t.size) {
    throw new RangeError(`assignValues: values has ${values.length} entries but the tensor of shape ${formatShape(t.shape)} holds ${t.size}`);
  }
  const host = values instanceof Float32Array ? values : Float32Array.from(values);
  backendFor('assignValues', t).write(t.storage, host);
}

/**
 * Overwrites every value of `dst` with those of `src` (same number of values, same device), in
 * place and without leaving the device.
 */
export function copyValues(dst: Tensor, src: Tensor): void {
  if (src.size !== dst.size) {
    throw new RangeError(`copyValues: src has ${src.size} values (shape ${formatShape(src.shape)}) but dst has ${dst.size} (shape ${formatShape(dst.shape)})`);
  }
  backendFor('copyValues', dst, src).copy(src.storage, dst.storage);
}
