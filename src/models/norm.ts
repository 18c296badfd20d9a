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

/** Builds the normalization layer of `spec` for `channels` features of a 1-D or 2-D input. */
export function makeNorm(spec: NormSpec | undefined, channels: number, dims: 1 | 2): Module {
  if (spec === undefined) return nn.norm('bn', channels, { dims });
  if (typeof spec === 'string') return nn.norm(spec, channels, { dims });
  const { kind, ...opts } = spec;
  return nn.norm(kind, channels, { ...opts, dims });
}
