// `normlab train`: one training run with every option of seed 001's train.py and more.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { DEFAULT_CONFIG, runTraining, type TrainConfig } from '../train/run.js';
import { RunDirError } from '../train/runDir.js';
import { inputSizeProblem } from '../models/inputs.js';
import { liveTensorboardHooks } from '../report/liveTensorboard.js';
import { DATASET_NAMES } from '../data/load.js';
import { NORM_KINDS } from '../nn/norm/factory.js';
import { MODEL_NAMES, hasBnLayers, type NormKind, type NormSpec } from '../models/index.js';
import { choice, intArg, listArg, numArg, positiveArg, threadsArg, UsageError } from './args.js';
import { collectSets, normSpecFromFlags } from './normFlags.js';
import { deviceFromFlag, deviceOption } from './device.js';

const NORMS: readonly NormKind[] = NORM_KINDS;

export function trainCommand(program: Command, setCode: (c: number) => void): void {
  const d = DEFAULT_CONFIG;
  program
    .command('train')
    .description('train a network and write a run directory (config, metrics, results, checkpoints)')
    .addOption(choice('--dataset <name>', 'dataset', DATASET_NAMES, d.dataset))
    .addOption(choice('--network <name>', 'network', MODEL_NAMES, d.network))
    .addOption(choice('--norm <kind>', 'normalization layer', NORMS, 'bn'))
    .option('--threshold <T>', 'Filtered BN threshold T (fbn)', positiveArg('--threshold'), 4)
    .option('--groups <g>', 'groups of gn, gnact and evos0', intArg('--groups', 1), 2)
    .option('--set <key=value>', 'an option of the --norm layer, e.g. momentum=0.01 or evalMode=batch (repeatable; unknown keys are an error listing the allowed ones)', collectSets, [] as string[])
    .option('--batch-size <n>', 'batch size', intArg('--batch-size', 1), d.batchSize)
    .option('--epochs <n>', 'epochs', intArg('--epochs', 1), d.epochs)
    .option('--steps-per-epoch <n>', "training batches per epoch, passes over the data continuing across epochs (Keras' steps_per_epoch; 0: one pass)", intArg('--steps-per-epoch', 0), 0)
    .addOption(choice('--optimizer <name>', 'optimizer', ['sgd', 'adam', 'adamw', 'rmsprop'], d.optimizer))
    .option('--lr <x>', 'learning rate', numArg('--lr', 0), d.lr)
    .addOption(choice('--scheduler <name>', 'learning-rate schedule per epoch', ['cos', 'step', 'none'], d.scheduler))
    .option('--momentum <x>', 'SGD/RMSprop momentum', numArg('--momentum', 0), d.momentum)
    .option('--weight-decay <x>', 'weight decay', numArg('--weight-decay', 0), d.weightDecay)
    .option('--bn-weight <x>', "initial gamma of every BN layer (seed 001; <= 0 means 1); > 0 turns on seed 001's parameter groups", numArg('--bn-weight'), d.bnWeight)
    .option('--c <x>', "divide the BN-gamma learning rate by c (seed 001); > 0 turns on seed 001's parameter groups: no weight decay on biases and norm gamma/beta", numArg('--c', 0), d.c)
    .addOption(choice('--input-norm <kind>', "input normalization: 'bn' layer (seed 001) or dataset mean/std", ['bn', 'dataset'], d.inputNorm))
    .option('--l1 <lambda>', 'L1 penalty on weights (seed 002 uses 1e-3)', numArg('--l1', 0), d.l1)
    .addOption(choice('--augment <kind>', 'augmentation (imagenet: random resized crop + flip)', ['none', 'crop-flip', 'keras', 'imagenet'], d.augment))
    .option('--mean <list>', 'input normalization mean per channel, comma-separated (default: computed)', listArg('--mean'))
    .option('--std <list>', 'input normalization std per channel, comma-separated (default: computed)', listArg('--std'))
    .option('--strict', 'folder dataset: unreadable image files are an error (default: skipped with a warning)', false)
    .addOption(choice('--activation <name>', 'activation of cifar-cnn', ['relu', 'sigmoid'], d.activation))
    .option('--image-size <n>', 'resize images to n x n (0: keep; folder dataset: decode at n x n, default 64)', intArg('--image-size', 0), d.imageSize)
    .option('--val-split <x>', 'validation part of the training set: fraction or count (0: none)', numArg('--val-split', 0), d.valSplit)
    .option('--train-limit <n>', 'use a stratified subset of n training samples (0: all)', intArg('--train-limit', 0), d.trainLimit)
    .option('--test-limit <n>', 'use a stratified subset of n test samples (0: all)', intArg('--test-limit', 0), d.testLimit)
    .option('--seed <n>', 'seed (MD5-derived as seed 001)', intArg('--seed', 0), d.seed)
    .option('--threads <n>', 'native threads (0: all cores)', threadsArg('--threads'), d.threads)
    .addOption(deviceOption())
    .option('--data-dir <dir>', 'folder with dataset files you already have')
    .option('--download', 'download missing datasets into the cache ($NORMLAB_DATA or ~/.cache/normlab)', false)
    .option('--out <dir>', 'run directory', 'runs/latest')
    .option('--resume', 'continue the run in --out from its newest checkpoint (refused if training flags differ from its config.json)', false)
    .option('--allow-config-change', 'with --resume: continue even though training flags differ from the stored ones (the changes are recorded in config.json)', false)
    .option('--overwrite', 'replace the run in a non-empty --out (default: refuse)', false)
    .addOption(choice('--progress <mode>', 'progress output', ['auto', 'bar', 'lines', 'none'], 'auto'))
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      const kind = o.norm as NormKind;
      let norm: NormSpec;
      try {
        norm = normSpecFromFlags(o, cmd, { bnWeight: "give the BN layers' initial gamma with --bn-weight (it also turns on seed 001's parameter groups)" }) ?? kind;
      } catch (err) {
        if (err instanceof RangeError) throw new UsageError(err.message);
        throw err;
      }
      const cfg: Partial<TrainConfig> = {
        dataset: o.dataset as TrainConfig['dataset'], network: o.network as string, norm,
        batchSize: o.batchSize as number, epochs: o.epochs as number, stepsPerEpoch: o.stepsPerEpoch as number, optimizer: o.optimizer as TrainConfig['optimizer'],
        lr: o.lr as number, scheduler: o.scheduler as TrainConfig['scheduler'], momentum: o.momentum as number,
        weightDecay: o.weightDecay as number, bnWeight: o.bnWeight as number, c: o.c as number,
        inputNorm: o.inputNorm as TrainConfig['inputNorm'], l1: o.l1 as number, augment: o.augment as TrainConfig['augment'],
        activation: o.activation as TrainConfig['activation'], imageSize: o.imageSize as number, valSplit: o.valSplit as number,
        trainLimit: o.trainLimit as number, testLimit: o.testLimit as number, seed: o.seed as number, threads: o.threads as number,
        dataDir: o.dataDir as string | undefined, download: o.download as boolean, strict: o.strict as boolean,
        mean: o.mean as number[] | undefined, std: o.std as number[] | undefined,
      };
      if ((cfg.mean === undefined) !== (cfg.std === undefined)) throw new UsageError('--mean and --std go together');
      if (o.resume && o.overwrite) throw new UsageError('--resume and --overwrite exclude each other: continue the run in --out, or replace it');
      if (o.allowConfigChange && !o.resume) throw new UsageError('--allow-config-change goes with --resume');
      const problem = cfg.imageSize! > 0 ? inputSizeProblem(cfg.network!, cfg.imageSize!) : null;
      if (problem !== null) throw new UsageError(`--image-size: ${problem}`);
      if ((cfg.bnWeight ?? 0) > 0 && !hasBnLayers(norm, cfg.inputNorm)) {
        throw new UsageError(`--bn-weight ${cfg.bnWeight} initialises BN layers' gamma, but --network ${cfg.network} with --norm ${kind} has none (use --norm bn, fbn or brn, or --input-norm bn)`);
      }
      const device = await deviceFromFlag(o.device as string | undefined);
      const out = resolve(o.out as string);
      const tb = liveTensorboardHooks(out);
      let run;
      try {
        run = await runTraining(cfg, {
          outDir: out, device, resume: o.resume as boolean, overwrite: o.overwrite as boolean, allowConfigChange: o.allowConfigChange as boolean,
          progress: o.progress as 'auto', log: (l) => process.stderr.write(`normlab: ${l}\n`), onStart: tb.onStart, onEpoch: tb.onEpoch,
        });
      } catch (err) {
        if (err instanceof RunDirError) throw new UsageError(err.message);
        throw err;
      } finally {
        tb.close();
      }
      const { result } = run;
      const f = result.final;
      process.stdout.write(
        `done: ${result.epochs} epochs, final test accuracy ${f.test_acc === undefined ? 'n/a' : (100 * f.test_acc).toFixed(2) + '%'}, ` +
          `best epoch ${result.best_epoch} (${result.best_metric_name} ${(100 * result.best_metric).toFixed(2)}%), run directory ${out}\n`,
      );
      setCode(0);
    });
}
