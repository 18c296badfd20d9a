import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { importTorchCheckpoint } from '../../src/interop/importTorch.js';
import { loadSafetensors } from '../../src/train/safetensors.js';
import { repoRoot } from '../helpers/fixtures.js';
import { tempDir } from '../data/files.js';

interface Expected {
  dtype: string;
  shape: number[];
  sha256: string;
}
interface Case {
  name: string;
  params: { file: string; key?: string; tensors: Record<string, Expected> };
}

const cases = (JSON.parse(readFileSync(join(repoRoot, 'test', 'fixtures', 'pt_files.json'), 'utf8')) as { cases: Case[] }).cases;
const ptFile = (name: string): string => join(repoRoot, 'test', 'fixtures', 'pt', name);
const bin = join(repoRoot, 'bin', 'normlab.js');
const cli = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, NORMLAB_NUM_THREADS: '1' } });

/** The header and raw tensor bytes of a safetensors file, read by hand (not with normlab's reader). */
function readRaw(path: string): Map<string, { dtype: string; shape: number[]; bytes: Buffer }> {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  assert.equal((8 + n) % 8, 0, 'the data section starts 8-byte aligned');
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out = new Map<string, { dtype: string; shape: number[]; bytes: Buffer }>();
  for (const [name, h] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    out.set(name, { dtype: h.dtype, shape: h.shape, bytes: buf.subarray(8 + n + h.data_offsets[0], 8 + n + h.data_offsets[1]) });
  }
  return out;
}

/** Debian's PyTorch with torchvision, when installed. */
function hasTorch(): boolean {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
  return r.status === 0;
}

