// RMSprop as torch.optim.RMSprop 1.13:
//   g += wd·p;  sq = α·sq + (1 − α)·g²;  avg = sqrt(sq [− ga²  if centered]) + eps;
//   momentum > 0: buf = μ·buf + g/avg, p −= lr·buf;  else p −= lr·g/avg.
// Keras' RMSprop (rho 0.9, epsilon 1e-7, lr 0.001) has the same update: `RMSprop.kerasDefaults`.
import type { Storage } from '../backend/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, checkNonNegative, checkUnitInterval, type GroupSpec } from './optimizer.js';

export interface RMSpropOptions {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
}

export class RMSprop extends Optimizer<RMSpropOptions> {
  /** Keras 2 defaults: learning_rate 0.001, rho 0.9, epsilon 1e-7. */
  static readonly kerasDefaults: Partial<RMSpropOptions> = { lr: 1e-3, alpha: 0.9, eps: 1e-7 };

  constructor(params: Tensor[] | GroupSpec<RMSpropOptions>[], options: Partial<RMSpropOptions> = {}) {
    super('RMSprop', params, { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, ...options });
  }

  protected validate(hp: RMSpropOptions, g: number): void {
    checkNonNegative('RMSprop', 'lr', hp.lr, g);
    checkUnitInterval('RMSprop', 'alpha', hp.alpha, g);
    checkNonNegative('RMSprop', 'eps', hp.eps, g);
    checkNonNegative('RMSprop', 'weightDecay', hp.weightDecay, g);
    checkNonNegative('RMSprop', 'momentum', hp.momentum, g);
  }

  protected update(p: Tensor, grad: Storage, hp: RMSpropOptions): void {
    this.countStep(p);
    const sq = this.stateBuffer(p, 'square_avg');
    const buf = hp.momentum > 0 ? this.stateBuffer(p, 'momentum_buffer') : null;
    const gAvg = hp.centered ? this.stateBuffer(p, 'grad_avg') : null;
    this.backendOf(p).rmspropStep({
      p: p.storage, g: grad, sq, buf, gAvg, lr: hp.lr, alpha: hp.alpha, eps: hp.eps, weightDecay: hp.weightDecay, momentum: hp.momentum, centered: hp.centered,
    });
  }
}
