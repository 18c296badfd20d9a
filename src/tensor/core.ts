// Tensor: float32, contiguous, row-major (NCHW for images). A tensor is a shape over a storage
// handle that a Backend owns (src/backend/storage.ts) and may share with other tensors (reshape
// and leading-dimension slices are views, never copies). Gradients and the autograd node live on
// the tensor. Host values come out at one place: data()/item() (CPU, synchronous) and
// read()/itemAsync() (any device).
//
// This module is the class alone, which the elementwise, reduce and shape ops build on. Its method
// forms (x.add(y), x.sum(), ...) call those ops through a table that tensor/tensor.ts installs:
// everything else imports Tensor from there, so every tensor has its methods, and the ops never
// import a module that imports them.
import { record, runBackward, type Node } from '../autograd/graph.js';
import { numelOf, formatShape, checkShape } from './shape.js';
import { backendOn, checkDevice, type Device, type Storage } from '../backend/index.js';
import { hostArray, hostStorage } from '../backend/cpu/storage.js';

export interface TensorOptions {
  requiresGrad?: boolean;
  /** Where creation functions put the values (default: getDefaultDevice()); the constructor ignores it. */
  device?: Device;
}

/** Options of var() and std(). */
export interface VarianceOptions {
  unbiased?: boolean;
  keepDim?: boolean;
}

/** The functional ops behind the method forms, with the functional signatures. */
export interface TensorMethodOps {
  add(a: Tensor, b: Tensor | number): Tensor;
  sub(a: Tensor, b: Tensor | number): Tensor;
  mul(a: Tensor, b: Tensor | number): Tensor;
  div(a: Tensor, b: Tensor | number): Tensor;
  pow(x: Tensor, exponent: number): Tensor;
  neg(x: Tensor): Tensor;
  exp(x: Tensor): Tensor;
  log(x: Tensor): Tensor;
  sqrt(x: Tensor): Tensor;
  abs(x: Tensor): Tensor;
  relu(x: Tensor): Tensor;
  sigmoid(x: Tensor): Tensor;
  tanh(x: Tensor): Tensor;
  clamp(x: Tensor, min: number | null, max: number | null): Tensor;
  sum(x: Tensor, dims?: number | number[], keepDim?: boolean): Tensor;
  mean(x: Tensor, dims?: number | number[], keepDim?: boolean): Tensor;
  max(x: Tensor, dims?: number | number[], keepDim?: boolean): Tensor;
  min(x: Tensor, dims?: number | number[], keepDim?: boolean): Tensor;
  variance(x: Tensor, dims?: number | number[], options?: VarianceOptions): Tensor;
  std(x: Tensor, dims?: number | number[], options?: VarianceOptions): Tensor;
  reshape(x: Tensor, shape: number[]): Tensor;
  flatten(x: Tensor, startDim?: number, endDim?: number): Tensor;
  transpose(x: Tensor, dim0: number, dim1: number): Tensor;
  permute(x: Tensor, dims: number[]): Tensor;
  matmul(a: Tensor, b: Tensor): Tensor;
}

let methodOps: TensorMethodOps | null = null;

/** Installs the ops behind the method forms (tensor/tensor.ts does, once, when it loads). */
export function installTensorMethods(ops: TensorMethodOps): void {
  methodOps = ops;
}

function ops(method: string): TensorMethodOps {
  if (methodOps === null) {
    throw new Error(`Tensor.${method}: the ops behind the tensor methods are not loaded; import Tensor from 'normlab' or src/tensor/tensor.js, not src/tensor/core.js`);
  }
  return methodOps;
}

export class Tensor {
  private _storage: Storage;
  readonly shape: number[];
  readonly size: number;
  requiresGrad: boolean;
  /** The node that produced this tensor (null for leaves and for tensors made under noGrad). */
  gradFn: Node | null = null;
  private gradTensor: Tensor | null = null;
  /**
   * Whether .grad has been read (or assigned) since backward created it. A gradient nobody read
   * is referenced by this tensor alone, so zeroGrad() may hand its memory back for reuse.
   */
  private gradSeen = false;

