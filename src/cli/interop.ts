// `normlab eval`, `normlab predict` and `normlab export`: using a trained checkpoint. The network
// comes from the run's config.json next to the checkpoint; --network/--norm/--num-classes
// override it or stand in when there is none (src/interop/checkpoint.ts).
import type { Command } from 'commander';
import { dirname, join, resolve } from 'node:path';
import { DATASET_NAMES, loadDataset, type DatasetName } from '../data/load.js';
import { decodeImageFile } from '../data/imagefolder.js';
import { NORM_KINDS } from '../nn/norm/factory.js';
import { MODEL_NAMES, type NormKind, type NormSpec } from '../models/index.js';
import { loadModel, type SpecOverrides } from '../interop/checkpoint.js';
import { evaluateAsync, formatEval, predictTopKAsync, specTransform } from '../interop/evaluate.js';
import { saveOnnx } from '../interop/onnx.js';
import { preciseBn } from '../analysis/preciseBn.js';
import { DataLoader } from '../data/loader.js';
import { saveSafetensors } from '../train/safetensors.js';
import { ensureDir, writeJsonAtomic } from '../io/atomic.js';
import { Generator } from '../tensor/random.js';
import { tensor } from '../tensor/create.js';
import { setNumThreads } from '../backend/index.js';
import { choice, intArg, positiveArg, threadsArg, UsageError } from './args.js';
import { collectSets, normSpecFromFlags } from './normFlags.js';
import { deviceFromFlag, deviceOption } from './device.js';

const NORMS: readonly NormKind[] = NORM_KINDS;

/** The flags every checkpoint command shares. */
function modelFlags(cmd: Command): Command {
  return cmd
    .requiredOption('--checkpoint <file>', 'a .safetensors checkpoint (its folder\'s config.json names the network)')
    .addOption(choice('--network <name>', 'network (default: from config.json)', MODEL_NAMES))
    .addOption(choice('--norm <kind>', 'normalization layer (default: from config.json)', NORMS))
    .option('--threshold <T>', 'Filtered BN threshold T (with --norm fbn)', positiveArg('--threshold'), 4)
    .option('--groups <g>', 'groups (with --norm gn, gnact or evos0)', intArg('--groups', 1), 2)
    .option('--set <key=value>', 'an option of the --norm layer, e.g. eps=0.001 (repeatable)', collectSets, [] as string[])
    .option('--num-classes <n>', 'classes (default: from config.json)', intArg('--num-classes', 1))
    .option('--image-size <n>', 'input size (default: from config.json)', intArg('--image-size', 1))
    .option('--threads <n>', 'native threads (0: all cores)', threadsArg('--threads'), 0);
}

function overrides(o: Record<string, unknown>, cmd: Command): SpecOverrides {
  let norm: NormSpec | undefined;
  try {
    norm = normSpecFromFlags(o, cmd);
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  }
  return {
    ...(o.network !== undefined ? { network: o.network as string } : {}),
    ...(norm !== undefined ? { norm } : {}),
    ...(o.numClasses !== undefined ? { numClasses: o.numClasses as number } : {}),
    ...(o.imageSize !== undefined ? { imageSize: o.imageSize as number } : {}),
  };
}

