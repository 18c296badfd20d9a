// How models take their normalization: a kind with its defaults (`{ norm: 'bn' }`) or a
// NormSpec with options (`{ norm: { kind: 'fbn', threshold: 3 } }`).
import * as nn from '../nn/index.js';
import type { Module } from '../nn/module.js';
import { takesOption, type NormKind, type NormSpec as LayerNormSpec } from '../nn/norm/spec.js';

export type { NormKind } from '../nn/norm/spec.js';

/**
 * A model's normalization layers: a kind (every option at the layer's default; a kind with a
 * required option, 'gn' or 'gnact', needs the object form) or a NormSpec, checked when the
 * model is built (an option the kind does not take is an error naming it and the allowed ones).
 */
export type NormSpec = NormKind | LayerNormSpec;

export function normKind(spec: NormSpec | undefined): NormKind {
  if (spec === undefined) return 'bn';
  return typeof spec === 'string' ? spec : spec.kind;
}

/**
 * Builds the normalization layer of `spec` for `channels` features of a 1-D or 2-D input.
 * `pooled1d: true` in an fbn spec pools the statistics of the 1-D layers only (seed 000's 1-D
 * FilteredBatchNorm pools all features into one mean/variance; its 2-D layer is per channel).
 */
export function makeNorm(spec: NormSpec | undefined, channels: number, dims: 1 | 2): Module {
  if (spec === undefined) return nn.norm('bn', channels, { dims });
  if (typeof spec === 'string') return nn.norm(spec, channels, { dims });
  return nn.norm(spec, channels, { dims });
}

/**
 * Seed 001's scale-init: `spec` with its BN γ initialised to bnWeight (bnWeight <= 0 or absent:
 * the spec unchanged). `fallback` is the model's own default spec when `spec` is undefined.
 * Only the kinds with BN's affine (bn, lazybn, bnact, fbn, brn) take bnWeight; the others are
 * returned unchanged, and createModel rejects a bnWeight on a model without a BN layer.
 */
export function withBnWeight(spec: NormSpec | undefined, bnWeight: number | undefined, fallback: NormSpec = 'bn'): NormSpec {
  const s = spec ?? fallback;
  if (bnWeight === undefined || !(bnWeight > 0)) return s;
  const kind = normKind(s);
  if (!takesOption(kind, 'bnWeight')) return s;
  return (typeof s === 'object' ? { ...s, bnWeight } : { kind, bnWeight }) as NormSpec;
}

/**
 * Seed 001's input normalization: 'bn' gives the affine BN placed first (nn.InputNorm, γ =
 * 0.58·bnWeight, β frozen); 'dataset' or absent gives null (the data pipeline normalizes by the
 * dataset's mean and std instead).
 */
export function makeInputNorm(inputNorm: 'bn' | 'dataset' | undefined, channels: number, bnWeight: number | undefined, dims: 1 | 2 = 2): Module | null {
  if (inputNorm === undefined || inputNorm === 'dataset') return null;
  if (inputNorm !== 'bn') throw new RangeError(`makeInputNorm: inputNorm must be 'bn' or 'dataset', got '${String(inputNorm)}'`);
  return new nn.InputNorm(channels, { bnWeight, dims });
}

/**
 * True when a network built with `spec` (every network here puts it after each conv/fc it
 * normalizes) and `inputNorm` has a BN layer for seed 001's bnWeight to initialise: kinds bn,
 * fbn and brn, or the input-norm BN. createModel checks the built model itself; this lets a
 * command line refuse the flags before loading any data.
 */
export function hasBnLayers(spec: NormSpec | undefined, inputNorm: 'bn' | 'dataset' | undefined): boolean {
  const kind = normKind(spec);
  if (typeof spec === 'object' && 'affine' in spec && spec.affine === false && inputNorm !== 'bn') return false;
  return kind === 'bn' || kind === 'lazybn' || kind === 'bnact' || kind === 'fbn' || kind === 'brn' || inputNorm === 'bn';
}
