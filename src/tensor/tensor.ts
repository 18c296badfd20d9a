// Tensor: float32, contiguous, row-major (NCHW for images). A tensor is a shape over a
// Float32Array that it may share with other tensors (reshape and leading-dimension slices are
// views, never copies). Gradients and the autograd node live on the tensor.
import { record, runBackward, type Node } from '../autograd/graph.js';
import * as ew from '../ops/elementwise.js';
import * as red from '../ops/reduce.js';
import * as shp from '../ops/shape.js';
import { numelOf, formatShape, checkShape } from './shape.js';
import { cloneFloats, releaseFloats } from './alloc.js';

export interface TensorOptions {
  requiresGrad?: boolean;
}

export class Tensor {
  /** Storage; may be a view (subarray) of a larger buffer shared with other tensors. */
  readonly buffer: Float32Array;
  readonly shape: number[];
  readonly size: number;
  requiresGrad: boolean;
  /** The node that produced this tensor (null for leaves and for tensors made under noGrad). */
  gradFn: Node | null = null;
  private gradTensor: Tensor | null = null;
  /**
   * Whether .grad has been read (or assigned) since backward created it. A gradient nobody read
   * is referenced by this tensor alone, so zeroGrad() may hand its buffer back for reuse.
   */
  private gradSeen = false;

  constructor(buffer: Float32Array, shape: readonly number[], options: TensorOptions = {}) {
    const size = numelOf(shape);
    if (buffer.length !== size) {
      throw new RangeError(`Tensor: data has ${buffer.length} values but shape ${formatShape(shape)} needs ${size}`);
    }
    this.buffer = buffer;
    this.shape = [...shape];
    this.size = size;
    this.requiresGrad = options.requiresGrad ?? false;
  }

  /** Accumulated gradient of a leaf tensor after backward(). */
  get grad(): Tensor | null {
    this.gradSeen = true;
    return this.gradTensor;
  }

  set grad(g: Tensor | null) {
    this.gradTensor = g;
    this.gradSeen = true;
  }

  /**
   * The gradient's values without marking them as handed out, for code that reads them during a
   * call and keeps no reference (optimizer updates). Null when there is no gradient.
   */
  peekGrad(): Float32Array | null {
    return this.gradTensor === null ? null : this.gradTensor.buffer;
  }

  get ndim(): number {
    return this.shape.length;
  }

  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /** A copy of the values. */
  data(): Float32Array {
    return this.buffer.slice();
  }

