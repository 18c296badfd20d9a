// LazyBatchNorm1d / 2d / 3d (PyTorch): BatchNorm whose channel count is taken from the first
// input. Until then weight, bias and the running buffers hold one value each (PyTorch's uninitialized parameters); an
// optimizer must be built after the first call (PyTorch's rule for lazy modules).
import { Parameter } from '../module.js';
import type { Tensor } from '../../tensor/tensor.js';
import { zeros } from '../../tensor/create.js';
import { checkRank } from '../../tensor/shape.js';
import { BatchNormBase, type BatchNormOptions } from './batch_norm.js';

type Materializable = { numFeatures: number; runningMean: Tensor | null; runningVar: Tensor | null; numBatchesTracked: Tensor | null };

abstract class LazyBatchNormBase extends BatchNormBase {
  private materialized = false;

  constructor(options: BatchNormOptions = {}) {
    super(1, options);
  }

  /** True until the first forward (or a state dict) fixes the channel count. */
  hasUninitializedParameters(): boolean {
    return !this.materialized;
  }

  /** Allocates weight, bias and the running buffers for `channels` channels. */
  materialize(channels: number): void {
    if (this.materialized) return;
    const self = this as unknown as Materializable;
    self.numFeatures = channels;
    // The device of the one-value parameters made before the first call (module.to may have moved them).
    const device = this.device;
    const vec = (): Tensor => zeros([channels], { device });
    if (this.affine) {
      this.weight = this.registerParameter('weight', new Parameter(vec()));
      this.bias = this.registerParameter('bias', new Parameter(vec()));
    }
    if (this.trackRunningStats) {
      self.runningMean = this.registerBuffer('running_mean', vec());
      self.runningVar = this.registerBuffer('running_var', vec());
      self.numBatchesTracked = this.registerBuffer('num_batches_tracked', zeros([], { device }));
    }
    this.resetParameters();
    this.materialized = true;
  }

  override forward(x: Tensor): Tensor {
    if (!this.materialized) {
      checkRank(`${this.constructor.name}.forward`, 'input', x.shape, this.ranks);
      this.materialize(x.shape[1]);
    }
    return super.forward(x);
  }

  /** Before the first call, the channel count is taken from the state dict's weight or running_mean. */
  override loadStateDict(sd: Record<string, Tensor>, strict = true): void {
    const shaped = sd.weight ?? sd.running_mean;
    if (!this.materialized && shaped !== undefined) this.materialize(shaped.size);
    super.loadStateDict(sd, strict);
  }
}

/** Lazy BatchNorm1d: (N, C) or (N, C, L) inputs. */
export class LazyBatchNorm1d extends LazyBatchNormBase {
  protected readonly ranks = [2, 3];
}

/** Lazy BatchNorm2d: (N, C, H, W) inputs. */
export class LazyBatchNorm2d extends LazyBatchNormBase {
  protected readonly ranks = [4];
}

/** Lazy BatchNorm3d: (N, C, D, H, W) inputs. */
export class LazyBatchNorm3d extends LazyBatchNormBase {
  protected readonly ranks = [5];
}
