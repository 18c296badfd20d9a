// How models take their normalization: `{ norm: 'bn' }` or `{ norm: { kind: 'fbn', threshold: 3 } }`.
import * as nn from '../nn/index.js';
import type { Module } from '../nn/module.js';

export type { NormKind } from '../nn/norm/factory.js';
import type { NormKind } from '../nn/norm/factory.js';
export type NormSpec = NormKind | ({ kind: NormKind } & Record<string, unknown>);

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
  const { kind, pooled1d, ...opts } = spec;
  return nn.norm(kind, channels, { ...opts, ...(pooled1d === true && dims === 1 ? { pooled: true } : {}), dims });
}

/**
 * Seed 001's scale-init: `spec` with its BN γ initialised to bnWeight (bnWeight <= 0 or absent:
 * the spec unchanged). `fallback` is the model's own default spec when `spec` is undefined.
 * The factory passes bnWeight to the kinds with BN's affine (bn, fbn, brn) and ignores it for the
 * rest; createModel rejects a bnWeight on a model without such a layer.
 */
export function withBnWeight(spec: NormSpec | undefined, bnWeight: number | undefined, fallback: NormSpec = 'bn'): NormSpec {
  const s = spec ?? fallback;
  if (bnWeight === undefined || !(bnWeight > 0)) return s;
  return typeof s === 'string' ? { kind: s, bnWeight } : { ...s, bnWeight };
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
  if (typeof spec === 'object' && spec.affine === false && inputNorm !== 'bn') return false;
  return kind === 'bn' || kind === 'lazybn' || kind === 'bnact' || kind === 'fbn' || kind === 'brn' || inputNorm === 'bn';
}
