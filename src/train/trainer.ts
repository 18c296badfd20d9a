// The training loop: epochs of train steps, evaluation on validation and test sets, per-epoch
// metrics, best-model selection by validation accuracy, checkpoints and exact resume.
//
// Outputs in outDir: config.json, metrics.jsonl (one line per epoch), results.json (each written
// atomically), and per epoch a checkpoint set (checkpoint.ts): model, optimizer, best model and
// trainer-state.json (optimizer, scheduler, data order and RNG state: what --resume needs to
// reproduce an uninterrupted run exactly), with last.safetensors and best.safetensors linked to
// the newest set's files.
import { join } from 'node:path';
import type { Module } from '../nn/module.js';
import type { Optimizer, OptimizerState } from '../optim/optimizer.js';
import type { Scheduler } from '../optim/scheduler.js';
import type { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/graph.js';
import { crossEntropy } from '../ops/loss.js';
import { countCorrect, RunningMetrics } from '../analysis/accuracy.js';
import { tensor } from '../tensor/create.js';
import { defaultGenerator } from '../tensor/random.js';
import { ensureDir, writeFileAtomic, writeJsonAtomic } from '../io/atomic.js';
import type { EpochMetrics, TrainResult } from '../io/metrics.js';
import { latestCheckpoint, publishCheckpoint, removeIfPresent, removeSetsBefore, writeCheckpoint } from './checkpoint.js';
import { makeProgress, type ProgressSink } from './progress.js';
import { nameFilteredBatchNorms } from '../nn/norm/fbn_limit.js';

export type { EpochMetrics, TrainResult } from '../io/metrics.js';
export { countCorrect, RunningMetrics } from '../analysis/accuracy.js';

export interface Batch {
  x: Tensor;
  y: Int32Array;
}

/** A source of batches, one pass per epoch; order and randomness come from its own state. */
export interface BatchSource {
  /** Number of batches in one epoch. */
  readonly numBatches: number;
  /** Number of samples in one epoch. */
  readonly numSamples: number;
  /** The batches of the next epoch. */
  epoch(): Iterable<Batch>;
  /** Serialisable position/RNG state (for resume). */
  getState?(): unknown;
  setState?(state: unknown): void;
}

export interface TrainerOptions {
  model: Module;
  optimizer: Optimizer<{ lr: number }>;
  scheduler?: Scheduler;
  train: BatchSource;
  val?: BatchSource;
  test?: BatchSource;
  epochs: number;
  outDir?: string;
  /** Saved as config.json. */
  config?: Record<string, unknown>;
  /** Extra loss term added to every batch loss (e.g. seed 002's L1 penalty). */
  penalty?: (model: Module) => Tensor | null;
  lossFn?: (logits: Tensor, y: Int32Array) => Tensor;
  progress?: 'auto' | 'bar' | 'lines' | 'none';
  /** Continue from the newest complete checkpoint set in outDir when there is one. */
  resume?: boolean;
  /** Told when resume skips an unreadable checkpoint set or finds none. */
  log?: (line: string) => void;
  /** Write best/last checkpoints (default true when outDir is set). */
  checkpoints?: boolean;
  /** Called after every epoch with its metrics. */
  onEpoch?: (m: EpochMetrics) => void;
  /**
   * Training steps per epoch, as Keras' fit(steps_per_epoch=...) over a looping generator: each
   * epoch takes this many batches from the training source, continuing its current pass and
   * starting a new pass (a new shuffle) whenever one ends. Unset: one pass per epoch.
   */
  stepsPerEpoch?: number;
}

interface TrainerState {
  epoch: number;
  /** The optimizer state without its buffers, which live in optimizer.safetensors. */
  optimizer: OptimizerState;
  schedulerEpoch: number | null;
  train: unknown;
  generator: number[];
  history: EpochMetrics[];
  best: { epoch: number; metric: number };
}

export class Trainer {
  private readonly o: TrainerOptions;
  private readonly progress: ProgressSink;
  /** The training pass in progress when stepsPerEpoch ends epochs inside passes. */
  private pass: Iterator<Batch> | null = null;

  constructor(options: TrainerOptions) {
    if (!Number.isInteger(options.epochs) || options.epochs < 1) {
      throw new RangeError(`Trainer: epochs must be an integer >= 1, got ${options.epochs}`);
    }
    const spe = options.stepsPerEpoch;
    if (spe !== undefined && (!Number.isInteger(spe) || spe < 1)) {
      throw new RangeError(`Trainer: stepsPerEpoch must be an integer >= 1 (or unset for one pass per epoch), got ${spe}`);
    }
    this.o = options;
    this.progress = makeProgress(options.progress ?? 'auto');
    // Warnings of Filtered BN layers name them by their place in the model ('features.1').
    nameFilteredBatchNorms(options.model);
  }

  /** Mean loss and accuracy over a source, in eval mode without gradients. */
  evaluate(source: BatchSource): { loss: number; acc: number } {
    const { model } = this.o;
    const wasTraining = model.training;
    model.eval();
    const log = new RunningMetrics();
    noGrad(() => {
      for (const b of source.epoch()) {
        const logits = model.call(b.x.to(model.device));
        log.add(this.loss(logits, b.y), countCorrect(logits, b.y), b.y.length);
      }
    });
    model.train(wasTraining);
    // Metric read: evaluation end.
    log.read();
    return { loss: log.lossSum / Math.max(1, log.n), acc: log.correct / Math.max(1, log.n) };
  }

  private loss(logits: Tensor, y: Int32Array): Tensor {
    return this.o.lossFn ? this.o.lossFn(logits, y) : crossEntropy(logits, y);
  }

  fit(): TrainResult {
    const o = this.o;
    const out = o.outDir;
    const ckpt = out !== undefined && (o.checkpoints ?? true);
    let history: EpochMetrics[] = [];
    let best = { epoch: 0, metric: -Infinity };
    let start = 1;
    if (out !== undefined) {
      ensureDir(out, 'Trainer: outDir');
      const log = o.log ?? (() => undefined);
      const ck = o.resume ? latestCheckpoint(out, log) : null;
      if (ck !== null) {
        const st = ck.state as TrainerState;
        o.model.loadStateDict(ck.model);
        o.optimizer.loadStateDict(withBuffers(st.optimizer, ck.optimizer));
        if (o.scheduler && st.schedulerEpoch !== null) o.scheduler.setEpoch(st.schedulerEpoch);
        if (o.train.setState) o.train.setState(st.train);
        defaultGenerator().setState(st.generator);
        history = st.history;
        best = st.best;
        start = st.epoch + 1;
        // A kill between a set's commit and the updates after it left last/best or metrics.jsonl
        // one epoch behind (or ahead): both are brought in line with the set resumed from.
        if (ck.dir !== out) {
          publishCheckpoint(out, ck.dir);
          removeSetsBefore(out, ck.epoch);
        }
        writeFileAtomic(join(out, 'metrics.jsonl'), history.map((h) => JSON.stringify(h)).join('\n') + (history.length > 0 ? '\n' : ''));
        log(`resuming ${out} after epoch ${st.epoch}`);
      } else {
        if (o.resume) log(`no checkpoint in ${out}; starting at epoch 1`);
        writeJsonAtomic(join(out, 'config.json'), o.config ?? {});
      }
    }
    for (let epoch = start; epoch <= o.epochs; epoch++) {
      const m = this.trainEpoch(epoch);
      history.push(m);
      const metric = m.val_acc ?? m.test_acc ?? m.train_acc;
      const improved = metric > best.metric;
      if (improved) best = { epoch, metric };
      o.onEpoch?.(m);
      this.progress.epoch(formatEpoch(m, o.epochs));
      if (out !== undefined) {
        if (ckpt) {
          const { meta, tensors } = splitBuffers(o.optimizer.stateDict());
          const state: TrainerState = {
            epoch,
            optimizer: meta,
            schedulerEpoch: o.scheduler ? o.scheduler.epoch : null,
            train: o.train.getState ? o.train.getState() : null,
            generator: defaultGenerator().getState(),
            history,
            best,
          };
          writeCheckpoint(out, { epoch, model: o.model.stateDict(), optimizer: tensors, state, improved });
          // Files of the layout before checkpoint sets, which a resume of such a run read.
          removeIfPresent(join(out, 'trainer-state.json'));
          removeIfPresent(join(out, 'optimizer.safetensors'));
        }
        writeFileAtomic(join(out, 'metrics.jsonl'), history.map((h) => JSON.stringify(h)).join('\n') + '\n');
      }
    }
    // A pass left open by stepsPerEpoch ends here (a loader stops its worker threads on return).
    this.pass?.return?.();
    this.pass = null;
    const final = history[history.length - 1];
    const bestM = history[best.epoch - 1];
    const result: TrainResult = {
      epochs: o.epochs,
      best_epoch: best.epoch,
      best_metric: best.metric,
      best_metric_name: final.val_acc !== undefined ? 'val_acc' : final.test_acc !== undefined ? 'test_acc' : 'train_acc',
      test_acc_at_best: bestM?.test_acc,
      final,
      history,
      total_seconds: history.reduce((a, h) => a + h.seconds, 0),
    };
    if (out !== undefined) writeJsonAtomic(join(out, 'results.json'), result);
    return result;
  }

  /**
   * `count` batches of the training source: the rest of the pass in progress, then new passes.
   * The source's state (getState) follows the batches handed out, so a checkpoint taken between
   * epochs resumes inside the pass.
   */
  private *steps(count: number): Generator<Batch> {
    let taken = 0;
    let fromThisPass = 0;
    while (taken < count) {
      if (this.pass === null) {
        this.pass = this.o.train.epoch()[Symbol.iterator]();
        fromThisPass = -1;
      }
      const r = this.pass.next();
      if (r.done === true) {
        this.pass = null;
        if (fromThisPass === -1) throw new RangeError('Trainer: the training source gave no batch in a whole pass; stepsPerEpoch needs a non-empty source');
        continue;
      }
      fromThisPass = Math.max(fromThisPass, 0) + 1;
      taken++;
      yield r.value;
    }
  }

  private trainEpoch(epoch: number): EpochMetrics {
    const o = this.o;
    const lr = o.optimizer.groups[0].hp.lr;
    o.model.train();
    const device = o.model.device;
    const t0 = process.hrtime.bigint();
    const log = new RunningMetrics();
    let b = 0;
    const batches = o.stepsPerEpoch === undefined ? o.train.numBatches : o.stepsPerEpoch;
    // The non-finite loss check. On the CPU each step's loss is read at once (item() copies one
    // value out of host memory, no device wait), so a bad batch stops training before its update,
    // as it always did. On another device a per-step read would stall the queue every step: the
    // batch's loss stays there with the others, and RunningMetrics.read() names the first non-finite
    // one at the next logging point (progress line, end of epoch), before any checkpoint.
    const checkEachStep = device === 'cpu';
    const stop = (value: number, at: number): Error =>
      new Error(`train: the loss is ${value} at epoch ${epoch}, batch ${at}; stopping (lower the learning rate or check the data)`);
    for (const batch of o.stepsPerEpoch === undefined ? o.train.epoch() : this.steps(o.stepsPerEpoch)) {
      b++;
      o.optimizer.zeroGrad();
      const logits = o.model.call(batch.x.to(device));
      let loss = this.loss(logits, batch.y);
      if (checkEachStep) {
        const value = loss.item();
        if (!Number.isFinite(value)) throw stop(value, b);
      }
      log.add(loss, countCorrect(logits, batch.y), batch.y.length);
      const extra = o.penalty ? o.penalty(o.model) : null;
      if (extra !== null) loss = loss.add(extra);
      loss.backward();
      o.optimizer.step();
      const sec = Number(process.hrtime.bigint() - t0) / 1e9;
      const n = log.count;
      // Metric read: the progress line, only when the sink draws one.
      this.progress.batch({ epoch, epochs: o.epochs, batch: b, batches, samplesPerSec: n / sec, etaSec: (sec / b) * (batches - b) }, () => {
        const bad = log.read();
        if (bad !== null) throw stop(bad.value, bad.batch);
        return { loss: log.lossSum / log.n, acc: log.correct / log.n };
      });
    }
    // Metric read: end of the epoch's training part.
    const bad = log.read();
    if (bad !== null) throw stop(bad.value, bad.batch);
    o.scheduler?.step();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const n = log.n;
    const m: EpochMetrics = { epoch, lr, train_loss: log.lossSum / Math.max(1, n), train_acc: log.correct / Math.max(1, n), seconds, samples_per_sec: n / seconds };
    if (o.val) {
      const v = this.evaluate(o.val);
      m.val_loss = v.loss;
      m.val_acc = v.acc;
    }
    if (o.test) {
      const t = this.evaluate(o.test);
      m.test_loss = t.loss;
      m.test_acc = t.acc;
    }
    return m;
  }
}


/**
 * Optimizer buffers (momentum, Adam moments: one per parameter, as large as the model) go to a
 * safetensors file under keys '<param index>.<buffer>'; the rest of the state stays JSON.
 */
function splitBuffers(sd: OptimizerState): { meta: OptimizerState; tensors: Record<string, Tensor> } {
  const tensors: Record<string, Tensor> = {};
  const buffers = sd.buffers.map((entry, i) => {
    const names: Record<string, null> = {};
    for (const [k, v] of Object.entries(entry)) {
      if (v === null) continue;
      const data = v instanceof Float32Array ? v : Float32Array.from(v);
      // Checkpoint write: host values into a CPU tensor for the safetensors file.
      tensors[`${i}.${k}`] = tensor(data, [data.length], { device: 'cpu' });
      names[k] = null;
    }
    return names;
  });
  return { meta: { ...sd, buffers }, tensors };
}

function withBuffers(meta: OptimizerState, tensors: Record<string, Tensor>): OptimizerState {
  return {
    ...meta,
    buffers: meta.buffers.map((entry, i) => {
      const out: Record<string, Float32Array> = {};
      for (const k of Object.keys(entry)) {
        const t = tensors[`${i}.${k}`];
        if (t === undefined) throw new Error(`Trainer: optimizer.safetensors lacks buffer '${i}.${k}'; the checkpoint is incomplete`);
        // Checkpoint read: the optimizer keeps its buffers as host arrays in its state.
        out[k] = t.data();
      }
      return out;
    }),
  };
}

function formatEpoch(m: EpochMetrics, epochs: number): string {
  const pct = (v: number | undefined): string => (v === undefined ? '' : `${(100 * v).toFixed(2)}%`);
  let s = `epoch ${m.epoch}/${epochs}  lr ${m.lr.toPrecision(3)}  train loss ${m.train_loss.toFixed(4)} acc ${pct(m.train_acc)}`;
  if (m.val_acc !== undefined) s += `  val loss ${m.val_loss!.toFixed(4)} acc ${pct(m.val_acc)}`;
  if (m.test_acc !== undefined) s += `  test loss ${m.test_loss!.toFixed(4)} acc ${pct(m.test_acc)}`;
  return s + `  ${m.seconds.toFixed(1)}s  ${m.samples_per_sec.toFixed(0)} samples/s`;
}