describe('normlab import (PyTorch checkpoints)', () => {
  for (const c of cases) {
    it(`converts ${c.params.file} with every name, dtype, shape and byte as PyTorch holds them`, () => {
      const out = join(tempDir(), `${c.name}.safetensors`);
      importTorchCheckpoint(ptFile(c.params.file), out, c.params.key);
      const got = readRaw(out);
      assert.deepEqual([...got.keys()], Object.keys(c.params.tensors), 'the same names in the same order');
      for (const [name, e] of Object.entries(c.params.tensors)) {
        const t = got.get(name)!;
        assert.equal(t.dtype, e.dtype, `${name} dtype`);
        assert.deepEqual(t.shape, e.shape, `${name} shape`);
        assert.equal(createHash('sha256').update(t.bytes).digest('hex'), e.sha256, `${name} bytes`);
      }
    });
  }

  it('gives the values of a transposed view and a bfloat16 tensor to loadSafetensors as PyTorch has them', () => {
    const out = join(tempDir(), 'v.safetensors');
    importTorchCheckpoint(ptFile('views_and_dtypes.pt'), out);
    const { tensors } = loadSafetensors(out);
    // base = arange(24) * 0.5 - 3 viewed as 4x6; its transpose's row 1 is column 1: base[1], base[7], ...
    assert.deepEqual([...tensors.transposed.data().subarray(4, 8)], [1, 7, 13, 19].map((i) => i * 0.5 - 3));
    assert.deepEqual(tensors.rows_2_3.shape, [2, 6]);
    assert.equal(tensors.rows_2_3.data()[0], 12 * 0.5 - 3);
    assert.deepEqual(tensors.scalar.shape, []);
    assert.equal(tensors.scalar.data()[0], 2.5);
    assert.deepEqual([...tensors.i64.data()], [-(2 ** 40), 0, 7]);
  });

  it('refuses a file whose pickle would run a shell command, naming the global, and writes nothing', () => {
    const out = join(tempDir(), 'x.safetensors');
    assert.throws(() => importTorchCheckpoint(ptFile('runs_code.pt'), out), /refers to 'posix\.system', which a state dict does not need; normlab does not run pickled code/);
    assert.equal(existsSync(out), false);
  });

  it('explains that a legacy (pre-1.6) checkpoint must be saved again, and rejects files that are not checkpoints', () => {
    const dir = tempDir();
    assert.throws(() => importTorchCheckpoint(ptFile('legacy_format.pt'), join(dir, 'a.safetensors')), /legacy \(pre-1\.6, non-zip\) format; load it in PyTorch and save it again/);
    const text = join(dir, 'notes.pt');
    writeFileSync(text, 'hello world');
    assert.throws(() => importTorchCheckpoint(text, join(dir, 'b.safetensors')), /is not a PyTorch checkpoint \(expected a zip archive written by torch\.save, first bytes 68 65 6c 6c\)/);
    const cut = join(dir, 'cut.pt');
    const whole = readFileSync(ptFile('small_net.pt'));
    writeFileSync(cut, whole.subarray(0, whole.length - 200));
    assert.throws(() => importTorchCheckpoint(cut, join(dir, 'c.safetensors')), /not a zip archive|truncated|missing/);
  });

  it('names the keys there are when --key is wrong, and checks the result against a normlab network with --network', () => {
    const dir = tempDir();
    const bad = cli(['import', ptFile('checkpoint.pt'), '--key', 'state_dict', '--out', join(dir, 'a.safetensors')]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /no entry 'state_dict' \(stopped at 'state_dict'; keys there: epoch, arch, model, optimizer\)/);
    // normlab's resnet18 is the CIFAR variant (3x3 stem); torchvision's has a 7x7 stem and an fc of 1000 classes.
    const mismatch = cli(['import', ptFile('resnet18_layout.pt'), '--out', join(dir, 'r.safetensors'), '--network', 'resnet18']);
    assert.equal(mismatch.status, 1);
    assert.match(mismatch.stderr, /'conv1\.weight': shape \[64, 3, 7, 7\] does not match the model's \[64, 3, 3, 3\]/);
    assert.match(mismatch.stdout, /wrote .*r\.safetensors: 122 tensors \(102 F32, 20 I64\), 11,699,132 values/);
  });

  it('round-trips a random-init torchvision ResNet-18 written by PyTorch back into PyTorch tensor for tensor', { skip: hasTorch() ? false : 'Debian python3-torch / python3-torchvision not installed' }, () => {
    const dir = tempDir();
    const pt = join(dir, 'resnet18.pt');
    const st = join(dir, 'resnet18.safetensors');
    const py = (code: string, ...args: string[]) => spawnSync('/usr/bin/python3', ['-c', code, ...args], { encoding: 'utf8' });
    const save = py('import sys, torch, torchvision\ntorch.manual_seed(0)\ntorch.save(torchvision.models.resnet18().state_dict(), sys.argv[1])', pt);
    assert.equal(save.status, 0, save.stderr);
    const imp = cli(['import', pt, '--out', st]);
    assert.equal(imp.status, 0, imp.stderr);
    // PyTorch reads the safetensors file by hand (json header + numpy buffers) and compares.
    const check = py(
      [
        'import sys, json, struct, numpy as np, torch, torchvision',
        'torch.manual_seed(0)',
        'ref = torchvision.models.resnet18().state_dict()',
        'b = open(sys.argv[1], "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n]); h.pop("__metadata__", None)',
        'dt = {"F32": np.float32, "I64": np.int64}',
        'bad = [k for k, v in ref.items() if k not in h or not torch.equal(torch.from_numpy(np.frombuffer(b[8 + n + h[k]["data_offsets"][0]:8 + n + h[k]["data_offsets"][1]], dtype=dt[h[k]["dtype"]]).copy()).reshape(h[k]["shape"]), v)]',
        'print(json.dumps({"keys": len(h), "ref": len(ref), "order": list(h) == list(ref), "bad": bad}))',
      ].join('\n'),
      st,
    );
    assert.equal(check.status, 0, check.stderr);
    assert.deepEqual(JSON.parse(check.stdout), { keys: 122, ref: 122, order: true, bad: [] });
  });
});
