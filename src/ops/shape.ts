// Shape ops: reshape/flatten (views), transpose/permute (copies), concat, slice (a view when
// the slice is along the leading dimension), pad, and matmul. Every op runs on the backend of its
// inputs' device and only passes storage handles to its kernels.
import { backendFor, type Storage } from '../backend/index.js';
import { record } from '../autograd/graph.js';
import { traceOp } from '../autograd/trace.js';
import { Tensor } from '../tensor/core.js';
import { formatShape, normDim, numelOf, checkRank } from '../tensor/shape.js';

/** Reshape to `shape` (one entry may be -1). Shares the input's storage. */
export function reshape(x: Tensor, shape: number[]): Tensor {
  const target = [...shape];
  const inferred = target.indexOf(-1);
  if (target.filter((d) => d === -1).length > 1) throw new RangeError(`reshape: only one dimension can be -1, got ${formatShape(shape)}`);
  for (const d of target) {
    if (!Number.isInteger(d) || d < -1) throw new RangeError(`reshape: shape entries must be integers >= -1, got ${formatShape(shape)}`);
  }
  if (inferred >= 0) {
    const known = target.reduce((a, d) => (d === -1 ? a : a * d), 1);
    if (known === 0 || x.size % known !== 0) {
      throw new RangeError(`reshape: cannot reshape a tensor of shape ${formatShape(x.shape)} (${x.size} values) into ${formatShape(shape)}`);
    }
    target[inferred] = x.size / known;
  }
  if (numelOf(target) !== x.size) {
    throw new RangeError(`reshape: cannot reshape a tensor of shape ${formatShape(x.shape)} (${x.size} values) into ${formatShape(shape)}`);
  }
  backendFor('reshape', x);
  const out = new Tensor(x.storage, target);
  traceOp('reshape', [x], out, { shape: target });
  return record(out, 'reshape', [x], (g) => [g]);
}

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normDim('flatten', startDim, x.ndim);
  const e = normDim('flatten', endDim, x.ndim);
  if (s > e) throw new RangeError(`flatten: startDim (${startDim}) must not come after endDim (${endDim})`);
  const shape = [...x.shape.slice(0, s), numelOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}

export function permute(x: Tensor, dims: number[]): Tensor {
  const be = backendFor('permute', x);
  if (dims.length !== x.ndim) {
    throw new RangeError(`permute: dims must list all ${x.ndim} dimensions of shape ${formatShape(x.shape)}, got [${dims.join(', ')}]`);
  }
  const perm = dims.map((d) => normDim('permute', d, x.ndim));
  if (new Set(perm).size !== perm.length) throw new RangeError(`permute: dims must be a permutation, got [${dims.join(', ')}]`);
  const outShape = perm.map((d) => x.shape[d]);
  const out = new Tensor(be.empty(x.size), outShape);
  be.permute({ x: x.storage, shape: x.shape, perm, out: out.storage });
  return record(out, 'permute', [x], (g) => {
    const inv = new Array<number>(perm.length);
    perm.forEach((d, k) => (inv[d] = k));
    const gx = be.empty(x.size);
    be.permute({ x: g, shape: outShape, perm: inv, out: gx });
    return [gx];
  });
}

