// CPU pooling kernels: the native addon's positional entry points (native/pool.cc) behind the
// typed PoolKernels of kernels/pool.ts.
import type { PoolKernels } from '../kernels/pool.js';
import { hostArray, hostIndexArray } from './storage.js';
import { withFieldNames } from './conv.js';

/** The addon's pooling exports; the native code checks every length and shape. */
export interface NativePoolKernels {
  maxPool2dForward(
    x: Float32Array, xShape: number[], y: Float32Array, indices: Int32Array, kernel: number[], stride: number[], padding: number[],
    dilation: number[], ceilMode: boolean,
  ): void;
  maxPool2dBackward(dy: Float32Array, indices: Int32Array, outShape: number[], dx: Float32Array, xShape: number[]): void;
  avgPool2dForward(
    x: Float32Array, xShape: number[], y: Float32Array, kernel: number[], stride: number[], padding: number[],
    ceilMode: boolean, countIncludePad: boolean,
  ): void;
  avgPool2dBackward(
    dy: Float32Array, dx: Float32Array, xShape: number[], kernel: number[], stride: number[], padding: number[],
    ceilMode: boolean, countIncludePad: boolean,
  ): void;
  adaptiveAvgPool2dForward(x: Float32Array, xShape: number[], y: Float32Array, outSize: number[]): void;
  adaptiveAvgPool2dBackward(dy: Float32Array, dx: Float32Array, xShape: number[], outSize: number[]): void;
}

const MAX_FORWARD = ['x', 'xShape', 'y', 'indices', 'kernel', 'stride', 'padding', 'dilation', 'ceilMode'];
const MAX_BACKWARD = ['dy', 'indices', 'outShape', 'dx', 'xShape'];
const AVG_FORWARD = ['x', 'xShape', 'y', 'kernel', 'stride', 'padding', 'ceilMode', 'countIncludePad'];
const AVG_BACKWARD = ['dy', 'dx', 'xShape', 'kernel', 'stride', 'padding', 'ceilMode', 'countIncludePad'];
const ADAPTIVE_FORWARD = ['x', 'xShape', 'y', 'outSize'];
const ADAPTIVE_BACKWARD = ['dy', 'dx', 'xShape', 'outSize'];

export function cpuPoolKernels(addon: NativePoolKernels): PoolKernels {
  return {
    maxPool2dForward(a) {
      const fn = 'maxPool2dForward';
      const x = hostArray(a.x, fn), y = hostArray(a.y, fn), idx = hostIndexArray(a.indices, fn);
      try {
        addon.maxPool2dForward(x, a.xShape, y, idx, a.kernel, a.stride, a.padding, a.dilation ?? [1, 1], a.ceilMode ?? false);
      } catch (e) {
        throw withFieldNames(e, MAX_FORWARD);
      }
    },
    maxPool2dBackward(a) {
      const fn = 'maxPool2dBackward';
      const dy = hostArray(a.dy, fn), idx = hostIndexArray(a.indices, fn), dx = hostArray(a.dx, fn);
      try {
        addon.maxPool2dBackward(dy, idx, a.outShape, dx, a.xShape);
      } catch (e) {
        throw withFieldNames(e, MAX_BACKWARD);
      }
    },
    avgPool2dForward(a) {
      const fn = 'avgPool2dForward';
      const x = hostArray(a.x, fn), y = hostArray(a.y, fn);
      try {
        addon.avgPool2dForward(x, a.xShape, y, a.kernel, a.stride, a.padding, a.ceilMode ?? false, a.countIncludePad ?? true);
      } catch (e) {
        throw withFieldNames(e, AVG_FORWARD);
      }
    },
    avgPool2dBackward(a) {
      const fn = 'avgPool2dBackward';
      const dy = hostArray(a.dy, fn), dx = hostArray(a.dx, fn);
      try {
        addon.avgPool2dBackward(dy, dx, a.xShape, a.kernel, a.stride, a.padding, a.ceilMode ?? false, a.countIncludePad ?? true);
      } catch (e) {
        throw withFieldNames(e, AVG_BACKWARD);
      }
    },
    adaptiveAvgPool2dForward(a) {
      const fn = 'adaptiveAvgPool2dForward';
      const x = hostArray(a.x, fn), y = hostArray(a.y, fn);
      try {
        addon.adaptiveAvgPool2dForward(x, a.xShape, y, a.outSize);
      } catch (e) {
        throw withFieldNames(e, ADAPTIVE_FORWARD);
      }
    },
    adaptiveAvgPool2dBackward(a) {
      const fn = 'adaptiveAvgPool2dBackward';
      const dy = hostArray(a.dy, fn), dx = hostArray(a.dx, fn);
      try {
        addon.adaptiveAvgPool2dBackward(dy, dx, a.xShape, a.outSize);
      } catch (e) {
        throw withFieldNames(e, ADAPTIVE_BACKWARD);
      }
    },
  };
}
