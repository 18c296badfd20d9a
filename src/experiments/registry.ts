// Every experiment by name, in the order `normlab run --list` shows them.
import type { Experiment, ExperimentConfig } from './experiment.js';
import { fbnMnist, fbnLenet5 } from './defs/fbnMnist.js';
import { fbnBatchSweep } from './defs/fbnBatchSweep.js';
import { activationStats } from './defs/activationStats.js';
import { batchStats } from './defs/batchStats.js';
import { landscape } from './defs/landscape.js';
import { fbnAlexnet } from './defs/fbnAlexnet.js';
import { bnInit } from './defs/bnInit.js';
import { mnistNorms } from './defs/mnistNorms.js';
import { bnIntuition } from './defs/bnIntuition.js';

export const EXPERIMENTS: readonly Experiment[] = [
  fbnMnist, fbnBatchSweep, fbnLenet5, activationStats, batchStats, landscape, fbnAlexnet, bnInit, mnistNorms, bnIntuition,
] as unknown as readonly Experiment<ExperimentConfig>[];

export function getExperiment(name: string): Experiment {
  const e = EXPERIMENTS.find((x) => x.name === name);
  if (e === undefined) throw new RangeError(`unknown experiment '${name}'; run 'normlab run --list' to see them (${EXPERIMENTS.map((x) => x.name).join(', ')})`);
  return e;
}
