// A trained model from a checkpoint: which network it is comes from the run's config.json next
// to the checkpoint (network, norm, activation, inputNorm and `input`: classes, channels, size,
// normalization), and flags may override any of it or stand in when there is no config.json.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createModel, type NormSpec } from '../models/index.js';
import type { Module } from '../nn/module.js';
import { loadSafetensors } from '../train/safetensors.js';
import { readJsonFile } from '../io/jsonFile.js';
import { inputSizeProblem } from '../models/inputs.js';
import type { RunInput } from '../train/run.js';

export interface ModelSpec {
  network: string;
  norm: NormSpec;
  numClasses: number;
  channels: number;
  imageSize: number;
  inputNorm: 'bn' | 'dataset';
  activation: 'relu' | 'sigmoid';
  classNames?: string[];
  mean?: number[];
  std?: number[];
}

export type SpecOverrides = Partial<Pick<ModelSpec, 'network' | 'norm' | 'numClasses' | 'channels' | 'imageSize'>>;

/** Default input geometry of the networks when neither config.json nor flags give it. */
function defaultGeometry(network: string): { channels: number; imageSize: number } {
  return ['fbn-mnist', 'lenet5', 'seed002'].includes(network) ? { channels: 1, imageSize: 28 } : { channels: 3, imageSize: 32 };
}

/** The model spec of a checkpoint: <dir>/config.json, then the overrides. */
export function readModelSpec(checkpoint: string, overrides: SpecOverrides = {}): ModelSpec {
  if (!existsSync(checkpoint)) throw new Error(`--checkpoint: no file '${checkpoint}'`);
  const configFile = join(dirname(checkpoint), 'config.json');
  const cfg = existsSync(configFile) ? (readJsonFile(configFile, '--checkpoint') as Record<string, unknown>) : {};
  const input = (cfg.input ?? {}) as Partial<RunInput>;
  const network = overrides.network ?? (cfg.network as string | undefined);
  if (network === undefined) throw new Error(`${checkpoint}: no config.json next to the checkpoint names the network; pass --network (and --norm, --num-classes)`);
  const geo = defaultGeometry(network);
  return {
    network,
    norm: overrides.norm ?? (cfg.norm as NormSpec | undefined) ?? 'bn',
    numClasses: overrides.numClasses ?? input.numClasses ?? 10,
    channels: overrides.channels ?? input.channels ?? geo.channels,
    imageSize: overrides.imageSize ?? input.imageSize ?? geo.imageSize,
    inputNorm: (cfg.inputNorm as 'bn' | 'dataset' | undefined) ?? 'dataset',
    activation: (cfg.activation as 'relu' | 'sigmoid' | undefined) ?? 'relu',
    ...(input.classNames !== undefined && (overrides.numClasses === undefined || overrides.numClasses === input.classNames.length) ? { classNames: input.classNames } : {}),
    ...(input.mean !== undefined && input.std !== undefined ? { mean: input.mean, std: input.std } : {}),
  };
}

/** Builds the spec's network, loads the checkpoint into it (strict) and puts it in eval mode. */
export function loadModel(checkpoint: string, overrides: SpecOverrides = {}): { model: Module; spec: ModelSpec } {
  const spec = readModelSpec(checkpoint, overrides);
  const problem = inputSizeProblem(spec.network, spec.imageSize);
  if (problem !== null) throw new RangeError(`loadModel: ${problem}`);
  const model = createModel(spec.network, {
    norm: spec.norm, numClasses: spec.numClasses, inChannels: spec.channels, imageSize: spec.imageSize,
    inputNorm: spec.inputNorm, activation: spec.activation,
  });
  model.loadStateDict(loadSafetensors(checkpoint).tensors);
  model.eval();
  return { model, spec };
}