  /**
   * A tensor over `data`: a storage handle, or a Float32Array used as CPU storage without a copy.
   */
  constructor(data: Storage | Float32Array, shape: readonly number[], options: TensorOptions = {}) {
    const size = numelOf(shape);
    const storage = data instanceof Float32Array ? hostStorage(data) : data;
    if (storage.length !== size) {
      throw new RangeError(`Tensor: data has ${storage.length} values but shape ${formatShape(shape)} needs ${size}`);
    }
    this._storage = storage;
    this.shape = [...shape];
    this.size = size;
    this.requiresGrad = options.requiresGrad ?? false;
  }

  /** The storage handle (owned by the backend of `device`). */
  get storage(): Storage {
    return this._storage;
  }

  /** The device the values live on ('cpu', 'webgpu'). */
  get device(): Device {
    return this._storage.device;
  }

  /**
   * The values of a CPU tensor in place (no copy; writes change the tensor). Throws for a tensor
   * on another device: use `await read()` there.
   */
  get buffer(): Float32Array {
    if (this._storage.device !== 'cpu') throw new Error(this.offDevice('Tensor.buffer', 'read()'));
    return hostArray(this._storage, 'Tensor.buffer');
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
  peekGrad(): Storage | null {
    return this.gradTensor === null ? null : this.gradTensor._storage;
  }

  get ndim(): number {
    return this.shape.length;
  }

  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /** A copy of the values, synchronously: CPU tensors only (elsewhere use `await read()`). */
  data(): Float32Array {
    if (this._storage.device !== 'cpu') throw new Error(this.offDevice('Tensor.data', 'read()'));
    return backendOn('cpu').downloadSync(this._storage);
  }

  /** A copy of the values on the host, from any device. */
  read(): Promise<Float32Array> {
    return backendOn(this._storage.device, 'Tensor.read').download(this._storage);
  }

  /** Nested arrays (for printing and tests); CPU tensors only. */
  toArray(): unknown {
    const values = this.data();
    const build = (dim: number, offset: number): unknown => {
      if (dim === this.shape.length) return values[offset];
      const stride = numelOf(this.shape.slice(dim + 1));
      const out: unknown[] = [];
      for (let i = 0; i < this.shape[dim]; i++) out.push(build(dim + 1, offset + i * stride));
      return out;
    };
    return build(0, 0);
  }

  /** The single value of a one-element tensor, synchronously: CPU tensors only (elsewhere `await itemAsync()`). */
  item(): number {
    this.checkOneValue('Tensor.item');
    if (this._storage.device !== 'cpu') throw new Error(this.offDevice('Tensor.item', 'itemAsync()'));
    return hostArray(this._storage, 'Tensor.item')[0];
  }

  /** The single value of a one-element tensor, from any device. */
  async itemAsync(): Promise<number> {
    this.checkOneValue('Tensor.itemAsync');
    return (await this.read())[0];
  }

  private checkOneValue(fn: string): void {
    if (this.size !== 1) {
      throw new RangeError(`${fn}: expected a tensor with 1 element, got shape ${formatShape(this.shape)}`);
    }
  }

  private offDevice(fn: string, asyncForm: string): string {
    return `${fn}: the tensor is on device '${this._storage.device}', whose values cannot be read synchronously; use 'await x.${asyncForm}' (or x.to('cpu') after reading)`;
  }

  /**
   * This tensor on `device`: itself when it is there already, else a copy there (a new leaf with
   * the same requiresGrad; move inputs and models before building a graph). Synchronous when the
   * values can be read synchronously (from the CPU); from another device use `await toAsync()`.
   */
  to(device: Device): Tensor {
    checkDevice('Tensor.to', 'device', device);
    if (device === this._storage.device) return this;
    const target = backendOn(device, 'Tensor.to');
    if (this._storage.device !== 'cpu') throw new Error(this.offDevice('Tensor.to', `toAsync('${device}')`));
    const host = hostArray(this._storage, 'Tensor.to');
    return new Tensor(target.upload(host), this.shape, { requiresGrad: this.requiresGrad });
  }

  /** As to(), from any device. */
  async toAsync(device: Device): Promise<Tensor> {
    checkDevice('Tensor.toAsync', 'device', device);
    if (device === this._storage.device) return this;
    const target = backendOn(device, 'Tensor.toAsync');
    const host = await this.read();
    return new Tensor(target.upload(host), this.shape, { requiresGrad: this.requiresGrad });
  }

  /**
   * Moves this tensor's values (and its .grad) to `device` in place, releasing the old memory:
   * what module.to() does to parameters and buffers. Other tensors sharing the old storage
   * (detach(), views) cannot be used afterwards.
   */
  async moveTo_(device: Device): Promise<this> {
    checkDevice('Tensor.moveTo_', 'device', device);
    if (device === this._storage.device) return this;
    const target = backendOn(device, 'Tensor.moveTo_');
    const source = backendOn(this._storage.device, 'Tensor.moveTo_');
    const values = await source.download(this._storage);
    const moved = target.upload(values);
    if (this._storage.whole) source.release(this._storage);
    this._storage = moved;
    if (this.gradTensor !== null) await this.gradTensor.moveTo_(device);
    return this;
  }

  /** As moveTo_, synchronously: only from a device that can be read synchronously (the CPU). */
  moveToSync_(device: Device): this {
    checkDevice('Tensor.moveToSync_', 'device', device);
    if (device === this._storage.device) return this;
    const target = backendOn(device, 'Tensor.moveToSync_');
    if (this._storage.device !== 'cpu') throw new Error(this.offDevice('Tensor.moveToSync_', `moveTo_('${device}')`));
    const source = backendOn('cpu');
    const moved = target.upload(hostArray(this._storage, 'Tensor.moveToSync_'));
    if (this._storage.whole) source.release(this._storage);
    this._storage = moved;
    if (this.gradTensor !== null) this.gradTensor.moveToSync_(device);
    return this;
  }

  /**
   * Hands the memory back to its backend now instead of when the garbage collector finds it
   * (as TF.js's dispose). The tensor, and every view or detach() of it, cannot be used again.
   */
  dispose(): void {
    if (this._storage.released) return;
    backendOn(this._storage.device, 'Tensor.dispose').release(this._storage);
    if (this.gradTensor !== null) this.gradTensor.dispose();
    this.gradTensor = null;
  }

  /**
   * Backpropagates from this tensor. Without an argument the tensor must hold one value
   * (d self / d self = 1), as in PyTorch.
   */
  backward(gradient?: Tensor): void {
    if (!this.requiresGrad) {
      throw new Error('Tensor.backward: this tensor does not require grad and has no grad_fn');
    }
    const be = backendOn(this._storage.device, 'Tensor.backward');
    let g: Storage;
    if (gradient === undefined) {
      if (this.size !== 1) {
        throw new Error(
          `Tensor.backward: gradient can be implicit only for a tensor with 1 element, got shape ${formatShape(this.shape)}`,
        );
      }
      g = be.full(1, 1);
    } else {
      checkShape('Tensor.backward', 'gradient', gradient.shape, this.shape);
      if (gradient.device !== this.device) {
        throw new Error(`Tensor.backward: gradient is on device '${gradient.device}' but the tensor is on '${this.device}'`);
      }
      // Not copied: the engine never writes into the caller's gradient (see runBackward).
      g = gradient._storage;
    }
    runBackward(this, g);
  }

  /**
   * Adds g into .grad (leaf accumulation). Called by the backward engine; `owned` says g is
   * storage nothing else refers to, which then becomes .grad without a copy.
   */
  accumulateGrad(g: Storage, owned = false): void {
    const be = backendOn(this._storage.device, 'Tensor.accumulateGrad');
    if (this.gradTensor === null) {
      let s = g;
      if (!owned) {
        s = be.empty(g.length);
        be.copy(g, s);
      }
      this.gradTensor = new Tensor(s, this.shape);
      this.gradSeen = false;
    } else {
      be.accumulate(this.gradTensor._storage, g);
      if (owned) be.release(g);
    }
  }

  /** A tensor sharing this one's values, outside the graph. */
  detach(): Tensor {
    return new Tensor(this._storage, this.shape);
  }

  /** A new tensor with copied values that records a gradient (identity rule). */
  clone(): Tensor {
    const be = backendOn(this._storage.device, 'Tensor.clone');
    const copy = be.empty(this.size);
    be.copy(this._storage, copy);
    const out = new Tensor(copy, this.shape);
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
    if (this.gradTensor !== null && !this.gradSeen) backendOn(this.gradTensor.device, 'Tensor.zeroGrad').release(this.gradTensor._storage);
    this.gradTensor = null;
    this.gradSeen = false;
  }

  toString(): string {
    const device = this._storage.device === 'cpu' ? '' : `, device='${this._storage.device}'`;
    return `Tensor(shape=${formatShape(this.shape)}${device}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }

  // Method forms of the functional ops.
  add(other: Tensor | number): Tensor { return ops('add').add(this, other); }
  sub(other: Tensor | number): Tensor { return ops('sub').sub(this, other); }
  mul(other: Tensor | number): Tensor { return ops('mul').mul(this, other); }
  div(other: Tensor | number): Tensor { return ops('div').div(this, other); }
  pow(exponent: number): Tensor { return ops('pow').pow(this, exponent); }
  neg(): Tensor { return ops('neg').neg(this); }
  exp(): Tensor { return ops('exp').exp(this); }
  log(): Tensor { return ops('log').log(this); }
  sqrt(): Tensor { return ops('sqrt').sqrt(this); }
  abs(): Tensor { return ops('abs').abs(this); }
  relu(): Tensor { return ops('relu').relu(this); }
  sigmoid(): Tensor { return ops('sigmoid').sigmoid(this); }
  tanh(): Tensor { return ops('tanh').tanh(this); }
  clamp(min: number | null, max: number | null): Tensor { return ops('clamp').clamp(this, min, max); }
  sum(dims?: number | number[], keepDim = false): Tensor { return ops('sum').sum(this, dims, keepDim); }
  mean(dims?: number | number[], keepDim = false): Tensor { return ops('mean').mean(this, dims, keepDim); }
  max(dims?: number | number[], keepDim = false): Tensor { return ops('max').max(this, dims, keepDim); }
  min(dims?: number | number[], keepDim = false): Tensor { return ops('min').min(this, dims, keepDim); }
  var(dims?: number | number[], options: VarianceOptions = {}): Tensor { return ops('var').variance(this, dims, options); }
  std(dims?: number | number[], options: VarianceOptions = {}): Tensor { return ops('std').std(this, dims, options); }
  reshape(...shape: (number | number[])[]): Tensor { return ops('reshape').reshape(this, shape.flat()); }
  view(...shape: (number | number[])[]): Tensor { return ops('view').reshape(this, shape.flat()); }
  flatten(startDim = 0, endDim = -1): Tensor { return ops('flatten').flatten(this, startDim, endDim); }
  transpose(dim0: number, dim1: number): Tensor { return ops('transpose').transpose(this, dim0, dim1); }
  permute(...dims: (number | number[])[]): Tensor { return ops('permute').permute(this, dims.flat()); }
  matmul(other: Tensor): Tensor { return ops('matmul').matmul(this, other); }
}
