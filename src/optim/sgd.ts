// SGD with momentum, dampening, Nesterov and (L2) weight decay, as torch.optim.SGD:
//   d = g + wd·p;  buf = d on the first step, else momentum·buf + (1 − dampening)·d;
//   d = nesterov ? d + momentum·buf : buf;  p −= lr·d.
import type { Storage } from '../backend/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, checkNonNegative, type GroupSpec } from './optimizer.js';

export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Tensor[] | GroupSpec<SGDOptions>[], options: Partial<SGDOptions> & { lr: number }) {
    super('SGD', params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...options });
  }

  protected validate(hp: SGDOptions, g: number): void {
    checkNonNegative('SGD', 'lr', hp.lr, g);
    checkNonNegative('SGD', 'momentum', hp.momentum, g);
    checkNonNegative('SGD', 'weightDecay', hp.weightDecay, g);
    if (hp.nesterov && (hp.momentum <= 0 || hp.dampening !== 0)) {
      throw new RangeError(`SGD: nesterov needs momentum > 0 and dampening 0, got momentum ${hp.momentum}, dampening ${hp.dampening} (group ${g})`);
    }
  }

  protected update(p: Tensor, grad: Storage, hp: SGDOptions): void {
    const firstStep = hp.momentum !== 0 && !this.hasBuffer(p, 'momentum_buffer');
    const buf = hp.momentum !== 0 ? this.stateBuffer(p, 'momentum_buffer') : null;
    this.backendOf(p).sgdStep({
      p: p.storage, g: grad, buf, lr: hp.lr, momentum: hp.momentum, dampening: hp.dampening, weightDecay: hp.weightDecay, nesterov: hp.nesterov, firstStep,
    });
  }
}
