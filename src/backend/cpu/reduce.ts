// The CPU reduction and layout kernels: the native reduce and permute behind the typed argument
// objects of kernels/reduce.ts, and extremeBackward and copyRegion over host arrays.
import type { ReduceKernels } from '../kernels/reduce.js';
import { hostArray, hostIndexArray } from './storage.js';

/** The addon's reduce exports (native/reduce.cc). */
export interface NativeReduceKernels {
  /** max/min: `extra` is an optional Int32Array of arg-extreme positions; var/std: `extra` is `unbiased`. */
  reduce(op: number, x: Float32Array, shape: number[], dims: number[], out: Float32Array, extra?: Int32Array | boolean): void;
  permute(x: Float32Array, shape: number[], perm: number[], out: Float32Array): void;
}

const prod = (s: number[]): number => s.reduce((a, b) => a * b, 1);

/** Row-major strides of a contiguous tensor of `shape`, in elements. */
function stridesOf(shape: number[]): number[] {
  const st = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = s;
    s *= shape[i];
  }
  return st;
}

/** Element offsets in a contiguous tensor of `shape` of every index of `dims`, row-major. */
function dimOffsets(shape: number[], dims: number[]): Float64Array {
  const strides = stridesOf(shape);
  let off = new Float64Array([0]);
  for (const d of dims) {
    const next = new Float64Array(off.length * shape[d]);
    let k = 0;
    for (const a of off) for (let j = 0; j < shape[d]; j++) next[k++] = a + j * strides[d];
    off = next;
  }
  return off;
}

export function cpuReduceKernels(addon: NativeReduceKernels): ReduceKernels {
  return {
    reduce(a) {
      const x = hostArray(a.x, 'reduce');
      const out = hostArray(a.out, 'reduce');
      if (a.index != null) addon.reduce(a.op, x, a.shape, a.dims, out, hostIndexArray(a.index, 'reduce'));
      else if (a.unbiased !== undefined) addon.reduce(a.op, x, a.shape, a.dims, out, a.unbiased);
      else addon.reduce(a.op, x, a.shape, a.dims, out);
    },
    permute: (a) => addon.permute(hostArray(a.x, 'permute'), a.shape, a.perm, hostArray(a.out, 'permute')),
    extremeBackward(a) {
      const fn = 'extremeBackward';
      const xs = hostArray(a.x, fn);
      const values = hostArray(a.values, fn);
      const g = hostArray(a.g, fn);
      const gx = hostArray(a.gx, fn);
      const idx = a.index === null ? null : hostIndexArray(a.index, fn);
      const keptDims = a.shape.map((_, i) => i).filter((i) => !a.dims.includes(i));
      const kept = dimOffsets(a.shape, keptDims);
      const red = dimOffsets(a.shape, a.dims);
      const O = kept.length;
      const R = red.length;
      if (xs.length !== prod(a.shape) || gx.length !== xs.length || g.length !== O || values.length !== O || (idx !== null && idx.length !== O)) {
        throw new RangeError(`${fn}: x and gx need ${prod(a.shape)} values, g, values and index ${O}; got ${xs.length}, ${gx.length}, ${g.length}, ${values.length}, ${idx?.length ?? '-'}`);
      }
      gx.fill(0);
      for (let o = 0; o < O; o++) {
        const base = kept[o];
        if (idx !== null) {
          gx[base + red[idx[o]]] = g[o];
          continue;
        }
        const best = values[o];
        const nan = Number.isNaN(best);
        let ties = 0;
        for (let r = 0; r < R; r++) {
          const v = xs[base + red[r]];
          if (nan ? Number.isNaN(v) : v === best) ties++;
        }
        const share = g[o] / ties;
        for (let r = 0; r < R; r++) {
          const at = base + red[r];
          if (nan ? Number.isNaN(xs[at]) : xs[at] === best) gx[at] = share;
        }
      }
    },
    copyRegion(a) {
      const fn = 'copyRegion';
      const src = hostArray(a.src, fn);
      const dst = hostArray(a.dst, fn);
      const r = a.size.length;
      if (a.srcShape.length !== r || a.srcStart.length !== r || a.dstShape.length !== r || a.dstStart.length !== r) {
        throw new RangeError(`${fn}: srcShape, srcStart, dstShape, dstStart and size must have one entry per dim (${r})`);
      }
      for (let i = 0; i < r; i++) {
        if (a.srcStart[i] < 0 || a.srcStart[i] + a.size[i] > a.srcShape[i] || a.dstStart[i] < 0 || a.dstStart[i] + a.size[i] > a.dstShape[i]) {
          throw new RangeError(`${fn}: the box [${a.size.join(', ')}] at src [${a.srcStart.join(', ')}] / dst [${a.dstStart.join(', ')}] leaves src [${a.srcShape.join(', ')}] or dst [${a.dstShape.join(', ')}] on dim ${i}`);
        }
      }
      if (src.length !== prod(a.srcShape) || dst.length !== prod(a.dstShape)) {
        throw new RangeError(`${fn}: src holds ${src.length} values and dst ${dst.length}, shapes need ${prod(a.srcShape)} and ${prod(a.dstShape)}`);
      }
      if (r === 0) {
        dst[0] = src[0];
        return;
      }
      if (prod(a.size) === 0) return;
      // Dims from k on are copied as one contiguous run: every dim after k spans both tensors whole.
      let k = r - 1;
      while (k > 0 && a.size[k] === a.srcShape[k] && a.size[k] === a.dstShape[k]) k--;
      const sSt = stridesOf(a.srcShape);
      const dSt = stridesOf(a.dstShape);
      const run = a.size[k] * sSt[k];
      let sBase = 0;
      let dBase = 0;
      for (let i = 0; i < r; i++) {
        sBase += a.srcStart[i] * sSt[i];
        dBase += a.dstStart[i] * dSt[i];
      }
      const idx = new Array<number>(k).fill(0);
      const rows = prod(a.size.slice(0, k));
      for (let n = 0; n < rows; n++) {
        let so = sBase;
        let d = dBase;
        for (let i = 0; i < k; i++) {
          so += idx[i] * sSt[i];
          d += idx[i] * dSt[i];
        }
        dst.set(src.subarray(so, so + run), d);
        for (let i = k - 1; i >= 0; i--) {
          if (++idx[i] < a.size[i]) break;
          idx[i] = 0;
        }
      }
    },
  };
}
