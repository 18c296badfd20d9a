import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { crc32c, maskedCrc32c, eventFileBytes, writeRunEvents, type TbEvent, type SummaryValue } from '../../src/report/tensorboard.js';
import { loadFixtures } from '../helpers/fixtures.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

interface RefValue {
  tag: string;
  simple_value?: number;
  histo?: { min: number; max: number; num: number; sum: number; sum_squares: number; bucket_limit: number[]; bucket: number[] };
}

describe('tensorboard', () => {
  it('computes CRC-32C test vectors (crc32c("123456789") = 0xE3069283)', () => {
    assert.equal(crc32c(bytes('123456789')), 0xe3069283);
    assert.equal(crc32c(new Uint8Array(0)), 0);
    assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
    assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  });

  it('masks CRCs as TFRecord does', () => {
    const crc = crc32c(bytes('123456789'));
    assert.equal(maskedCrc32c(bytes('123456789')), ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) % 2 ** 32);
  });

  it('writes the same bytes as the reference encoder for scalars, histograms and zero fields', () => {
    const p = loadFixtures('tensorboard')[0].params;
    for (const [s, crc] of Object.entries(p.crc32c as Record<string, number>)) assert.equal(crc32c(bytes(s)), crc, `crc32c('${s}')`);
    const events: TbEvent[] = (p.events as { step: number; values: RefValue[] }[]).map((e) => ({
      wallTime: p.wall_time as number,
      step: e.step,
      values: e.values.map((v): SummaryValue => (v.histo
        ? { tag: v.tag, histogram: { min: v.histo.min, max: v.histo.max, num: v.histo.num, sum: v.histo.sum, sumSquares: v.histo.sum_squares, bucketLimit: v.histo.bucket_limit, bucket: v.histo.bucket } }
        : { tag: v.tag, simpleValue: v.simple_value! })),
    }));
    const mine = Buffer.from(eventFileBytes(events, p.wall_time as number));
    const ref = Buffer.from(p.file as string, 'base64');
    assert.equal(mine.toString('hex'), ref.toString('hex'));
  });

  it('writes one event per epoch with the epoch as the step', () => {
    const dir = mkdtempSync(join(tmpdir(), 'normlab-tb-'));
    const path = writeRunEvents(dir, [1, 2].map((epoch) => ({ epoch, lr: 0.1, train_loss: 1, train_acc: 0.5, test_acc: 0.4, test_loss: 1.2, seconds: 1, samples_per_sec: 10 })), 1700000000);
    assert.deepEqual(readdirSync(dir), [path.slice(dir.length + 1)]);
    assert.match(path, /events\.out\.tfevents\.1700000000\./);
    const data = readFileSync(path);
    let o = 0;
    let records = 0;
    while (o < data.length) {
      const len = Number(data.readBigUInt64LE(o));
      assert.equal(data.readUInt32LE(o + 8), maskedCrc32c(data.subarray(o, o + 8)));
      assert.equal(data.readUInt32LE(o + 12 + len), maskedCrc32c(data.subarray(o + 12, o + 12 + len)));
      o += 16 + len;
      records++;
    }
    assert.equal(records, 3);
    assert.ok(data.includes(Buffer.from('acc/test')) && data.includes(Buffer.from('brain.Event:2')));
  });
});
