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

/** A safetensors buffer with this header (as given) and `dataBytes` bytes of data. */
function withHeader(header: unknown, dataBytes: number): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([head, json, Buffer.alloc(dataBytes, 1)]);
}

describe('safetensors validation', () => {
  const f32 = (shape: number[], offsets: unknown): Record<string, unknown> => ({ dtype: 'F32', shape, data_offsets: offsets });

  it('rejects negative, out-of-range and overlapping offsets, naming the tensor', () => {
    assert.throws(() => decodeSafetensors(withHeader({ w: f32([3], [-8, 4]) }, 12), 'x.safetensors'),
      /loadSafetensors: x\.safetensors: tensor 'w' has data_offsets \[-8,4\]; expected \[begin, end\], integers >= 0/);
    assert.throws(() => decodeSafetensors(withHeader({ w: f32([3], [4, 16]) }, 12)), /tensor 'w' \(F32 \[3\]\) has data_offsets \[4, 16\] outside the 12-byte data section/);
    assert.throws(() => decodeSafetensors(withHeader({ w: f32([3], [12, 0]) }, 12)), /tensor 'w' .* outside/);
    assert.throws(() => decodeSafetensors(withHeader({ a: f32([3], [0, 12]), b: f32([2], [4, 12]) }, 12)), /tensor 'b' at \[4, 12\] overlaps tensor 'a' \(ending at 12\)/);
    assert.throws(() => decodeSafetensors(withHeader({ a: f32([2], [0, 8]) }, 12)), /the data section has 12 bytes but its tensors end at byte 8/);
    assert.throws(() => decodeSafetensors(withHeader({ a: f32([1], [4, 8]) }, 8)), /bytes \[0, 4\] of the data section belong to no tensor \(before tensor 'a'\)/);
    assert.throws(() => decodeSafetensors(withHeader({ w: f32([2], [0, 12]) }, 12)), /tensor 'w' \(F32 \[2\]\) needs 8 bytes but data_offsets \[0, 12\] hold 12/);
  });

  it('rejects bad dtypes, shapes, metadata and headers with what was found', () => {
    assert.throws(() => decodeSafetensors(withHeader({ w: { dtype: 'F8', shape: [1], data_offsets: [0, 1] } }, 1)), /tensor 'w' has dtype "F8"; expected one of F32, F64/);
    assert.throws(() => decodeSafetensors(withHeader({ w: f32([-1, 3], [0, 12]) }, 12)), /tensor 'w' has shape \[-1,3\]; expected a list of integers >= 0/);
    assert.throws(() => decodeSafetensors(withHeader({ w: f32([1.5], [0, 4]) }, 4)), /has shape \[1\.5\]/);
    assert.throws(() => decodeSafetensors(withHeader({ w: 7 }, 0)), /tensor 'w' has no \{dtype, shape, data_offsets\} entry \(found 7\)/);
    assert.throws(() => decodeSafetensors(withHeader({ __metadata__: { epoch: 3 } }, 0)), /__metadata__ entry that is not a map of strings/);
    assert.throws(() => decodeSafetensors(withHeader([1, 2], 0)), /the header does not start with '\{'/);
    const huge = Buffer.alloc(64);
    huge.writeBigUInt64LE(0x7fffffffffffn);
    assert.throws(() => decodeSafetensors(huge), /is not a safetensors file: its first 8 bytes declare a 140737488355327-byte header \(at most 100000000 allowed\)/);
    const cut = encodeSafetensors({ w: tensor([1, 2, 3], [3]) });
    assert.throws(() => decodeSafetensors(cut.subarray(0, 20), 'cut.safetensors'), /cut\.safetensors declares a \d+-byte header but has only 12 bytes after the length \(a truncated file\?\)/);
    const badJson = withHeader({ w: f32([0], [0, 0]) }, 0);
    badJson[badJson.length - 1] = 0x2c;
    assert.throws(() => decodeSafetensors(badJson), /malformed JSON header/);
    assert.deepEqual(Object.keys(decodeSafetensors(withHeader({ w: f32([0], [0, 0]) }, 0)).tensors), ['w']);
  });

  it('says that a PyTorch .pt file is a pickle and how to convert it', () => {
    for (const f of ['tiny_state_dict.pt', 'tiny_state_dict_legacy.pt']) {
      const path = join(repoRoot, 'test', 'fixtures', f);
      assert.throws(() => loadSafetensors(path), (err: Error) => {
        assert.match(err.message, new RegExp(`loadSafetensors: '.*${f.replace('.', '\\.')}' is (a zip archive: a PyTorch checkpoint|a Python pickle \\(a legacy PyTorch)`));
        assert.match(err.message, /save_file\(torch\.load\('model\.pt', map_location='cpu'\), 'model\.safetensors'\)/);
        return true;
      });
    }
  });
});
