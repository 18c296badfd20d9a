// Adam (L2 weight decay added to the gradient) and AdamW (decoupled decay p ·= 1 − lr·wd),
// as torch.optim.Adam / AdamW 1.13 without amsgrad:
//   m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²;
//   p −= lr/(1 − β1^t) · m / (sqrt(v)/sqrt(1 − β2^t) + eps).
import type { Storage } from '../backend/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, checkNonNegative, checkUnitInterval, type GroupSpec } from './optimizer.js';

export interface AdamOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

abstract class AdamBase extends Optimizer<AdamOptions> {
  protected abstract readonly decoupled: boolean;

  protected validate(hp: AdamOptions, g: number): void {
    checkNonNegative(this.kind, 'lr', hp.lr, g);
    checkUnitInterval(this.kind, 'betas[0]', hp.betas[0], g);
    checkUnitInterval(this.kind, 'betas[1]', hp.betas[1], g);
    checkNonNegative(this.kind, 'eps', hp.eps, g);
    checkNonNegative(this.kind, 'weightDecay', hp.weightDecay, g);
  }

  protected update(p: Tensor, grad: Storage, hp: AdamOptions): void {
    const m = this.stateBuffer(p, 'exp_avg');
    const v = this.stateBuffer(p, 'exp_avg_sq');
    const step = this.countStep(p);
    this.backendOf(p).adamStep({
      p: p.storage, g: grad, m, v, lr: hp.lr, beta1: hp.betas[0], beta2: hp.betas[1], eps: hp.eps, weightDecay: hp.weightDecay, step, decoupled: this.decoupled,
    });
  }
}

export class Adam extends AdamBase {
  protected readonly decoupled = false;
  constructor(params: Tensor[] | GroupSpec<AdamOptions>[], options: Partial<AdamOptions> = {}) {
    super('Adam', params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, ...options });
  }
}

export class AdamW extends AdamBase {
  protected readonly decoupled = true;
  constructor(params: Tensor[] | GroupSpec<AdamOptions>[], options: Partial<AdamOptions> = {}) {
    super('AdamW', params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, ...options });
  }
}
