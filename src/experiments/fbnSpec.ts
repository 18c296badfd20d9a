// How seed 000's experiments build their Filtered BN layers from a configuration:
//   fbnPooled1d (default true): the 1-D layers (after fully connected ones) pool every feature
//     into one mean/variance, as the seed's 1-D FilteredBatchNorm; 2-D layers are per channel;
//   fbnEvalMode (default 'running'): 'running' evaluates with the running statistics, as BN;
//     'batch' with the filtered statistics of each evaluation batch, as the seed's plug-in layer.
import type { NormSpec } from '../models/norm.js';
import { checkNormSpec } from '../nn/norm/spec.js';

export interface FbnConfig {
  fbnPooled1d: boolean;
  fbnEvalMode: string;
}

export const FBN_DEFAULTS: FbnConfig = { fbnPooled1d: true, fbnEvalMode: 'running' };

export function fbnSpec(experiment: string, threshold: number, c: FbnConfig): NormSpec {
  if (c.fbnEvalMode !== 'running' && c.fbnEvalMode !== 'batch') {
    throw new RangeError(`${experiment}: setting 'fbnEvalMode' must be 'running' or 'batch', got '${c.fbnEvalMode}'`);
  }
  // Checked here, when the runs are expanded, so a bad threshold stops the experiment before any training.
  return checkNormSpec({ kind: 'fbn', threshold, pooled1d: c.fbnPooled1d, evalMode: c.fbnEvalMode }, experiment);
}

/** The report's sentence on the FBN variant in use. */
export function fbnVariantNote(c: FbnConfig): string {
  return (
    `FBN layers after fully connected layers ${c.fbnPooled1d ? "pool all features into one mean and variance (the seed's 1-D layer)" : 'keep statistics per feature'}; ` +
    `2-D layers are per channel. Evaluation uses ${c.fbnEvalMode === 'batch' ? "the filtered statistics of each evaluation batch (the seed's plug-in layer)" : 'the running statistics of the filtered statistics, as BN'}.`
  );
}
