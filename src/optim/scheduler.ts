// Learning-rate schedulers, stepped once per epoch. Each scales every group's own initial lr,
// so a group with lr/c (seed 001's BN-γ groups) follows the same schedule.
import type { Optimizer } from './optimizer.js';

export interface Scheduler {
  /** Advances one epoch and sets the groups' lr. */
  step(): void;
  /** Epochs stepped so far. */
  readonly epoch: number;
  getLr(): number[];
  /** For resume. */
  setEpoch(epoch: number): void;
}

abstract class EpochScheduler implements Scheduler {
  epoch = 0;
  constructor(protected readonly optimizer: Optimizer<{ lr: number }>) {}

  protected abstract factor(base: number, epoch: number): number;

  step(): void {
    this.setEpoch(this.epoch + 1);
  }

  setEpoch(epoch: number): void {
    this.epoch = epoch;
    for (const g of this.optimizer.groups) g.hp.lr = this.factor(g.initialLr, epoch);
  }

  getLr(): number[] {
    return this.optimizer.groups.map((g) => g.hp.lr);
  }
}

/**
 * Cosine annealing (torch.optim.lr_scheduler.CosineAnnealingLR, closed form):
 * lr_t = etaMin + (lr_0 − etaMin)·(1 + cos(π·t/tMax))/2.
 */
export class CosineAnnealingLR extends EpochScheduler {
  constructor(optimizer: Optimizer<{ lr: number }>, readonly tMax: number, readonly etaMin = 0) {
    super(optimizer);
    if (!Number.isInteger(tMax) || tMax < 1) throw new RangeError(`CosineAnnealingLR: tMax must be an integer >= 1, got ${tMax}`);
  }
  protected factor(base: number, t: number): number {
    return this.etaMin + ((base - this.etaMin) * (1 + Math.cos((Math.PI * t) / this.tMax))) / 2;
  }
}

/** StepLR: lr_t = lr_0 · γ^floor(t / stepSize). */
export class StepLR extends EpochScheduler {
  constructor(optimizer: Optimizer<{ lr: number }>, readonly stepSize: number, readonly gamma = 0.1) {
    super(optimizer);
    if (!Number.isInteger(stepSize) || stepSize < 1) throw new RangeError(`StepLR: stepSize must be an integer >= 1, got ${stepSize}`);
  }
  protected factor(base: number, t: number): number {
    return base * Math.pow(this.gamma, Math.floor(t / this.stepSize));
  }
}

/** A constant learning rate (the 'none' schedule). */
export class ConstantLR extends EpochScheduler {
  protected factor(base: number): number {
    return base;
  }
}
