// Gradient rules written over CPU arrays: the adapter between record()'s storage handles and a
// rule that reads and returns Float32Arrays. Ops whose rules run on the backend's kernels use
// record() directly; this one serves only CPU tensors.
import { record } from './graph.js';
import type { Tensor } from '../tensor/tensor.js';
import { hostArray, hostStorage } from '../backend/cpu/storage.js';

export type HostBackwardFn = (gradOutput: Float32Array) => (Float32Array | null)[];

export function recordHost(out: Tensor, name: string, inputs: Tensor[], backward: HostBackwardFn): Tensor {
  return record(out, name, inputs, (g) => backward(hostArray(g, name)).map((a) => (a == null ? null : hostStorage(a))));
}
