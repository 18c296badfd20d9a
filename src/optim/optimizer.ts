// Optimizer base: parameter groups with per-group hyper-parameters, per-parameter state, and a
// serialisable state (for checkpoints and --resume). Parameters without a gradient are skipped,
// as in torch.optim.
import type { Tensor } from '../tensor/tensor.js';
import { backendOn, type Backend, type Storage } from '../backend/index.js';

export interface ParamGroup<H> {
  params: Tensor[];
  /** Hyper-parameters of this group (lr, weightDecay, ...). */
  hp: H;
  /** The lr the group started with (schedulers scale from it). */
  initialLr: number;
}

/** A group as a user passes it: parameters plus any hyper-parameter overrides. */
export type GroupSpec<H> = { params: Tensor[] } & Partial<H>;

export interface OptimizerState {
  kind: string;
  step: number;
  groups: { lr: number; initialLr: number }[];
  /** Per parameter (in group order), named state buffers (host copies). */
  buffers: Record<string, Float32Array | number[] | null>[];
  /** Per parameter (in group order), update count. */
  counts: number[];
}

export abstract class Optimizer<H extends { lr: number }> {
  readonly groups: ParamGroup<H>[];
  /** Number of step() calls so far. */
  stepCount = 0;
  /** Per parameter, named state buffers (momentum, exp_avg, ...) on the parameter's device. */
  protected state = new Map<Tensor, Record<string, Storage>>();
  /** Per-parameter update counts (torch's state['step']). */
  protected counts = new Map<Tensor, number>();

  protected constructor(
    readonly kind: string,
    params: Tensor[] | GroupSpec<H>[],
    defaults: H,
  ) {
    if (!Array.isArray(params) || params.length === 0) {
      throw new RangeError(`${kind}: params must be a non-empty array of tensors or parameter groups`);
    }
    const specs: GroupSpec<H>[] = isGroupList(params) ? params : [{ params } as GroupSpec<H>];
    const seen = new Set<Tensor>();
    this.groups = specs.map((spec, gi) => {
      const { params: ps, ...overrides } = spec;
      for (const p of ps) {
        if (seen.has(p)) throw new RangeError(`${kind}: a parameter appears in more than one group (group ${gi})`);
        seen.add(p);
      }
      const hp = { ...defaults, ...(overrides as unknown as Partial<H>) } as H;
      this.validate(hp, gi);
      return { params: ps, hp, initialLr: hp.lr };
    });
  }

  /** Throws a RangeError naming the optimizer and the bad hyper-parameter. */
  protected abstract validate(hp: H, group: number): void;

  /** Applies one update to every parameter with a gradient. */
  step(): void {
    this.stepCount++;
    for (const g of this.groups) {
      for (const p of g.params) {
        const grad = p.peekGrad();
        if (grad === null) continue;
        if (grad.device !== p.device) {
          throw new Error(`${this.kind}.step: a parameter is on device '${p.device}' but its gradient is on '${grad.device}'`);
        }
        this.update(p, grad, g.hp);
      }
    }
  }

  /** Updates p (and its state) in place from its gradient, on p's device. */
  protected abstract update(p: Tensor, grad: Storage, hp: H): void;

  /** The backend of p's device. */
  protected backendOf(p: Tensor): Backend {
    return backendOn(p.device, `${this.kind}.step`);
  }

  /** Sets every parameter's gradient to null (PyTorch's set_to_none=True default in 2.x). */
  zeroGrad(): void {
    for (const g of this.groups) for (const p of g.params) p.zeroGrad();
  }

  /** p's state buffer `name`: zeros on p's device when first asked for. */
  protected stateBuffer(p: Tensor, name: string): Storage {
    let s = this.state.get(p);
    if (s === undefined) {
      s = {};
      this.state.set(p, s);
    }
    let b = s[name];
    if (b === undefined) {
      b = this.backendOf(p).zeros(p.size);
      s[name] = b;
    } else if (b.device !== p.device) {
      throw new Error(
        `${this.kind}.step: state buffer '${name}' is on device '${b.device}' but its parameter is on '${p.device}'; ` +
          'move the model before creating the optimizer, or load the state with loadStateDict after moving it',
      );
    }
    return b;
  }

  /** Increments and returns the update count of p. */
  protected countStep(p: Tensor): number {
    const n = (this.counts.get(p) ?? 0) + 1;
    this.counts.set(p, n);
    return n;
  }

  protected hasBuffer(p: Tensor, name: string): boolean {
    return this.state.get(p)?.[name] !== undefined;
  }

