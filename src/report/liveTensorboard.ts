// TensorBoard events written while a run trains: after every epoch one event (step = epoch) with
// the epoch's scalars (acc/<split>, loss/<split>, lr, samples_per_sec) and, for every
// normalization layer, histograms of its running statistics and affine parameters
// (`<layer>/running_mean`, `<layer>/running_var`, `<layer>/weight` = γ, `<layer>/bias` = β), appended
// to <runDir>/tensorboard/events.out.tfevents.<seconds>.<host> and fsync'ed, so `tensorboard
// --logdir runs/` shows the run as it goes. Each process (a resumed run too) starts its own file;
// TensorBoard merges the files of one folder.
import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Module } from '../nn/module.js';
import type { EpochMetrics } from '../io/metrics.js';
import { normLayers, selectModules } from '../analysis/capture.js';
import { encodeEvent, encodeRecord, epochScalars, type HistogramData, type SummaryValue } from './tensorboard.js';

/** A histogram of values in `buckets` equal-width buckets from min to max (one bucket when all are equal). */
export function histogramOf(values: Float32Array, buckets = 30): HistogramData {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let sumSquares = 0;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    sumSquares += v * v;
  }
  if (values.length === 0) return { min: 0, max: 0, num: 0, sum: 0, sumSquares: 0, bucketLimit: [], bucket: [] };
  const n = max > min ? buckets : 1;
  const width = (max - min) / n;
  const bucketLimit = Array.from({ length: n }, (_, i) => (i === n - 1 ? max : min + (i + 1) * width));
  const bucket = new Array<number>(n).fill(0);
  for (const v of values) bucket[n === 1 ? 0 : Math.min(n - 1, Math.floor((v - min) / width))]++;
  return { min, max, num: values.length, sum, sumSquares, bucketLimit, bucket };
}

/**
 * Histograms of every normalization layer's running statistics, γ and β, on any device: the
 * values are read asynchronously (one read per tensor, at the end of an epoch).
 */
export async function normHistograms(model: Module): Promise<SummaryValue[]> {
  const values: SummaryValue[] = [];
  for (const [name, m] of selectModules(model, normLayers)) {
    const tensors = [...m.namedBuffers(), ...m.namedParameters()].filter(([k]) => ['running_mean', 'running_var', 'weight', 'bias'].includes(k));
    // Statistics read: a logging point (the end of an epoch).
    for (const [k, t] of tensors) values.push({ tag: `${name}/${k}`, histogram: histogramOf(await t.read()) });
  }
  return values;
}

export class LiveTensorboard {
  readonly file: string;
  private fd: number;

  constructor(dir: string, wallTime = Date.now() / 1000) {
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, `events.out.tfevents.${Math.floor(wallTime)}.${hostname().replace(/[^A-Za-z0-9_.-]/g, '_')}`);
    this.fd = openSync(this.file, 'a');
    this.append(encodeRecord(encodeEvent({ wallTime, step: 0, fileVersion: 'brain.Event:2' })));
  }

  private append(bytes: Uint8Array): void {
    if (this.fd < 0) throw new Error(`LiveTensorboard: ${this.file} is closed`);
    writeSync(this.fd, bytes);
  }

  /** Appends the epoch's scalars and the given histograms (normHistograms), then flushes to disk. */
  epoch(m: EpochMetrics, histograms: SummaryValue[] = []): void {
    const values = [...epochScalars(m), ...histograms];
    this.append(encodeRecord(encodeEvent({ wallTime: Date.now() / 1000, step: m.epoch, values })));
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** RunOptions hooks that log a run to <runDir>/tensorboard while it trains. */
export function liveTensorboardHooks(runDir: string): { onStart: (model: Module) => void; onEpoch: (m: EpochMetrics) => Promise<void>; close: () => void } {
  let model: Module | undefined;
  let log: LiveTensorboard | undefined;
  return {
    onStart: (m) => {
      model = m;
    },
    onEpoch: async (m) => {
      const histograms = model === undefined ? [] : await normHistograms(model);
      log ??= new LiveTensorboard(join(runDir, 'tensorboard'));
      log.epoch(m, histograms);
    },
    close: () => log?.close(),
  };
}
