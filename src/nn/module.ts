// Module: the base of every layer. Holds parameters, buffers (non-trained state such as
// running statistics) and child modules under names, so that namedParameters() and stateDict()
// produce PyTorch's dotted names (e.g. "layer1.0.bn1.running_mean").
import { Tensor } from '../tensor/tensor.js';
import { formatShape, sameShape } from '../tensor/shape.js';
import { backendFor, backendOn, checkDevice, getDefaultDevice, type Device } from '../backend/index.js';

/**
 * A trainable tensor (requiresGrad is on); shares the storage of the tensor it is made from.
 * From host values it lives on the default device (setDefaultDevice), as PyTorch's layers do.
 */
export class Parameter extends Tensor {
  constructor(data: Tensor | Float32Array, shape?: readonly number[]) {
    if (data instanceof Tensor) super(data.storage, data.shape, { requiresGrad: true });
    else {
      const device = getDefaultDevice();
      super(device === 'cpu' ? data : backendOn(device, 'Parameter').upload(data), shape ?? [data.length], { requiresGrad: true });
    }
  }
}

export type ForwardHook = (module: Module, inputs: Tensor[], output: Tensor) => void;

export abstract class Module {
  training = true;
  private readonly _params = new Map<string, Parameter | null>();
  private readonly _buffers = new Map<string, Tensor | null>();
  private readonly _modules = new Map<string, Module>();
  private readonly _hooks = new Map<number, ForwardHook>();
  private static hookId = 0;

  abstract forward(...inputs: Tensor[]): Tensor;

  /** Runs forward and the registered forward hooks (use this, not forward, to get hooks). */
  call(...inputs: Tensor[]): Tensor {
    const out = this.forward(...inputs);
    for (const hook of this._hooks.values()) hook(this, inputs, out);
    return out;
  }

  /** Registers a hook called after every call(); returns a function that removes it. */
  registerForwardHook(hook: ForwardHook): () => void {
    const id = Module.hookId++;
    this._hooks.set(id, hook);
    return () => {
      this._hooks.delete(id);
    };
  }

  protected registerParameter(name: string, p: Parameter | null): Parameter | null {
    this._params.set(name, p);
    return p;
  }

  protected registerBuffer(name: string, t: Tensor | null): Tensor | null {
    this._buffers.set(name, t);
    return t;
  }

  registerModule<M extends Module>(name: string, m: M): M {
    this._modules.set(name, m);
    return m;
  }

  /** Replaces a registered parameter (used by weightNorm and loaders). */
  setParameter(name: string, p: Parameter | null): void {
    if (!this._params.has(name)) throw new Error(`${this.constructor.name}.setParameter: no parameter named '${name}'`);
    this._params.set(name, p);
  }

  removeParameter(name: string): void {
    this._params.delete(name);
  }

  removeBuffer(name: string): void {
    this._buffers.delete(name);
  }

  getParameter(name: string): Parameter | null {
    return this._params.get(name) ?? null;
  }

  getBuffer(name: string): Tensor | null {
    return this._buffers.get(name) ?? null;
  }

  setBuffer(name: string, t: Tensor | null): void {
    if (!this._buffers.has(name)) throw new Error(`${this.constructor.name}.setBuffer: no buffer named '${name}'`);
    this._buffers.set(name, t);
  }

  children(): Module[] {
    return [...this._modules.values()];
  }

  namedChildren(): [string, Module][] {
    return [...this._modules.entries()];
  }

  /** Every module in the tree with its dotted name ('' for this one), depth first. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, m] of this._modules) out.push(...m.namedModules(prefix === '' ? name : `${prefix}.${name}`));
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const seen = new Set<Parameter>();
    for (const [mname, m] of this.namedModules(prefix)) {
      for (const [pname, p] of m._params) {
        if (p === null || seen.has(p)) continue;
        seen.add(p);
        out.push([mname === '' ? pname : `${mname}.${pname}`, p]);
      }
    }
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [mname, m] of this.namedModules(prefix)) {
      for (const [bname, b] of m._buffers) {
        if (b === null) continue;
        out.push([mname === '' ? bname : `${mname}.${bname}`, b]);
      }
    }
    return out;
  }

  /** Parameters and buffers by PyTorch state-dict name (values are shared, not copied). */
  stateDict(): Record<string, Tensor> {
    const sd: Record<string, Tensor> = {};
    for (const [mname, m] of this.namedModules()) {
      const pre = mname === '' ? '' : `${mname}.`;
      for (const [pname, p] of m._params) if (p !== null) sd[pre + pname] = p;
      for (const [bname, b] of m._buffers) if (b !== null) sd[pre + bname] = b;
    }
    return sd;
  }