  /**
   * A JSON-serialisable copy of the optimizer state, with each buffer as a Float32Array. Reads the
   * buffers synchronously, so every parameter must be on 'cpu'; stateDictAsync() reads any device.
   */
  stateDict(): OptimizerState {
    return this.collectState((name, b) => {
      if (b.device !== 'cpu') {
        throw new Error(`${this.kind}.stateDict: state buffer '${name}' is on device '${b.device}', which cannot be read synchronously; use 'await optimizer.stateDictAsync()'`);
      }
      return backendOn('cpu').downloadSync(b);
    });
  }

  /** stateDict() for parameters on any device: waits for each buffer's values. */
  async stateDictAsync(): Promise<OptimizerState> {
    const sd = this.collectState(() => null);
    const reads: Promise<void>[] = [];
    this.groups.flatMap((g) => g.params).forEach((p, i) => {
      for (const [k, b] of Object.entries(this.state.get(p) ?? {})) {
        reads.push(backendOn(b.device, `${this.kind}.stateDictAsync`).download(b).then((v) => void (sd.buffers[i][k] = v)));
      }
    });
    await Promise.all(reads);
    return sd;
  }

  /** The state, each buffer's entry given by `read` (null: filled in by the caller). */
  private collectState(read: (name: string, b: Storage) => Float32Array | null): OptimizerState {
    const buffers: Record<string, Float32Array | number[] | null>[] = [];
    for (const g of this.groups) {
      for (const p of g.params) {
        const entry: Record<string, Float32Array | number[] | null> = {};
        for (const [k, b] of Object.entries(this.state.get(p) ?? {})) entry[k] = read(k, b);
        buffers.push(entry);
      }
    }
    const counts = this.groups.flatMap((g) => g.params.map((p) => this.counts.get(p) ?? 0));
    return { kind: this.kind, step: this.stepCount, groups: this.groups.map((g) => ({ lr: g.hp.lr, initialLr: g.initialLr })), buffers, counts };
  }

  loadStateDict(sd: OptimizerState): void {
    if (sd.kind !== this.kind) throw new Error(`${this.kind}.loadStateDict: state was saved by ${sd.kind}`);
    if (sd.groups.length !== this.groups.length) {
      throw new Error(`${this.kind}.loadStateDict: state has ${sd.groups.length} groups, optimizer has ${this.groups.length}`);
    }
    const params = this.groups.flatMap((g) => g.params);
    if (sd.buffers.length !== params.length) {
      throw new Error(`${this.kind}.loadStateDict: state has ${sd.buffers.length} parameters, optimizer has ${params.length}`);
    }
    this.stepCount = sd.step;
    sd.groups.forEach((g, i) => {
      this.groups[i].hp.lr = g.lr;
      this.groups[i].initialLr = g.initialLr;
    });
    params.forEach((p, i) => {
      for (const [k, v] of Object.entries(sd.buffers[i])) {
        if (v !== null && v.length !== p.size) throw new Error(`${this.kind}.loadStateDict: buffer '${k}' of parameter ${i} has ${v.length} values, expected ${p.size}`);
      }
    });
    for (const s of this.state.values()) for (const b of Object.values(s)) backendOn(b.device, `${this.kind}.loadStateDict`).release(b);
    this.state.clear();
    this.counts.clear();
    params.forEach((p, i) => {
      if (sd.counts[i] > 0) this.counts.set(p, sd.counts[i]);
      const be = backendOn(p.device, `${this.kind}.loadStateDict`);
      const entry: Record<string, Storage> = {};
      for (const [k, v] of Object.entries(sd.buffers[i])) {
        if (v === null) continue;
        // Checkpoints hold host values (Float32Array, or number[] once through JSON): uploaded here.
        entry[k] = be.upload(v instanceof Float32Array ? v : Float32Array.from(v));
      }
      if (Object.keys(entry).length > 0) this.state.set(p, entry);
    });
  }
}

function isGroupList<H>(params: Tensor[] | GroupSpec<H>[]): params is GroupSpec<H>[] {
  const first = params[0] as unknown as { params?: unknown };
  return first !== undefined && Array.isArray(first.params);
}

export function checkNonNegative(kind: string, name: string, v: number, group: number): void {
  if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`${kind}: ${name} must be a finite number >= 0, got ${v} (group ${group})`);
}

export function checkUnitInterval(kind: string, name: string, v: number, group: number): void {
  if (!(v >= 0 && v < 1)) throw new RangeError(`${kind}: ${name} must be in [0, 1), got ${v} (group ${group})`);
}