  /** Nested arrays (for printing and tests). */
  toArray(): unknown {
    const build = (dim: number, offset: number): unknown => {
      if (dim === this.shape.length) return this.buffer[offset];
      const stride = numelOf(this.shape.slice(dim + 1));
      const out: unknown[] = [];
      for (let i = 0; i < this.shape[dim]; i++) out.push(build(dim + 1, offset + i * stride));
      return out;
    };
    return build(0, 0);
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) {
      throw new RangeError(`Tensor.item: expected a tensor with 1 element, got shape ${formatShape(this.shape)}`);
    }
    return this.buffer[0];
  }

  /**
   * Backpropagates from this tensor. Without an argument the tensor must hold one value
   * (d self / d self = 1), as in PyTorch.
   */
  backward(gradient?: Tensor): void {
    if (!this.requiresGrad) {
      throw new Error('Tensor.backward: this tensor does not require grad and has no grad_fn');
    }
    let g: Float32Array;
    if (gradient === undefined) {
      if (this.size !== 1) {
        throw new Error(
          `Tensor.backward: gradient can be implicit only for a tensor with 1 element, got shape ${formatShape(this.shape)}`,
        );
      }
      g = new Float32Array([1]);
    } else {
      checkShape('Tensor.backward', 'gradient', gradient.shape, this.shape);
      // Not copied: the engine never writes into the caller's gradient (see runBackward).
      g = gradient.buffer;
    }
    runBackward(this, g);
  }

  /**
   * Adds g into .grad (leaf accumulation). Called by the backward engine; `owned` says g is a
   * buffer nothing else refers to, which then becomes .grad without a copy.
   */
  accumulateGrad(g: Float32Array, owned = false): void {
    if (this.gradTensor === null) {
      this.gradTensor = new Tensor(owned ? g : cloneFloats(g), this.shape);
      this.gradSeen = false;
    } else {
      const dst = this.gradTensor.buffer;
      for (let i = 0; i < dst.length; i++) dst[i] += g[i];
      if (owned) releaseFloats(g);
    }
  }

  /** A tensor sharing this one's values, outside the graph. */
  detach(): Tensor {
    return new Tensor(this.buffer, this.shape);
  }

  /** A new tensor with copied values that records a gradient (identity rule). */
  clone(): Tensor {
    const out = new Tensor(cloneFloats(this.buffer), this.shape);
    return record(out, 'clone', [this], (g) => [g]);
  }

  /** Sets requiresGrad in place and returns this tensor (for leaves). */
  requiresGrad_(flag = true): this {
    if (!this.isLeaf && !flag) {
      throw new Error('Tensor.requiresGrad_: cannot turn off requiresGrad on a non-leaf tensor; use detach()');
    }
    this.requiresGrad = flag;
    return this;
  }

  /**
   * Clears the accumulated gradient (.grad becomes null, as PyTorch's set_to_none). When .grad
   * was never read since backward made it, its buffer is handed back for the next backward.
   */
  zeroGrad(): void {
    if (this.gradTensor !== null && !this.gradSeen) releaseFloats(this.gradTensor.buffer);
    this.gradTensor = null;
    this.gradSeen = false;
  }

  toString(): string {
    return `Tensor(shape=${formatShape(this.shape)}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }

  // Method forms of the functional ops.
  add(other: Tensor | number): Tensor { return ew.add(this, other); }
  sub(other: Tensor | number): Tensor { return ew.sub(this, other); }
  mul(other: Tensor | number): Tensor { return ew.mul(this, other); }
  div(other: Tensor | number): Tensor { return ew.div(this, other); }
  pow(exponent: number): Tensor { return ew.pow(this, exponent); }
  neg(): Tensor { return ew.neg(this); }
  exp(): Tensor { return ew.exp(this); }
  log(): Tensor { return ew.log(this); }
  sqrt(): Tensor { return ew.sqrt(this); }
  abs(): Tensor { return ew.abs(this); }
  relu(): Tensor { return ew.relu(this); }
  sigmoid(): Tensor { return ew.sigmoid(this); }
  tanh(): Tensor { return ew.tanh(this); }
  clamp(min: number | null, max: number | null): Tensor { return ew.clamp(this, min, max); }
  sum(dims?: number | number[], keepDim = false): Tensor { return red.sum(this, dims, keepDim); }
  mean(dims?: number | number[], keepDim = false): Tensor { return red.mean(this, dims, keepDim); }
  max(dims?: number | number[], keepDim = false): Tensor { return red.max(this, dims, keepDim); }
  min(dims?: number | number[], keepDim = false): Tensor { return red.min(this, dims, keepDim); }
  var(dims?: number | number[], options: { unbiased?: boolean; keepDim?: boolean } = {}): Tensor {
    return red.variance(this, dims, options);
  }
  std(dims?: number | number[], options: { unbiased?: boolean; keepDim?: boolean } = {}): Tensor {
    return red.std(this, dims, options);
  }
  reshape(...shape: (number | number[])[]): Tensor { return shp.reshape(this, shape.flat()); }
  view(...shape: (number | number[])[]): Tensor { return shp.reshape(this, shape.flat()); }
  flatten(startDim = 0, endDim = -1): Tensor { return shp.flatten(this, startDim, endDim); }
  transpose(dim0: number, dim1: number): Tensor { return shp.transpose(this, dim0, dim1); }
  permute(...dims: (number | number[])[]): Tensor { return shp.permute(this, dims.flat()); }
  matmul(other: Tensor): Tensor { return shp.matmul(this, other); }
}
