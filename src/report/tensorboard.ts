// TensorBoard event files, written by hand (no TensorFlow): scalars and histograms.
//
// File = records; record = uint64 LE length, uint32 LE masked CRC-32C of those 8 bytes, the data,
// uint32 LE masked CRC-32C of the data; masked(crc) = ((crc >>> 15) | (crc << 17)) + 0xa282ead8
// (mod 2^32). The data is a protobuf Event:
//   Event { double wall_time = 1; int64 step = 2; oneof { string file_version = 3; Summary summary = 5; } }
//   Summary { repeated Value value = 1; }
//   Value { string tag = 1; oneof { float simple_value = 2; HistogramProto histo = 5; } }
//   HistogramProto { double min = 1, max = 2, num = 3, sum = 4, sum_squares = 5;
//                    repeated double bucket_limit = 6 [packed]; repeated double bucket = 7 [packed]; }
// As protobuf (proto3) does, plain scalar fields equal to 0 are left out, oneof members are always
// written, and fields appear in field-number order. The first record is the file_version
// "brain.Event:2" event.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import type { EpochMetrics } from '../io/metrics.js';

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78). */
export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) crc = CRC32C_TABLE[(crc ^ b) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC. */
export function maskedCrc32c(bytes: Uint8Array): number {
  const crc = crc32c(bytes);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** A protobuf message under construction. */
class Proto {
  private readonly parts: number[] = [];

  private varint(v: bigint): void {
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      this.parts.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.parts.push(Number(x));
  }

  private key(field: number, wire: number): void {
    this.varint(BigInt((field << 3) | wire));
  }

  double(field: number, v: number, always = false): this {
    if (v === 0 && !always) return this;
    this.key(field, 1);
    this.bytesRaw(new Uint8Array(new Float64Array([v]).buffer));
    return this;
  }

  float(field: number, v: number): this {
    this.key(field, 5);
    this.bytesRaw(new Uint8Array(new Float32Array([v]).buffer));
    return this;
  }

  int64(field: number, v: number): this {
    if (v === 0) return this;
    this.key(field, 0);
    this.varint(BigInt(v));
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.key(field, 2);
    this.varint(BigInt(b.length));
    this.bytesRaw(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  packedDoubles(field: number, values: readonly number[]): this {
    if (values.length === 0) return this;
    return this.bytes(field, new Uint8Array(new Float64Array(values).buffer));
  }

  private bytesRaw(b: Uint8Array): void {
    for (const x of b) this.parts.push(x);
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export interface HistogramData {
  min: number;
  max: number;
  num: number;
  sum: number;
  sumSquares: number;
  /** Upper edge of each bucket. */
  bucketLimit: number[];
  /** Count of each bucket. */
  bucket: number[];
}

export type SummaryValue = { tag: string; simpleValue: number } | { tag: string; histogram: HistogramData };

export interface TbEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  values?: SummaryValue[];
}

/** The protobuf bytes of an Event. */
export function encodeEvent(e: TbEvent): Uint8Array {
  const p = new Proto().double(1, e.wallTime).int64(2, e.step);
  if (e.fileVersion !== undefined) return p.string(3, e.fileVersion).finish();
  const summary = new Proto();
  for (const v of e.values ?? []) {
    const value = new Proto().string(1, v.tag);
    if ('simpleValue' in v) value.float(2, v.simpleValue);
    else {
      const h = v.histogram;
      if (h.bucket.length !== h.bucketLimit.length) throw new RangeError(`encodeEvent: histogram '${v.tag}' has ${h.bucket.length} buckets but ${h.bucketLimit.length} limits`);
      value.bytes(5, new Proto().double(1, h.min).double(2, h.max).double(3, h.num).double(4, h.sum).double(5, h.sumSquares)
        .packedDoubles(6, h.bucketLimit).packedDoubles(7, h.bucket).finish());
    }
    summary.bytes(1, value.finish());
  }
  return p.bytes(5, summary.finish()).finish();
}

/** One TFRecord framing data. */
export function encodeRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/** The bytes of an event file: the file_version event, then the given events. */
export function eventFileBytes(events: TbEvent[], wallTime: number): Uint8Array {
  const records = [encodeRecord(encodeEvent({ wallTime, step: 0, fileVersion: 'brain.Event:2' })), ...events.map((e) => encodeRecord(encodeEvent(e)))];
  const out = new Uint8Array(records.reduce((a, r) => a + r.length, 0));
  let o = 0;
  for (const r of records) {
    out.set(r, o);
    o += r.length;
  }
  return out;
}

/** Writes events to dir/events.out.tfevents.<seconds>.<host> (atomically); returns the path. */
export function writeEventFile(dir: string, events: TbEvent[], wallTime = Date.now() / 1000): string {
  const path = join(dir, `events.out.tfevents.${Math.floor(wallTime)}.${hostname().replace(/[^A-Za-z0-9_.-]/g, '_')}`);
  writeFileAtomic(path, eventFileBytes(events, wallTime));
  return path;
}

/** The scalars of one epoch: acc/<split>, loss/<split> for the splits it has, lr, samples_per_sec. */
export function epochScalars(m: EpochMetrics): SummaryValue[] {
  const values: SummaryValue[] = [];
  for (const split of ['train', 'val', 'test'] as const) {
    for (const metric of ['acc', 'loss'] as const) {
      const v = m[`${split}_${metric}`];
      if (typeof v === 'number') values.push({ tag: `${metric}/${split}`, simpleValue: v });
    }
  }
  values.push({ tag: 'lr', simpleValue: m.lr }, { tag: 'samples_per_sec', simpleValue: m.samples_per_sec });
  return values;
}

/** One event per epoch with the epoch's scalars (tags like 'acc/train', 'loss/val', 'lr'). */
export function writeRunEvents(dir: string, history: EpochMetrics[], wallTime = Date.now() / 1000): string {
  return writeEventFile(dir, history.map((m) => ({ wallTime, step: m.epoch, values: epochScalars(m) })), wallTime);
}
