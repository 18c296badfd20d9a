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
import type { Device } from '../backend/index.js';
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
  /** Called after every epoch with its metrics; fitAsync() awaits a returned promise (fit() refuses one). */
  onEpoch?: (m: EpochMetrics) => void | Promise<void>;
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

  /**
   * Mean loss and accuracy over a source, in eval mode without gradients. Reads the metrics
   * synchronously, so the model must be on the CPU; evaluateAsync() works on any device.
   */
  evaluate(source: BatchSource): { loss: number; acc: number } {
    const log = this.evaluationPass(source);
    // Metric read: evaluation end.
    log.read();
    return { loss: log.lossSum / Math.max(1, log.n), acc: log.correct / Math.max(1, log.n) };
  }

  /** evaluate() on any device: the metrics are read once, asynchronously, at the end. */
  async evaluateAsync(source: BatchSource): Promise<{ loss: number; acc: number }> {
    const log = this.evaluationPass(source);
    // Metric read: evaluation end.
    await log.readAsync();
    return { loss: log.lossSum / Math.max(1, log.n), acc: log.correct / Math.max(1, log.n) };
  }

  private evaluationPass(source: BatchSource): RunningMetrics {
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
    return log;
  }

  private loss(logits: Tensor, y: Int32Array): Tensor {
    return this.o.lossFn ? this.o.lossFn(logits, y) : crossEntropy(logits, y);
  }

  /**
   * Trains every epoch and returns the result. Synchronous: every metric and checkpoint read is a
   * synchronous host copy, so the model must be on the CPU and the hooks must not return promises;
   * fitAsync() trains on any device.
   */
  fit(): TrainResult {
    const o = this.o;
    if (o.model.device !== 'cpu') {
      throw new Error(`Trainer.fit: the model is on device '${o.model.device}', whose values cannot be read synchronously; use 'await trainer.fitAsync()'`);
    }
    const run = this.begin();
    for (let epoch = run.start; epoch <= o.epochs; epoch++) {
      const m = this.trainEpoch(epoch);
      const improved = this.record(run, m);
      const pending = o.onEpoch?.(m);
      if (pending instanceof Promise) throw new Error("Trainer.fit: onEpoch returned a promise, which fit() cannot wait for; use 'await trainer.fitAsync()'");
      this.progress.epoch(formatEpoch(m, o.epochs));
      this.save(run, epoch, improved, () => ({ model: o.model.stateDict(), optimizer: o.optimizer.stateDict() }));
    }
    return this.finish(run);
  }

  /**
   * fit() on any device: batches go to the model's device, losses and correct counts stay there
   * and are read asynchronously at logging points (a drawn progress line, the end of an epoch's
   * training, an evaluation), checkpoints read the model and optimizer asynchronously, and the
   * hooks may return promises, which are awaited. On the CPU it gives fit()'s results exactly.
   */
  async fitAsync(): Promise<TrainResult> {
    const o = this.o;
    const run = this.begin();
    for (let epoch = run.start; epoch <= o.epochs; epoch++) {
      const m = await this.trainEpochAsync(epoch);
      const improved = this.record(run, m);
      await o.onEpoch?.(m);
      this.progress.epoch(formatEpoch(m, o.epochs));
      if (this.writesCheckpoints()) {
        // Checkpoint read: the model's tensors and the optimizer's buffers come to the host.
        const model = await hostCopies(o.model.stateDict());
        const optimizer = await o.optimizer.stateDictAsync();
        this.save(run, epoch, improved, () => ({ model, optimizer }));
      } else {
        this.save(run, epoch, improved, () => null);
      }
    }
    return this.finish(run);
  }

  private writesCheckpoints(): boolean {
    return this.o.outDir !== undefined && (this.o.checkpoints ?? true);
  }

  /** Resume from the newest checkpoint set (or start: config.json); the run's bookkeeping. */
  private begin(): RunState {
    const o = this.o;
    const out = o.outDir;
    const run: RunState = { history: [], best: { epoch: 0, metric: -Infinity }, start: 1 };
    if (out !== undefined) {
      ensureDir(out, 'Trainer: outDir');
      const log = o.log ?? (() => undefined);
      const ck = o.resume ? latestCheckpoint(out, log) : null;
      if (ck !== null) {
        const st = ck.state as TrainerState;
        // Checkpoints hold host values, loaded into the model and optimizer on their device.
        o.model.loadStateDict(ck.model);
        o.optimizer.loadStateDict(withBuffers(st.optimizer, ck.optimizer));
        if (o.scheduler && st.schedulerEpoch !== null) o.scheduler.setEpoch(st.schedulerEpoch);
        if (o.train.setState) o.train.setState(st.train);
        defaultGenerator().setState(st.generator);
        run.history = st.history;
        run.best = st.best;
        run.start = st.epoch + 1;
        // A kill between a set's commit and the updates after it left last/best or metrics.jsonl
        // one epoch behind (or ahead): both are brought in line with the set resumed from.
        if (ck.dir !== out) {
          publishCheckpoint(out, ck.dir);
          removeSetsBefore(out, ck.epoch);
        }
        writeFileAtomic(join(out, 'metrics.jsonl'), run.history.map((h) => JSON.stringify(h)).join('\n') + (run.history.length > 0 ? '\n' : ''));
        log(`resuming ${out} after epoch ${st.epoch}`);
      } else {
        if (o.resume) log(`no checkpoint in ${out}; starting at epoch 1`);
        writeJsonAtomic(join(out, 'config.json'), o.config ?? {});
      }
    }
    return run;
  }

  /** Adds the epoch to the history; true when it is the best so far. */
  private record(run: RunState, m: EpochMetrics): boolean {
    run.history.push(m);
    const metric = m.val_acc ?? m.test_acc ?? m.train_acc;
    const improved = metric > run.best.metric;
    if (improved) run.best = { epoch: m.epoch, metric };
    return improved;
  }

  /** The epoch's checkpoint set (from the host state `states` gives) and metrics.jsonl. */
  private save(run: RunState, epoch: number, improved: boolean, states: () => { model: Record<string, Tensor>; optimizer: OptimizerState } | null): void {
    const o = this.o;
    const out = o.outDir;
    if (out === undefined) return;
    const st = this.writesCheckpoints() ? states() : null;
    if (st !== null) {
      const { meta, tensors } = splitBuffers(st.optimizer);
      const state: TrainerState = {
        epoch,
        optimizer: meta,
        schedulerEpoch: o.scheduler ? o.scheduler.epoch : null,
        train: o.train.getState ? o.train.getState() : null,
        generator: defaultGenerator().getState(),
        history: run.history,
        best: run.best,
      };
      writeCheckpoint(out, { epoch, model: st.model, optimizer: tensors, state, improved });
      // Files of the layout before checkpoint sets, which a resume of such a run read.
      removeIfPresent(join(out, 'trainer-state.json'));
      removeIfPresent(join(out, 'optimizer.safetensors'));
    }
    writeFileAtomic(join(out, 'metrics.jsonl'), run.history.map((h) => JSON.stringify(h)).join('\n') + '\n');
  }

  private finish(run: RunState): TrainResult {
    const o = this.o;
    // A pass left open by stepsPerEpoch ends here (a loader stops its worker threads on return).
    this.pass?.return?.();
    this.pass = null;
    const { history, best } = run;
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
    if (o.outDir !== undefined) writeJsonAtomic(join(o.outDir, 'results.json'), result);
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
    const e = this.startEpoch(epoch);
    for (const batch of this.epochBatches()) {
      this.step(e, batch);
      // Metric read: the progress line, only when the sink draws one.
      this.progress.batch(this.progressInfo(e), () => {
        const bad = e.log.read();
        if (bad !== null) throw e.stop(bad.value, bad.batch);
        return { loss: e.log.lossSum / e.log.n, acc: e.log.correct / e.log.n };
      });
    }
    // Metric read: end of the epoch's training part.
    const bad = e.log.read();
    if (bad !== null) throw e.stop(bad.value, bad.batch);
    const m = this.endEpoch(e);
    if (this.o.val) {
      const v = this.evaluate(this.o.val);
      m.val_loss = v.loss;
      m.val_acc = v.acc;
    }
    if (this.o.test) {
      const t = this.evaluate(this.o.test);
      m.test_loss = t.loss;
      m.test_acc = t.acc;
    }
    return m;
  }

  private async trainEpochAsync(epoch: number): Promise<EpochMetrics> {
    const e = this.startEpoch(epoch);
    for (const batch of this.epochBatches()) {
      this.step(e, batch);
      // Metric read: the progress line, only when the sink draws one (read before it draws).
      if (this.progress.willDraw(e.b, e.batches)) {
        const bad = await e.log.readAsync();
        if (bad !== null) throw e.stop(bad.value, bad.batch);
      }
      this.progress.batch(this.progressInfo(e), () => ({ loss: e.log.lossSum / e.log.n, acc: e.log.correct / e.log.n }));
    }
    // Metric read: end of the epoch's training part.
    const bad = await e.log.readAsync();
    if (bad !== null) throw e.stop(bad.value, bad.batch);
    const m = this.endEpoch(e);
    if (this.o.val) {
      const v = await this.evaluateAsync(this.o.val);
      m.val_loss = v.loss;
      m.val_acc = v.acc;
    }
    if (this.o.test) {
      const t = await this.evaluateAsync(this.o.test);
      m.test_loss = t.loss;
      m.test_acc = t.acc;
    }
    return m;
  }

  private startEpoch(epoch: number): EpochState {
    const o = this.o;
    o.model.train();
    const device = o.model.device;
    return {
      epoch,
      lr: o.optimizer.groups[0].hp.lr,
      device,
      t0: process.hrtime.bigint(),
      log: new RunningMetrics(),
      b: 0,
      batches: o.stepsPerEpoch === undefined ? o.train.numBatches : o.stepsPerEpoch,
      // The non-finite loss check. On the CPU each step's loss is read at once (item() copies one
      // value out of host memory, no device wait), so a bad batch stops training before its
      // update, as it always did. On another device a per-step read would stall the queue every
      // step: the batch's loss stays there with the others, and RunningMetrics.readAsync() names
      // the first non-finite one at the next logging point (progress line, end of epoch), before
      // any checkpoint.
      checkEachStep: device === 'cpu',
      stop: (value: number, at: number): Error =>
        new Error(`train: the loss is ${value} at epoch ${epoch}, batch ${at}; stopping (lower the learning rate or check the data)`),
    };
  }

  private epochBatches(): Iterable<Batch> {
    return this.o.stepsPerEpoch === undefined ? this.o.train.epoch() : this.steps(this.o.stepsPerEpoch);
  }

  /** One training step on the model's device; the loss and correct count stay there in e.log. */
  private step(e: EpochState, batch: Batch): void {
    const o = this.o;
    e.b++;
    o.optimizer.zeroGrad();
    const logits = o.model.call(batch.x.to(e.device));
    let loss = this.loss(logits, batch.y);
    if (e.checkEachStep) {
      const value = loss.item();
      if (!Number.isFinite(value)) throw e.stop(value, e.b);
    }
    e.log.add(loss, countCorrect(logits, batch.y), batch.y.length);
    const extra = o.penalty ? o.penalty(o.model) : null;
    if (extra !== null) loss = loss.add(extra);
    loss.backward();
    o.optimizer.step();
  }

  private progressInfo(e: EpochState): Parameters<ProgressSink['batch']>[0] {
    const sec = Number(process.hrtime.bigint() - e.t0) / 1e9;
    return { epoch: e.epoch, epochs: this.o.epochs, batch: e.b, batches: e.batches, samplesPerSec: e.log.count / sec, etaSec: (sec / e.b) * (e.batches - e.b) };
  }

  /** The epoch's training metrics (after the final read) and the scheduler's step. */
  private endEpoch(e: EpochState): EpochMetrics {
    this.o.scheduler?.step();
    const seconds = Number(process.hrtime.bigint() - e.t0) / 1e9;
    const n = e.log.n;
    return { epoch: e.epoch, lr: e.lr, train_loss: e.log.lossSum / Math.max(1, n), train_acc: e.log.correct / Math.max(1, n), seconds, samples_per_sec: n / seconds };
  }
}

interface RunState {
  history: EpochMetrics[];
  best: { epoch: number; metric: number };
  start: number;
}

interface EpochState {
  epoch: number;
  lr: number;
  device: Device;
  t0: bigint;
  log: RunningMetrics;
  /** Steps taken so far. */
  b: number;
  batches: number;
  checkEachStep: boolean;
  stop: (value: number, at: number) => Error;
}

/** A state dict with every tensor on the host: CPU tensors as they are, the others copied (awaited). */
export async function hostCopies(sd: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const out: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(sd)) out[k] = t.device === 'cpu' ? t : await t.toAsync('cpu');
  return out;
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
