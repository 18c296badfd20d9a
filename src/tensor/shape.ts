// Shape helpers shared by every op: element counts, dimension normalisation, broadcasting,
// and the error messages that name the function, the argument and expected vs actual.

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`shape ${formatShape(shape)}: dimensions must be integers >= 0`);
    n *= d;
  }
  return n;
}

/** Row-major strides of a contiguous tensor. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function checkShape(fn: string, arg: string, actual: readonly number[], expected: readonly number[]): void {
  if (!sameShape(actual, expected)) {
    throw new RangeError(`${fn}: ${arg} must have shape ${formatShape(expected)}, got ${formatShape(actual)}`);
  }
}

export function checkRank(fn: string, arg: string, shape: readonly number[], ranks: readonly number[]): void {
  if (!ranks.includes(shape.length)) {
    const want = ranks.length === 1 ? `${ranks[0]}` : ranks.slice(0, -1).join(', ') + ` or ${ranks[ranks.length - 1]}`;
    throw new RangeError(`${fn}: ${arg} must have rank ${want}, got rank ${shape.length} (shape ${formatShape(shape)})`);
  }
}

/** Normalises a possibly negative dimension index; throws naming fn if out of range. */
export function normDim(fn: string, dim: number, ndim: number): number {
  if (!Number.isInteger(dim) || dim < -Math.max(ndim, 1) || dim >= Math.max(ndim, 1)) {
    throw new RangeError(`${fn}: dim must be an integer in [${-Math.max(ndim, 1)}, ${Math.max(ndim, 1) - 1}], got ${dim}`);
  }
  return dim < 0 ? dim + ndim : dim;
}

/** Sorted, unique, normalised list of dims (all dims when undefined). */
export function normDims(fn: string, dims: number | readonly number[] | undefined, ndim: number): number[] {
  if (dims === undefined) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof dims === 'number' ? [dims] : dims;
  const out = [...new Set(list.map((d) => normDim(fn, d, ndim)))].sort((a, b) => a - b);
  return out;
}

/** NumPy/PyTorch broadcasting of two shapes. */
export function broadcastShapes(fn: string, a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new RangeError(`${fn}: shapes ${formatShape(a)} and ${formatShape(b)} cannot be broadcast together`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

export function checkPositiveInt(fn: string, arg: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${fn}: ${arg} must be an integer >= 1, got ${v}`);
}

export function checkNonNegativeInt(fn: string, arg: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`${fn}: ${arg} must be an integer >= 0, got ${v}`);
}
