// nn.norm(kind, channels, opts): one switch for choosing a network's normalization layer.
import type { Module } from '../module.js';
import { BatchNorm1d, BatchNorm2d } from './batch_norm.js';
import { FilteredBatchNorm1d, FilteredBatchNorm2d, type FilteredBatchNormOptions } from './filtered_batch_norm.js';
import { BatchRenorm1d, BatchRenorm2d, type BatchRenormOptions } from './batch_renorm.js';
import { GroupNorm, InstanceNorm1d, InstanceNorm2d } from './group_norm.js';
import { Identity } from '../linear.js';

export type NormKind = 'bn' | 'fbn' | 'brn' | 'gn' | 'ln' | 'in' | 'none';

export interface NormFactoryOptions extends FilteredBatchNormOptions, Omit<BatchRenormOptions, keyof FilteredBatchNormOptions> {
  /** 1: (N, C) or (N, C, L) inputs; 2 (default): (N, C, H, W). */
  dims?: 1 | 2;
  /** Number of groups for 'gn' (required). */
  groups?: number;
}

const KINDS: readonly NormKind[] = ['bn', 'fbn', 'brn', 'gn', 'ln', 'in', 'none'];

/**
 * The normalization layer of `kind` for `channels` channels. Options not used by a kind are
 * ignored. 'ln' is GroupNorm(1, C): the statistics of LayerNorm over (C, *) with a per-channel
 * affine, because the spatial size of conv features is unknown at construction (and on (N, C)
 * it is exactly LayerNorm([C])).
 */
export function norm(kind: NormKind, channels: number, opts: NormFactoryOptions = {}): Module {
  const dims = opts.dims ?? 2;
  if (dims !== 1 && dims !== 2) throw new RangeError(`nn.norm: opts.dims must be 1 or 2, got ${String(dims)}`);
  const one = dims === 1;
  const { eps, momentum, affine, trackRunningStats, bnWeight } = opts;
  const bn = { eps, momentum, affine, trackRunningStats, bnWeight };
  switch (kind) {
    case 'bn':
      return one ? new BatchNorm1d(channels, bn) : new BatchNorm2d(channels, bn);
    case 'fbn': {
      const o = { ...bn, threshold: opts.threshold, evalMode: opts.evalMode, pooled: opts.pooled };
      return one ? new FilteredBatchNorm1d(channels, o) : new FilteredBatchNorm2d(channels, o);
    }
    case 'brn': {
      const o = { eps, momentum, affine, bnWeight, rMax: opts.rMax, dMax: opts.dMax, warmupSteps: opts.warmupSteps, renormMomentum: opts.renormMomentum };
      return one ? new BatchRenorm1d(channels, o) : new BatchRenorm2d(channels, o);
    }
    case 'gn':
      if (opts.groups === undefined) throw new RangeError(`nn.norm: opts.groups is required for kind 'gn' (channels ${channels})`);
      return new GroupNorm(opts.groups, channels, { eps, affine });
    case 'ln':
      return new GroupNorm(1, channels, { eps, affine });
    case 'in':
      return one ? new InstanceNorm1d(channels, { eps, momentum, affine, trackRunningStats }) : new InstanceNorm2d(channels, { eps, momentum, affine, trackRunningStats });
    case 'none':
      return new Identity();
    default:
      throw new RangeError(`nn.norm: kind must be one of ${KINDS.map((k) => `'${k}'`).join(', ')}, got '${String(kind)}'`);
  }
}