export function interopCommands(program: Command, setCode: (c: number) => void): void {
  modelFlags(program.command('eval').description('accuracy, per-class accuracy and confusion matrix of a checkpoint on a dataset; writes eval.json'))
    .addOption(choice('--dataset <name>', 'dataset', DATASET_NAMES, 'mnist-bundled'))
    .option('--data-dir <dir>', 'folder with the dataset files (the image folder root for --dataset folder)')
    .addOption(choice('--split <name>', 'split to evaluate', ['train', 'test'], 'test'))
    .option('--batch-size <n>', 'batch size', intArg('--batch-size', 1), 256)
    .option('--strict', 'folder dataset: unreadable image files are an error', false)
    .option('--out <file>', 'where to write the JSON results (default: eval.json next to the checkpoint)')
    .addOption(deviceOption())
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      if ((o.threads as number) > 0) setNumThreads(o.threads as number);
      const device = await deviceFromFlag(o.device as string | undefined);
      const checkpoint = resolve(o.checkpoint as string);
      const { model, spec } = loadModel(checkpoint, overrides(o, cmd));
      await model.toAsync(device);
      const ds = await loadDataset(o.dataset as DatasetName, {
        dataDir: o.dataDir as string | undefined, split: o.split as 'train' | 'test', strict: o.strict as boolean,
        imageSize: spec.imageSize, channels: spec.channels as 1 | 3,
      });
      const r = await evaluateAsync(model, ds, spec, o.batchSize as number);
      process.stdout.write(formatEval(r) + '\n');
      const out = resolve((o.out as string | undefined) ?? join(dirname(checkpoint), 'eval.json'));
      writeJsonAtomic(out, { checkpoint, dataset: o.dataset, split: o.split, network: spec.network, ...r });
      process.stdout.write(`wrote ${out}\n`);
      setCode(0);
    });

  modelFlags(program.command('recalibrate').description('precise BN: recompute every running statistic as the average over K training batches; reports test accuracy before and after'))
    .addOption(choice('--dataset <name>', 'dataset', DATASET_NAMES, 'mnist-bundled'))
    .option('--data-dir <dir>', 'folder with the dataset files (the image folder root for --dataset folder)')
    .option('--batches <k>', 'training batches to average over', intArg('--batches', 1), 200)
    .option('--batch-size <n>', 'batch size', intArg('--batch-size', 1), 128)
    .option('--strict', 'folder dataset: unreadable image files are an error', false)
    .option('--out <file>', 'the recalibrated checkpoint (default: recalibrated.safetensors next to the checkpoint)')
    .addOption(deviceOption())
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      if ((o.threads as number) > 0) setNumThreads(o.threads as number);
      const device = await deviceFromFlag(o.device as string | undefined);
      const checkpoint = resolve(o.checkpoint as string);
      const { model, spec } = loadModel(checkpoint, overrides(o, cmd));
      await model.toAsync(device);
      const load = (split: 'train' | 'test'): ReturnType<typeof loadDataset> => loadDataset(o.dataset as DatasetName, {
        dataDir: o.dataDir as string | undefined, split, strict: o.strict as boolean, imageSize: spec.imageSize, channels: spec.channels as 1 | 3,
      });
      const train = await load('train');
      const test = await load('test');
      const before = (await evaluateAsync(model, test, spec, o.batchSize as number)).accuracy;
      // Shuffled with a fixed seed, so K batches cover the classes; eval-time transforms.
      const loader = new DataLoader(train, { batchSize: o.batchSize as number, shuffle: true, seed: 0, transform: specTransform(spec, train.height) });
      const used = preciseBn(model, loader, o.batches as number);
      const after = (await evaluateAsync(model, test, spec, o.batchSize as number)).accuracy;
      // Checkpoint write: the recalibrated model's values come to the host.
      await model.toAsync('cpu');
      const out = resolve((o.out as string | undefined) ?? join(dirname(checkpoint), 'recalibrated.safetensors'));
      saveSafetensors(out, model.stateDict(), { recalibrated_from: checkpoint, precise_bn_batches: String(used) });
      process.stdout.write(
        `precise BN over ${used} batches of ${o.batchSize as number}: test accuracy ${(100 * before).toFixed(2)}% -> ${(100 * after).toFixed(2)}%\nwrote ${out}\n`,
      );
      setCode(0);
    });

  modelFlags(program.command('predict').description('top-k classes with probabilities for image files'))
    .argument('<images...>', 'image files (any format sharp reads)')
    .option('--top-k <k>', 'classes per image', intArg('--top-k', 1), 5)
    .option('--json', 'print JSON instead of a table', false)
    .addOption(deviceOption())
    .action(async (images: string[], o: Record<string, unknown>, cmd: Command) => {
      if ((o.threads as number) > 0) setNumThreads(o.threads as number);
      const device = await deviceFromFlag(o.device as string | undefined);
      const { model, spec } = loadModel(resolve(o.checkpoint as string), overrides(o, cmd));
      await model.toAsync(device);
      const per = spec.channels * spec.imageSize * spec.imageSize;
      const x = new Float32Array(images.length * per);
      const t = specTransform(spec, spec.imageSize);
      for (let i = 0; i < images.length; i++) {
        let px: Uint8Array;
        try {
          px = await decodeImageFile(images[i], spec.imageSize, spec.channels as 1 | 3);
        } catch (e) {
          throw new UsageError(`cannot read image ${images[i]}: ${(e as Error).message.split('\n')[0]}`);
        }
        const img = { data: Float32Array.from(px, (v) => v / 255), channels: spec.channels, height: spec.imageSize, width: spec.imageSize };
        x.set(t === undefined ? img.data : t(img, new Generator(0)).data, i * per);
      }
      // The images become one input tensor on the model's device (one upload).
      const input = tensor(x, [images.length, spec.channels, spec.imageSize, spec.imageSize], { device: model.device });
      const preds = await predictTopKAsync(model, input, spec, o.topK as number, images);
      if (o.json) {
        process.stdout.write(JSON.stringify(preds, null, 2) + '\n');
      } else {
        for (const p of preds) {
          process.stdout.write(`${p.file}\n`);
          for (const [rank, c] of p.top.entries()) process.stdout.write(`  ${rank + 1}. ${c.name.padEnd(16)} ${(100 * c.probability).toFixed(2).padStart(6)}%\n`);
        }
      }
      setCode(0);
    });

  modelFlags(program.command('export').description('write the model in eval mode as ONNX (opset 13)'))
    .requiredOption('--onnx <file>', 'output .onnx file')
    .option('--fold-bn', 'fold eval BatchNorm into the Conv/Gemm before it (default: BatchNormalization nodes)', false)
    .action((o: Record<string, unknown>, cmd: Command) => {
      const { model, spec } = loadModel(resolve(o.checkpoint as string), overrides(o, cmd));
      const out = resolve(o.onnx as string);
      ensureDir(dirname(out), '--onnx');
      const summary = saveOnnx(out, model, { inputShape: [1, spec.channels, spec.imageSize, spec.imageSize], foldBatchNorm: o.foldBn as boolean });
      const counts = new Map<string, number>();
      for (const op of summary.ops) counts.set(op, (counts.get(op) ?? 0) + 1);
      process.stdout.write(
        `wrote ${out}: ${summary.ops.length} nodes (${[...counts].map(([k, v]) => `${k} ${v}`).join(', ')}), ${summary.initializers} initializers; ` +
          `input 'input' [batch, ${spec.channels}, ${spec.imageSize}, ${spec.imageSize}], output 'output'\n`,
      );
      setCode(0);
    });
}