  /**
   * Copies values from a state dict. With strict (default) every key must match; all
   * mismatches are reported in one error, each with the closest expected name.
   */
  loadStateDict(sd: Record<string, Tensor>, strict = true): void {
    const own = this.stateDict();
    const problems: string[] = [];
    const ownKeys = Object.keys(own);
    for (const [k, v] of Object.entries(sd)) {
      const target = own[k];
      if (target === undefined) {
        if (strict) problems.push(`unexpected key '${k}'${closest(k, ownKeys)}`);
        continue;
      }
      if (!sameShape(target.shape, v.shape)) {
        problems.push(`'${k}': shape ${formatShape(v.shape)} does not match the model's ${formatShape(target.shape)}`);
        continue;
      }
    }
    if (strict) for (const k of ownKeys) if (!(k in sd)) problems.push(`missing key '${k}'${closest(k, Object.keys(sd))}`);
    if (problems.length > 0) throw new Error(`${this.constructor.name}.loadStateDict: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
    for (const [k, v] of Object.entries(sd)) {
      const target = own[k];
      if (target === undefined) continue;
      const be = backendFor(`${this.constructor.name}.loadStateDict`, target);
      if (v.device === target.device) be.copy(v.storage, target.storage);
      else {
        // Values from another device pass through one upload (Tensor.to), then go into the target's storage.
        const moved = v.to(target.device);
        be.copy(moved.storage, target.storage);
        moved.dispose();
      }
    }
  }

  /**
   * Moves every parameter and buffer (and their gradients) to `device` in place, as PyTorch's
   * module.to(device); optimizers and references to the parameters stay valid. From the CPU this
   * completes synchronously; from another device use `await toAsync(device)`. Returns this.
   */
  to(device: Device): this {
    checkDevice(`${this.constructor.name}.to`, 'device', device);
    for (const t of this.tensorsToMove()) t.moveToSync_(device);
    return this;
  }

  /** As to(), from any device. */
  async toAsync(device: Device): Promise<this> {
    checkDevice(`${this.constructor.name}.toAsync`, 'device', device);
    for (const t of this.tensorsToMove()) await t.moveTo_(device);
    return this;
  }

  /** The device of the parameters and buffers ('cpu' for a module without any). */
  get device(): Device {
    const first = this.tensorsToMove()[0];
    return first === undefined ? 'cpu' : first.device;
  }

  /** Every distinct parameter and buffer of the tree. */
  private tensorsToMove(): Tensor[] {
    const out = new Set<Tensor>(this.parameters());
    for (const [, b] of this.namedBuffers()) out.add(b);
    return [...out];
  }

  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /**
   * Every normalization layer with running statistics in this tree normalizes with them and
   * stops updating them, in training mode too, while its weight and bias (and the rest of the
   * model) keep training; survives train()/eval(). Layers without running statistics are
   * unaffected. Returns this.
   */
  freezeNormStats(frozen = true): this {
    for (const m of this.modules()) if ('statsFrozen' in m) (m as { statsFrozen: boolean }).statsFrozen = frozen;
    return this;
  }

  /** Undoes freezeNormStats. */
  unfreezeNormStats(): this {
    return this.freezeNormStats(false);
  }

  /**
   * Replaces the child registered as `name` by `m`, in the registry and in every own field or
   * array of this module that held the old child (a model's `bn1`, a Sequential's layers).
   */
  replaceChild(name: string, m: Module): void {
    const old = this._modules.get(name);
    if (old === undefined) throw new Error(`${this.constructor.name}.replaceChild: no child module named '${name}'`);
    this._modules.set(name, m);
    const self = this as unknown as Record<string, unknown>;
    for (const key of Object.keys(self)) {
      const v = self[key];
      if (v === old) self[key] = m;
      else if (Array.isArray(v)) for (let i = 0; i < v.length; i++) if (v[i] === old) v[i] = m;
    }
  }

  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  /** Number of trainable values. */
  numParameters(): number {
    return this.parameters().reduce((a, p) => a + p.size, 0);
  }
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length];
}

function closest(name: string, candidates: string[]): string {
  let best = '';
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best === '' ? '' : ` (closest: '${best}')`;
}
