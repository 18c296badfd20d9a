// Shape ops: reshape/flatten (views), transpose/permute (copies), concat, slice (a view when
// the slice is along the leading dimension), pad, and matmul.
import { backend } from '../backend/index.js';
import { recordHost } from '../autograd/hostRules.js';
import { traceOp } from '../autograd/trace.js';
import { Tensor } from '../tensor/tensor.js';
import { formatShape, normDim, numelOf, checkRank } from '../tensor/shape.js';
import { emptyFloats, zeroFloats } from '../backend/cpu/alloc.js';

/** Reshape to `shape` (one entry may be -1). Shares the input's buffer. */
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
  const out = new Tensor(x.buffer, target);
  traceOp('reshape', [x], out, { shape: target });
  return recordHost(out, 'reshape', [x], (g) => [g]);
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
  if (dims.length !== x.ndim) {
    throw new RangeError(`permute: dims must list all ${x.ndim} dimensions of shape ${formatShape(x.shape)}, got [${dims.join(', ')}]`);
  }
  const perm = dims.map((d) => normDim('permute', d, x.ndim));
  if (new Set(perm).size !== perm.length) throw new RangeError(`permute: dims must be a permutation, got [${dims.join(', ')}]`);
  const outShape = perm.map((d) => x.shape[d]);
  const out = new Tensor(emptyFloats(x.size), outShape);
  backend.permute(x.buffer, x.shape, perm, out.buffer);
  return recordHost(out, 'permute', [x], (g) => {
    const inv = new Array<number>(perm.length);
    perm.forEach((d, k) => (inv[d] = k));
    const gx = emptyFloats(x.size);
    backend.permute(g, outShape, inv, gx);
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

/** Concatenates tensors along `dim`; all other dims must match. */
export function concat(tensors: Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new RangeError('concat: tensors must hold at least one tensor');
  const first = tensors[0];
  const d = normDim('concat', dim, first.ndim);
  tensors.forEach((t, k) => {
    if (t.ndim !== first.ndim || t.shape.some((s, i) => i !== d && s !== first.shape[i])) {
      throw new RangeError(
        `concat: tensors[${k}] has shape ${formatShape(t.shape)}, expected ${formatShape(first.shape.map((s, i) => (i === d ? -1 : s)))} (any size on dim ${d})`,
      );
    }
  });
  const outer = numelOf(first.shape.slice(0, d));
  const inner = numelOf(first.shape.slice(d + 1));
  const sizes = tensors.map((t) => t.shape[d]);
  const total = sizes.reduce((a, b) => a + b, 0);
  const outShape = first.shape.map((s, i) => (i === d ? total : s));
  const out = new Tensor(emptyFloats(numelOf(outShape)), outShape);
  let offset = 0;
  for (let k = 0; k < tensors.length; k++) {
    const chunk = sizes[k] * inner;
    for (let o = 0; o < outer; o++) {
      out.buffer.set(tensors[k].buffer.subarray(o * chunk, (o + 1) * chunk), o * total * inner + offset * inner);
    }
    offset += sizes[k];
  }
  return recordHost(out, 'concat', tensors, (g) => {
    const grads: Float32Array[] = [];
    let off = 0;
    for (let k = 0; k < tensors.length; k++) {
      const chunk = sizes[k] * inner;
      const gk = emptyFloats(outer * chunk);
      for (let o = 0; o < outer; o++) gk.set(g.subarray(o * total * inner + off * inner, o * total * inner + off * inner + chunk), o * chunk);
      grads.push(gk);
      off += sizes[k];
    }
    return grads;
  });
}

/** Elements [start, end) along `dim` (as x.narrow / x[..., start:end]). A view for dim 0. */
export function slice(x: Tensor, dim: number, start: number, end: number): Tensor {
  const d = normDim('slice', dim, x.ndim);
  const n = x.shape[d];
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > n || start > end) {
    throw new RangeError(`slice: need 0 <= start <= end <= ${n} on dim ${d} of shape ${formatShape(x.shape)}, got start=${start}, end=${end}`);
  }
  const outer = numelOf(x.shape.slice(0, d));
  const inner = numelOf(x.shape.slice(d + 1));
  const len = end - start;
  const outShape = x.shape.map((s, i) => (i === d ? len : s));
  let buf: Float32Array;
  if (outer === 1) {
    buf = x.buffer.subarray(start * inner, end * inner);
  } else {
    buf = emptyFloats(outer * len * inner);
    for (let o = 0; o < outer; o++) buf.set(x.buffer.subarray((o * n + start) * inner, (o * n + end) * inner), o * len * inner);
  }
  const out = new Tensor(buf, outShape);
  return recordHost(out, 'slice', [x], (g) => {
    const gx = zeroFloats(x.size);
    for (let o = 0; o < outer; o++) gx.set(g.subarray(o * len * inner, (o + 1) * len * inner), (o * n + start) * inner);
    return [gx];
  });
}

/**
 * Constant padding, as torch.nn.functional.pad: `pads` lists (before, after) pairs starting
 * from the LAST dimension, e.g. [left, right, top, bottom] for NCHW.
 */
export function pad(x: Tensor, pads: number[], value = 0): Tensor {
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
  const out = new Tensor(zeroFloats(numelOf(outShape)), outShape);
  if (value !== 0) out.buffer.fill(value);
  const last = x.ndim - 1;
  const rowLen = x.ndim === 0 ? 1 : x.shape[last];
  const rows = rowLen === 0 ? 0 : x.size / rowLen;
  // Offset of each input row inside the output.
  const rowOffset = (r: number): number => {
    let rem = r;
    let off = 0;
    let stride = outShape[last];
    off += before[last];
    for (let d = last - 1; d >= 0; d--) {
      const i = rem % x.shape[d];
      rem = Math.floor(rem / x.shape[d]);
      off += (i + before[d]) * stride;
      stride *= outShape[d];
    }
    return off;
  };
  for (let r = 0; r < rows; r++) out.buffer.set(x.buffer.subarray(r * rowLen, (r + 1) * rowLen), rowOffset(r));
  return recordHost(out, 'pad', [x], (g) => {
    const gx = zeroFloats(x.size);
    for (let r = 0; r < rows; r++) {
      const o = rowOffset(r);
      gx.set(g.subarray(o, o + rowLen), r * rowLen);
    }
    return [gx];
  });
}

/** Matrix product of 2-D tensors, or batched over a leading dim for 3-D tensors (no broadcasting). */
export function matmul(a: Tensor, b: Tensor): Tensor {
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
  const out = new Tensor(emptyFloats(B * M * N), outShape);
  for (let i = 0; i < B; i++) {
    backend.sgemm(false, false, M, N, K, 1, a.buffer.subarray(i * M * K), K, b.buffer.subarray(i * K * N), N, 0, out.buffer.subarray(i * M * N), N);
  }
  return recordHost(out, 'matmul', [a, b], (g) => {
    let ga: Float32Array | null = null;
    let gb: Float32Array | null = null;
    if (a.requiresGrad) {
      ga = emptyFloats(a.size);
      for (let i = 0; i < B; i++) backend.sgemm(false, true, M, K, N, 1, g.subarray(i * M * N), N, b.buffer.subarray(i * K * N), N, 0, ga.subarray(i * M * K), K);
    }
    if (b.requiresGrad) {
      gb = emptyFloats(b.size);
      for (let i = 0; i < B; i++) backend.sgemm(true, false, K, N, M, 1, a.buffer.subarray(i * M * K), K, g.subarray(i * M * N), N, 0, gb.subarray(i * K * N), N);
    }
    return [ga, gb];
  });
}
