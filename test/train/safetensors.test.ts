import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { tensor } from '../../src/index.js';
import { saveSafetensors, loadSafetensors, encodeSafetensors, decodeSafetensors } from '../../src/train/safetensors.js';
import { md5Seed } from '../../src/train/seeds.js';
import { loadFixtures, repoRoot } from '../helpers/fixtures.js';

describe('safetensors', () => {
  it('reads a file written by Python with F32, F64, F16 and I64 tensors', () => {
    const f = loadSafetensors(join(repoRoot, 'test', 'fixtures', 'python_written.safetensors'));
    const fx = loadFixtures('safetensors')[0];
    assert.deepEqual(f.tensors['conv.weight'].shape, [4, 3, 2, 2]);
    assert.deepEqual([...f.tensors['conv.weight'].buffer], [...fx.tensors.conv_weight.data]);
    assert.deepEqual([...f.tensors['bn.running_var'].buffer], [1.5, 2.25]);
    assert.deepEqual(f.tensors['bn.num_batches_tracked'].shape, []);
    assert.equal(f.tensors['bn.num_batches_tracked'].item(), 7);
    assert.deepEqual([...f.tensors.half.buffer].map((v) => Math.round(v * 1e4) / 1e4), [1, -2.5, 0.1]);
    assert.equal(f.metadata.format, 'pt');
  });

  it('round-trips tensors and writes num_batches_tracked as int64', () => {
    const dir = mkdtempSync(join(tmpdir(), 'normlab-st-'));
    const path = join(dir, 'm.safetensors');
    const sd = { 'a.weight': tensor([1, 2, 3, 4, 5, 6], [2, 3]), 'bn.num_batches_tracked': tensor([12], []) };
    saveSafetensors(path, sd, { epoch: '3' });
    const back = loadSafetensors(path);
    assert.deepEqual([...back.tensors['a.weight'].buffer], [1, 2, 3, 4, 5, 6]);
    assert.equal(back.tensors['bn.num_batches_tracked'].item(), 12);
    assert.equal(back.metadata.epoch, '3');
    const header = JSON.parse(encodeSafetensors(sd).subarray(8).toString('utf8').split('\u0000')[0].trimEnd().replace(/[^}]*$/, ''));
    assert.equal(header['bn.num_batches_tracked'].dtype, 'I64');
    assert.deepEqual(readdirSync(dir), ['m.safetensors']);
  });

  it('names the file and the problem for a truncated file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'normlab-st-'));
    const path = join(dir, 'bad.safetensors');
    const good = encodeSafetensors({ w: tensor([1, 2, 3], [3]) });
    writeFileSync(path, good.subarray(0, good.length - 4));
    assert.throws(() => loadSafetensors(path), /bad\.safetensors.*tensor 'w'/);
    assert.throws(() => decodeSafetensors(Buffer.from([1, 2])), /too short/);
    assert.equal(existsSync(path), true);
  });
});

describe('MD5-derived seeds', () => {
  it('derives the seeds of seed 001 (0 -> 4186399962, 1 -> 1869972635)', () => {
    assert.equal(md5Seed(0), 4186399962);
    assert.equal(md5Seed(1), 1869972635);
  });
});
