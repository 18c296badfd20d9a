// nn.norm(kind or spec, channels, opts): one switch for choosing a network's normalization layer.
import type { Module } from '../module.js';
import { BatchNorm1d, BatchNorm2d, BatchNorm3d } from './batch_norm.js';
import { FilteredBatchNorm1d, FilteredBatchNorm2d, type FilteredBatchNormOptions } from './filtered_batch_norm.js';
import { BatchRenorm1d, BatchRenorm2d, type BatchRenormOptions } from './batch_renorm.js';
import { GroupNorm, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, LayerNorm } from './group_norm.js';
import { LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d } from './lazy_batch_norm.js';
import { FrozenBatchNorm2d } from './frozen_batch_norm.js';
import { RMSNorm, RmsNorm2d } from './rms_norm.js';
import { LayerNorm2d } from './layer_norm_2d.js';
import { LocalResponseNorm } from './local_response_norm.js';
import { FilterResponseNormTlu2d } from './filter_response_norm.js';
import { EvoNorm2dB0, EvoNorm2dS0 } from './evo_norm.js';
import { BatchNormAct2d, GroupNormAct } from './norm_act.js';
import type { NormActivation } from '../../ops/more_norms.js';
import { Identity } from '../linear.js';
import { checkNormSpec, NORM_KINDS, type NormKind, type NormSpec } from './spec.js';

export { NORM_KINDS, type NormKind, type NormSpec } from './spec.js';

export interface NormFactoryOptions extends FilteredBatchNormOptions, Omit<BatchRenormOptions, keyof FilteredBatchNormOptions> {
  /** 1: (N, C) or (N, C, L) inputs; 2 (default): (N, C, H, W); 3: (N, C, D, H, W). */
  dims?: 1 | 2 | 3;
  /** Number of groups for 'gn' and 'gnact' (required) and 'evos0' (default 32). */
  groups?: number;
  /** Activation of 'bnact' and 'gnact' (default 'relu'). */
  act?: NormActivation;
  /** Window of 'lrn' (default 5), and its alpha, beta, k. */
  size?: number;
  alpha?: number;
  beta?: number;
  k?: number;
}

/** Where a layer built from a NormSpec goes: the input rank. */
export interface NormShapeOptions {
  /** 1: (N, C) or (N, C, L) inputs; 2 (default): (N, C, H, W); 3: (N, C, D, H, W). */
  dims?: 1 | 2 | 3;
}

/**
 * The normalization layer of `kind` for `channels` channels. Two forms:
 * - `nn.norm({ kind: 'fbn', threshold: 2 }, C, { dims })`: a NormSpec, checked at runtime too
 *   (an option the kind does not take, a value of the wrong type or range, or a missing
 *   required option is an error naming the option, the kind and the allowed options);
 * - `nn.norm('fbn', C, { threshold: 2, dims })`: a kind and one options bag shared by all
 *   kinds, where options a kind does not use are ignored.
 * 'ln' is GroupNorm(1, C): the statistics of LayerNorm over (C, *) with a per-channel
 * affine, because the spatial size of conv features is unknown at construction (and on (N, C)
 * it is exactly LayerNorm([C])). 'rms' and 'ln2d' normalize over the channels per position
 * (RmsNorm2d, LayerNorm2d); on (N, C) inputs they are RMSNorm([C]) and LayerNorm([C]).
 * 'lazybn' ignores `channels` (taken from the first input). An fbn spec's `pooled1d` pools
 * the statistics when dims is 1 only.
 */
export function norm(spec: NormSpec, channels: number, opts?: NormShapeOptions): Module;
export function norm(kind: NormKind, channels: number, opts?: NormFactoryOptions): Module;
export function norm(kindOrSpec: NormKind | NormSpec, channels: number, options: NormFactoryOptions = {}): Module {
  if (typeof kindOrSpec !== 'object' || kindOrSpec === null) return build(kindOrSpec, channels, options);
  const { kind, ...specOptions } = checkNormSpec(kindOrSpec, 'nn.norm');
  const dims = options.dims;
  const opts: NormFactoryOptions & { pooled1d?: boolean } = { ...specOptions, dims };
  if (kind === 'fbn' && opts.pooled1d === true && (dims ?? 2) === 1) opts.pooled = true;
  delete opts.pooled1d;
  return build(kind, channels, opts);
}

