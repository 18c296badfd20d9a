// CPU convolution kernels: the native addon's positional entry points (native/conv.cc) behind
// the typed ConvKernels of kernels/conv.ts. Handles are unwrapped to their Float32Arrays here and
// nowhere above src/backend.
import type { ConvKernels } from '../kernels/conv.js';
import { hostArray } from './storage.js';

/** The addon's convolution exports; the native code checks every length and shape. */
export interface NativeConvKernels {
  conv2dForward(
    x: Float32Array, xShape: number[], w: Float32Array, wShape: number[], bias: Float32Array | null, y: Float32Array,
    stride: number[], padding: number[], dilation: number[], groups: number,
  ): void;
  conv2dBackwardInput(
    dy: Float32Array, w: Float32Array, wShape: number[], dx: Float32Array, xShape: number[],
    stride: number[], padding: number[], dilation: number[], groups: number,
  ): void;
  conv2dBackwardWeight(
    x: Float32Array, xShape: number[], dy: Float32Array, dw: Float32Array | null, wShape: number[], dbias: Float32Array | null,
    stride: number[], padding: number[], dilation: number[], groups: number,
  ): void;
}

/**
 * The native code's errors name positional arguments ("conv2dForward: argument 5 must hold ...");
 * this adds the name of the parameter-object field each position came from and returns the error
 * to rethrow.
 */
export function withFieldNames(e: unknown, fields: readonly string[]): unknown {
  if (e instanceof Error) {
    e.message = e.message.replace(/\bargument (\d+)\b/, (m: string, i: string) => (fields[Number(i)] === undefined ? m : `${fields[Number(i)]} (${m})`));
  }
  return e;
}

const FORWARD = ['x', 'xShape', 'weight', 'wShape', 'bias', 'y', 'stride', 'padding', 'dilation', 'groups'];
const BACKWARD_INPUT = ['dy', 'weight', 'wShape', 'dx', 'xShape', 'stride', 'padding', 'dilation', 'groups'];
const BACKWARD_WEIGHT = ['x', 'xShape', 'dy', 'dw', 'wShape', 'dbias', 'stride', 'padding', 'dilation', 'groups'];

export function cpuConvKernels(addon: NativeConvKernels): ConvKernels {
  return {
    conv2dForward(a) {
      const fn = 'conv2dForward';
      const bias = a.bias === null ? null : hostArray(a.bias, fn);
      const x = hostArray(a.x, fn), w = hostArray(a.weight, fn), y = hostArray(a.y, fn);
      try {
        addon.conv2dForward(x, a.xShape, w, a.wShape, bias, y, a.stride, a.padding, a.dilation, a.groups);
      } catch (e) {
        throw withFieldNames(e, FORWARD);
      }
    },
    conv2dBackwardInput(a) {
      const fn = 'conv2dBackwardInput';
      const dy = hostArray(a.dy, fn), w = hostArray(a.weight, fn), dx = hostArray(a.dx, fn);
      try {
        addon.conv2dBackwardInput(dy, w, a.wShape, dx, a.xShape, a.stride, a.padding, a.dilation, a.groups);
      } catch (e) {
        throw withFieldNames(e, BACKWARD_INPUT);
      }
    },
    conv2dBackwardWeight(a) {
      const fn = 'conv2dBackwardWeight';
      const x = hostArray(a.x, fn), dy = hostArray(a.dy, fn);
      const dw = a.dw === null ? null : hostArray(a.dw, fn);
      const db = a.dbias === null ? null : hostArray(a.dbias, fn);
      try {
        addon.conv2dBackwardWeight(x, a.xShape, dy, dw, a.wShape, db, a.stride, a.padding, a.dilation, a.groups);
      } catch (e) {
        throw withFieldNames(e, BACKWARD_WEIGHT);
      }
    },
  };
}