export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const a = normDim('transpose', dim0, x.ndim);
  const b = normDim('transpose', dim1, x.ndim);
  const perm = Array.from({ length: x.ndim }, (_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

/** `shape` with entry d replaced by v. */
function withDim(shape: number[], d: number, v: number): number[] {
  return shape.map((s, i) => (i === d ? v : s));
}

/** Concatenates tensors along `dim`; all other dims must match. */
export function concat(tensors: Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new RangeError('concat: tensors must hold at least one tensor');
  const be = backendFor('concat', ...tensors);
  const first = tensors[0];
  const d = normDim('concat', dim, first.ndim);
  tensors.forEach((t, k) => {
    if (t.ndim !== first.ndim || t.shape.some((s, i) => i !== d && s !== first.shape[i])) {
      throw new RangeError(
        `concat: tensors[${k}] has shape ${formatShape(t.shape)}, expected ${formatShape(first.shape.map((s, i) => (i === d ? -1 : s)))} (any size on dim ${d})`,
      );
    }
  });
  const sizes = tensors.map((t) => t.shape[d]);
  const total = sizes.reduce((a, b) => a + b, 0);
  const outShape = withDim(first.shape, d, total);
  const zero = first.shape.map(() => 0);
  const out = new Tensor(be.empty(numelOf(outShape)), outShape);
  let offset = 0;
  for (const t of tensors) {
    be.copyRegion({ src: t.storage, srcShape: t.shape, srcStart: zero, dst: out.storage, dstShape: outShape, dstStart: withDim(zero, d, offset), size: t.shape });
    offset += t.shape[d];
  }
  return record(out, 'concat', tensors, (g) => {
    const grads: (Storage | null)[] = [];
    let off = 0;
    for (const t of tensors) {
      if (t.requiresGrad) {
        const gk = be.empty(t.size);
        be.copyRegion({ src: g, srcShape: outShape, srcStart: withDim(zero, d, off), dst: gk, dstShape: t.shape, dstStart: zero, size: t.shape });
        grads.push(gk);
      } else {
        grads.push(null);
      }
      off += t.shape[d];
    }
    return grads;
  });
}

/** Elements [start, end) along `dim` (as x.narrow / x[..., start:end]). A view for dim 0. */
export function slice(x: Tensor, dim: number, start: number, end: number): Tensor {
  const be = backendFor('slice', x);
  const d = normDim('slice', dim, x.ndim);
  const n = x.shape[d];
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > n || start > end) {
    throw new RangeError(`slice: need 0 <= start <= end <= ${n} on dim ${d} of shape ${formatShape(x.shape)}, got start=${start}, end=${end}`);
  }
  const outer = numelOf(x.shape.slice(0, d));
  const inner = numelOf(x.shape.slice(d + 1));
  const len = end - start;
  const outShape = withDim(x.shape, d, len);
  const zero = x.shape.map(() => 0);
  const at = withDim(zero, d, start);
  let storage: Storage;
  if (outer === 1) {
    storage = be.view(x.storage, start * inner, len * inner);
  } else {
    storage = be.empty(outer * len * inner);
    be.copyRegion({ src: x.storage, srcShape: x.shape, srcStart: at, dst: storage, dstShape: outShape, dstStart: zero, size: outShape });
  }
  const out = new Tensor(storage, outShape);
  return record(out, 'slice', [x], (g) => {
    const gx = be.zeros(x.size);
    be.copyRegion({ src: g, srcShape: outShape, srcStart: zero, dst: gx, dstShape: x.shape, dstStart: at, size: outShape });
    return [gx];
  });
}

/**
 * Constant padding, as torch.nn.functional.pad: `pads` lists (before, after) pairs starting
 * from the LAST dimension, e.g. [left, right, top, bottom] for NCHW.
 */
export function pad(x: Tensor, pads: number[], value = 0): Tensor {
  const be = backendFor('pad', x);
  if (pads.length % 2 !== 0 || pads.length / 2 > x.ndim) {
    throw new RangeError(`pad: pads must hold an even number of values, at most ${2 * x.ndim}, got ${pads.length}`);
  }
  for (const p of pads) if (!Number.isInteger(p) || p < 0) throw new RangeError(`pad: pads must be integers >= 0, got [${pads.join(', ')}]`);
  const before = new Array<number>(x.ndim).fill(0);
  const after = new Array<number>(x.ndim).fill(0);
  for (let k = 0; k < pads.length / 2; k++) {
    before[x.ndim - 1 - k] = pads[2 * k];
    after[x.ndim - 1 - k] = pads[2 * k + 1];
  }
  const outShape = x.shape.map((s, i) => s + before[i] + after[i]);
  const zero = x.shape.map(() => 0);
  const n = numelOf(outShape);
  const out = new Tensor(value === 0 ? be.zeros(n) : be.full(n, value), outShape);
  be.copyRegion({ src: x.storage, srcShape: x.shape, srcStart: zero, dst: out.storage, dstShape: outShape, dstStart: before, size: x.shape });
  return record(out, 'pad', [x], (g) => {
    const gx = be.empty(x.size);
    be.copyRegion({ src: g, srcShape: outShape, srcStart: before, dst: gx, dstShape: x.shape, dstStart: zero, size: x.shape });
    return [gx];
  });
}

/** Matrix product of 2-D tensors, or batched over a leading dim for 3-D tensors (no broadcasting). */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const be = backendFor('matmul', a, b);
  checkRank('matmul', 'a', a.shape, [2, 3]);
  checkRank('matmul', 'b', b.shape, [2, 3]);
  if (a.ndim !== b.ndim) throw new RangeError(`matmul: a and b must have the same rank, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  const batched = a.ndim === 3;
  const B = batched ? a.shape[0] : 1;
  if (batched && b.shape[0] !== B) throw new RangeError(`matmul: batch sizes differ: ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  const [M, K] = a.shape.slice(-2);
  const [K2, N] = b.shape.slice(-2);
  if (K !== K2) throw new RangeError(`matmul: inner dimensions differ: a is ${formatShape(a.shape)}, b is ${formatShape(b.shape)}`);
  const outShape = batched ? [B, M, N] : [M, N];
  const out = new Tensor(be.empty(B * M * N), outShape);
  // Matrix i of a batch, as a view.
  const mat = (s: Storage, i: number, rows: number, cols: number): Storage => be.view(s, i * rows * cols, rows * cols);
  const as = a.storage;
  const bs = b.storage;
  for (let i = 0; i < B; i++) {
    be.sgemm({
      transA: false, transB: false, M, N, K, alpha: 1, a: mat(as, i, M, K), lda: K, b: mat(bs, i, K, N), ldb: N,
      beta: 0, c: mat(out.storage, i, M, N), ldc: N,
    });
  }
  return record(out, 'matmul', [a, b], (g) => {
    let ga: Storage | null = null;
    let gb: Storage | null = null;
    if (a.requiresGrad) {
      // ga[M, K] = g[M, N] * b^T
      const s = be.empty(a.size);
      for (let i = 0; i < B; i++) {
        be.sgemm({
          transA: false, transB: true, M, N: K, K: N, alpha: 1, a: mat(g, i, M, N), lda: N, b: mat(bs, i, K, N), ldb: N,
          beta: 0, c: mat(s, i, M, K), ldc: K,
        });
      }
      ga = s;
    }
    if (b.requiresGrad) {
      // gb[K, N] = a^T * g[M, N]
      const s = be.empty(b.size);
      for (let i = 0; i < B; i++) {
        be.sgemm({
          transA: true, transB: false, M: K, N, K: M, alpha: 1, a: mat(as, i, M, K), lda: K, b: mat(g, i, M, N), ldb: N,
          beta: 0, c: mat(s, i, K, N), ldc: N,
        });
      }
      gb = s;
    }
    return [ga, gb];
  });
}
