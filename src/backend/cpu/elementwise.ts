// The CPU elementwise kernels: the native addon's positional entry points behind the typed
// argument objects of kernels/elementwise.ts, and minMaxBackward over host arrays.
import type { ElementwiseKernels } from '../kernels/elementwise.js';
import { hostArray } from './storage.js';

/** The addon's elementwise exports (native/elementwise.cc). */
export interface NativeElementwiseKernels {
  binary(op: number, a: Float32Array, aShape: number[], b: Float32Array, bShape: number[], out: Float32Array, outShape: number[]): void;
  unary(op: number, x: Float32Array, y: Float32Array, p0: number, p1: number): void;
  unaryBackward(op: number, x: Float32Array, y: Float32Array, gy: Float32Array, gx: Float32Array, p0: number, p1: number): void;
  sumToShape(g: Float32Array, from: number[], out: Float32Array, to: number[]): void;
}

export function cpuElementwiseKernels(addon: NativeElementwiseKernels): ElementwiseKernels {
  return {
    binary: (a) => addon.binary(a.op, hostArray(a.a, 'binary'), a.aShape, hostArray(a.b, 'binary'), a.bShape, hostArray(a.out, 'binary'), a.outShape),
    unary: (a) => addon.unary(a.op, hostArray(a.x, 'unary'), hostArray(a.y, 'unary'), a.p0 ?? 0, a.p1 ?? 0),
    unaryBackward: (a) =>
      addon.unaryBackward(
        a.op, hostArray(a.x, 'unaryBackward'), hostArray(a.y, 'unaryBackward'), hostArray(a.gy, 'unaryBackward'),
        hostArray(a.gx, 'unaryBackward'), a.p0 ?? 0, a.p1 ?? 0,
      ),
    sumToShape: (a) => addon.sumToShape(hostArray(a.g, 'sumToShape'), a.gShape, hostArray(a.out, 'sumToShape'), a.outShape),
    minMaxBackward(args) {
      const fn = 'minMaxBackward';
      const a = hostArray(args.a, fn);
      const b = hostArray(args.b, fn);
      const g = hostArray(args.g, fn);
      const ga = hostArray(args.ga, fn);
      const gb = hostArray(args.gb, fn);
      const n = g.length;
      if (a.length !== n || b.length !== n || ga.length !== n || gb.length !== n) {
        throw new RangeError(`${fn}: a, b, g, ga and gb must hold ${n} values each, got ${a.length}, ${b.length}, ${n}, ${ga.length}, ${gb.length}`);
      }
      const isMax = args.isMax;
      for (let i = 0; i < n; i++) {
        if (a[i] === b[i]) {
          ga[i] = g[i] / 2;
          gb[i] = g[i] / 2;
        } else if ((a[i] > b[i]) === isMax) {
          ga[i] = g[i];
          gb[i] = 0;
        } else {
          ga[i] = 0;
          gb[i] = g[i];
        }
      }
    },
  };
}
