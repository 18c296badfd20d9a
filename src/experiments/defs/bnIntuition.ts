// Seed 003 (Keras notebook): the 5-block CNN on CIFAR-100 with sigmoid or ReLU, with and
// without BN; shear/zoom/flip augmentation, RMSprop with Keras defaults, and the notebook's
// schedule: fit_generator(steps_per_epoch=2000, epochs=20) over a flow() generator of batch 80
// that loops over the training set (reshuffling each pass), i.e. 20 epochs of 2,000 steps, not 20
// passes over the data; the best checkpoint by validation accuracy; curves and training time.
import type { Experiment, ExperimentConfig, RunRecord } from '../experiment.js';
import type { DatasetName } from '../../data/load.js';
import { curves, finalTable, timeBars } from '../compare.js';
import { renderReport } from '../render.js';

export interface BnIntuitionConfig extends ExperimentConfig {
  dataset: string;
  epochs: number;
  /** Training steps per epoch (0: one pass over the data). */
  stepsPerEpoch: number;
  batchSize: number;
  lr: number;
  seeds: number;
  trainLimit: number;
  testLimit: number;
  imageSize: number;
}

const full: BnIntuitionConfig = { dataset: 'cifar100', epochs: 20, stepsPerEpoch: 2000, batchSize: 80, lr: 0.001, seeds: 1, trainLimit: 0, testLimit: 0, imageSize: 0 };

export const bnIntuition: Experiment<BnIntuitionConfig> = {
  name: 'bn-intuition',
  seedDoc: '003',
  seedFile: 'the Keras notebook (build_model, fit_generator)',
  description: '5-block CNN on CIFAR-100: sigmoid/ReLU with and without BN, Keras augmentation, RMSprop, 20 epochs x 2,000 steps of batch 80; curves and training time',
  full,
  // Quick: 6 steps over 4 batches a pass, so the generator loops within the epoch as in full mode.
  quick: { ...full, dataset: 'mnist-bundled', epochs: 1, stepsPerEpoch: 6, batchSize: 40, trainLimit: 160, testLimit: 80, imageSize: 16 },
  runs(c) {
    const base = {
      dataset: c.dataset as DatasetName, network: 'cifar-cnn', epochs: c.epochs, stepsPerEpoch: c.stepsPerEpoch, batchSize: c.batchSize, optimizer: 'rmsprop' as const, lr: c.lr,
      momentum: 0, trainLimit: c.trainLimit, testLimit: c.testLimit, imageSize: c.imageSize, augment: 'keras' as const,
    };
    const out = [];
    for (let s = 1; s <= c.seeds; s++) {
      for (const activation of ['sigmoid', 'relu'] as const) {
        // Keras BatchNormalization defaults: momentum 0.99 (PyTorch 0.01), eps 1e-3.
        out.push({ group: `${activation} + BN`, seed: s, train: { ...base, activation, norm: { kind: 'bn' as const, momentum: 0.01, eps: 1e-3 } }, extra: {} });
        out.push({ group: `${activation} without BN`, seed: s, train: { ...base, activation, norm: 'none' as const }, extra: {} });
      }
    }
    return out;
  },
  report(c: BnIntuitionConfig, records: RunRecord[], outDir: string) {
    return renderReport(outDir, {
      title: 'bn-intuition: sigmoid and ReLU, with and without Batch Norm',
      subtitle: `seed 003's 5-block CNN on ${c.dataset}`,
      notes: [
        `RMSprop with Keras defaults (lr ${c.lr}, rho 0.9, eps 1e-7), batch ${c.batchSize}, ${c.epochs} epoch(s) of ${c.stepsPerEpoch > 0 ? `${c.stepsPerEpoch} steps from the generator, which loops over the training set and reshuffles at each pass` : 'one pass over the training set'}; augmentation as Keras' ImageDataGenerator(shear_range=0.2, zoom_range=0.2, horizontal_flip=True).`,
        "Differences from the seed: the notebook subtracts one global mean (and a different one for the test set); here inputs are normalized per channel with the training set's statistics. Its build_model() call fails (an unexpected 'classes' argument); the network here has the described 5 blocks and a 100-way output. The best checkpoint is kept by test accuracy when there is no validation split, as the notebook monitors its validation_data (the test set).",
      ],
      config: c,
      tables: [finalTable(records)],
      charts: [
        curves(records, 'test_acc', 'Validation (test) accuracy per epoch', 'accuracy'),
        curves(records, 'train_loss', 'Training loss per epoch', 'loss'),
        curves(records, 'test_loss', 'Validation (test) loss per epoch', 'loss'),
        timeBars(records),
      ],
      grids: [],
    });
  },
};
