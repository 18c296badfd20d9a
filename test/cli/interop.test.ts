import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import * as ort from 'onnxruntime-web';
import { repoRoot } from '../helpers/fixtures.js';
import { tempDir } from '../data/files.js';
import { loadSafetensors } from '../../src/train/safetensors.js';

const bin = join(repoRoot, 'bin', 'normlab.js');
const run = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, NORMLAB_NUM_THREADS: '1' } });

/** root/train and root/val of two gray classes: 'dark' (value 40) and 'light' (value 210). */
async function grayFolder(root: string): Promise<void> {
  for (const [split, count] of [['train', 12], ['val', 4]] as const) {
    for (const [cls, v] of [['dark', 40], ['light', 210]] as const) {
      mkdirSync(join(root, split, cls), { recursive: true });
      for (let i = 0; i < count; i++) {
        const px = Buffer.alloc(30 * 30, v + ((i * 7) % 20));
        await sharp(px, { raw: { width: 30, height: 30, channels: 1 } }).toColourspace('b-w').png().toFile(join(root, split, cls, `${i}.png`));
      }
    }
  }
}

describe('normlab eval, predict and export', () => {
  it('evaluates, predicts and exports a run trained on an image folder', async () => {
    const root = tempDir();
    await grayFolder(root);
    const out = join(tempDir(), 'run');
    const train = run(['train', '--dataset', 'folder', '--data-dir', root, '--network', 'lenet5', '--image-size', '28', '--epochs', '3',
      '--batch-size', '8', '--lr', '0.05', '--progress', 'none', '--out', out]);
    assert.equal(train.status, 0, train.stderr);
    const ckpt = join(out, 'best.safetensors');

    const ev = run(['eval', '--checkpoint', ckpt, '--dataset', 'folder', '--data-dir', root]);
    assert.equal(ev.status, 0, ev.stderr);
    assert.match(ev.stdout, /accuracy [\d.]+% on 8 samples/);
    assert.match(ev.stdout, /confusion matrix/);
    const result = JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8')) as { classNames: string[]; confusion: number[][]; perClass: number[] };
    assert.deepEqual(result.classNames, ['dark', 'light']);
    assert.equal(result.confusion.flat().reduce((a, b) => a + b, 0), 8);

    const images = [join(root, 'val', 'dark', '0.png'), join(root, 'val', 'light', '1.png')];
    const pr = run(['predict', '--checkpoint', ckpt, '--top-k', '2', '--json', ...images]);
    assert.equal(pr.status, 0, pr.stderr);
    const preds = JSON.parse(pr.stdout) as { file: string; top: { name: string; probability: number }[] }[];
    assert.equal(preds.length, 2);
    for (const p of preds) {
      assert.deepEqual(p.top.map((t) => t.name).sort(), ['dark', 'light']);
      assert.ok(Math.abs(p.top[0].probability + p.top[1].probability - 1) < 1e-5);
      assert.ok(p.top[0].probability >= p.top[1].probability);
    }
    const table = run(['predict', '--checkpoint', ckpt, images[0]]);
    assert.match(table.stdout, /1\. (dark|light)\s+[\d.]+%/);

    const onnx = join(out, 'model.onnx');
    const ex = run(['export', '--checkpoint', ckpt, '--onnx', onnx]);
    assert.equal(ex.status, 0, ex.stderr);
    assert.match(ex.stdout, /BatchNormalization/);
    const session = await ort.InferenceSession.create(onnx);
    const r = await session.run({ input: new ort.Tensor('float32', new Float32Array(2 * 28 * 28), [2, 1, 28, 28]) });
    assert.deepEqual(r.output.dims, [2, 2]);

    const recal = run(['recalibrate', '--checkpoint', ckpt, '--dataset', 'folder', '--data-dir', root, '--batches', '2', '--batch-size', '8']);
    assert.equal(recal.status, 0, recal.stderr);
    assert.match(recal.stdout, /precise BN over 2 batches of 8: test accuracy [\d.]+% -> [\d.]+%/);
    const before = loadSafetensors(ckpt).tensors;
    const after = loadSafetensors(join(out, 'recalibrated.safetensors')).tensors;
    const means = Object.keys(before).filter((k) => k.endsWith('running_mean'));
    assert.ok(means.length > 0);
    assert.ok(means.some((k) => after[k].data().some((v, i) => v !== before[k].data()[i])), 'running statistics were recomputed');
    for (const k of Object.keys(before).filter((n) => !/running_|num_batches/.test(n))) assert.deepEqual(after[k].data(), before[k].data(), k);
  });

  it('builds the network from flags when the checkpoint has no config.json, and reports what is missing', () => {
    const out = join(tempDir(), 'run');
    assert.equal(run(['train', '--network', 'fbn-mnist', '--train-limit', '200', '--test-limit', '50', '--progress', 'none', '--out', out]).status, 0);
    const lone = join(tempDir(), 'lone.safetensors');
    copyFileSync(join(out, 'best.safetensors'), lone);
    const missing = run(['export', '--checkpoint', lone, '--onnx', join(tempDir(), 'm.onnx')]);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /no config\.json .* pass --network/);
    const onnx = join(tempDir(), 'm.onnx');
    const ok = run(['export', '--checkpoint', lone, '--network', 'fbn-mnist', '--norm', 'bn', '--onnx', onnx, '--fold-bn']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.ok(existsSync(onnx));
    const wrong = run(['export', '--checkpoint', lone, '--network', 'lenet5', '--onnx', onnx]);
    assert.notEqual(wrong.status, 0);
    assert.match(wrong.stderr, /loadStateDict: \d+ problem\(s\)/);
  });
});