function build(kind: NormKind, channels: number, opts: NormFactoryOptions): Module {
  const dims = opts.dims ?? 2;
  if (dims !== 1 && dims !== 2 && dims !== 3) throw new RangeError(`nn.norm: opts.dims must be 1, 2 or 3, got ${String(dims)}`);
  const { eps, momentum, affine, trackRunningStats, bnWeight } = opts;
  const bn = { eps, momentum, affine, trackRunningStats, bnWeight };
  const only = (allowed: readonly number[]): void => {
    if (!allowed.includes(dims)) throw new RangeError(`nn.norm: kind '${kind}' takes dims ${allowed.join(' or ')}, got dims ${dims}`);
  };
  const needGroups = (): number => {
    if (opts.groups === undefined) throw new RangeError(`nn.norm: opts.groups is required for kind '${kind}' (channels ${channels})`);
    return opts.groups;
  };
  switch (kind) {
    case 'bn':
      return dims === 1 ? new BatchNorm1d(channels, bn) : dims === 2 ? new BatchNorm2d(channels, bn) : new BatchNorm3d(channels, bn);
    case 'lazybn':
      return dims === 1 ? new LazyBatchNorm1d(bn) : dims === 2 ? new LazyBatchNorm2d(bn) : new LazyBatchNorm3d(bn);
    case 'fbn': {
      only([1, 2]);
      const o = { ...bn, threshold: opts.threshold, evalMode: opts.evalMode, pooled: opts.pooled };
      return dims === 1 ? new FilteredBatchNorm1d(channels, o) : new FilteredBatchNorm2d(channels, o);
    }
    case 'brn': {
      only([1, 2]);
      const o = { eps, momentum, affine, bnWeight, rMax: opts.rMax, dMax: opts.dMax, warmupSteps: opts.warmupSteps, renormMomentum: opts.renormMomentum };
      return dims === 1 ? new BatchRenorm1d(channels, o) : new BatchRenorm2d(channels, o);
    }
    case 'gn':
      return new GroupNorm(needGroups(), channels, { eps, affine });
    case 'ln':
      return new GroupNorm(1, channels, { eps, affine });
    case 'in': {
      const o = { eps, momentum, affine, trackRunningStats };
      return dims === 1 ? new InstanceNorm1d(channels, o) : dims === 2 ? new InstanceNorm2d(channels, o) : new InstanceNorm3d(channels, o);
    }
    case 'frozenbn':
      only([2]);
      return new FrozenBatchNorm2d(channels, { eps });
    case 'rms':
      only([1, 2]);
      return dims === 1 ? new RMSNorm(channels, { eps, elementwiseAffine: affine }) : new RmsNorm2d(channels, { eps, affine });
    case 'ln2d':
      only([1, 2]);
      return dims === 1 ? new LayerNorm(channels, { eps: eps ?? 1e-6, elementwiseAffine: affine }) : new LayerNorm2d(channels, { eps, affine });
    case 'lrn':
      only([2, 3]);
      return new LocalResponseNorm(opts.size ?? 5, { alpha: opts.alpha, beta: opts.beta, k: opts.k });
    case 'frn':
      only([2]);
      return new FilterResponseNormTlu2d(channels, { eps });
    case 'evob0':
      only([2]);
      return new EvoNorm2dB0(channels, { eps, momentum: momentum ?? undefined });
    case 'evos0':
      only([2]);
      return new EvoNorm2dS0(channels, { eps, groups: opts.groups });
    case 'bnact':
      only([2]);
      return new BatchNormAct2d(channels, { ...bn, act: opts.act });
    case 'gnact':
      return new GroupNormAct(channels, needGroups(), { eps, affine, act: opts.act });
    case 'none':
      return new Identity();
    default:
      throw new RangeError(`nn.norm: kind must be one of ${NORM_KINDS.map((k) => `'${k}'`).join(', ')}, got '${String(kind)}'`);
  }
}
