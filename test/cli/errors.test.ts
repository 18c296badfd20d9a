// Every bad flag value and bad file gets one line naming the flag or file, what was expected and
// what was found; no JavaScript stack unless NORMLAB_DEBUG=1.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, STACK_LINE } from '../helpers/cli.js';
import { rgbFolder } from '../helpers/images.js';
import { repoRoot } from '../helpers/fixtures.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'normlab-errors-'));
const TINY = ['--train-limit', '64', '--test-limit', '32', '--batch-size', '32', '--progress', 'none'];

describe('command-line messages', () => {
  it('gives the allowed range of --threads and says --threshold must be > 0', async () => {
    const cores = availableParallelism();
    for (const cmd of [['train'], ['demo'], ['eval', '--checkpoint', 'x.safetensors']]) {
      const r = await runCli([...cmd, '--threads', '2000']);
      assert.equal(r.status, 2, cmd[0]);
      assert.match(r.stderr, new RegExp(`--threads must be an integer from 0 \\(all cores\\) to ${cores} \\(the cores of this machine\\), got '2000'`));
    }
    const w = await runCli(['worker', '--redis', 'redis://127.0.0.1:1', '--threads', '0']);
    assert.match(w.stderr, new RegExp(`--threads must be an integer from 1 to ${cores}`));
    for (const v of ['0', '-1', 'x']) {
      const r = await runCli(['train', '--norm', 'fbn', '--threshold', v]);
      assert.equal(r.status, 2);
      assert.match(r.stderr, new RegExp(`--threshold must be a number > 0, got '${v}'`));
    }
  });

  it('names the flag, the allowed values and the data for --val-split, --mean, --checkpoint and --onnx', async () => {
    const v = await runCli(['train', ...TINY, '--val-split', '1.5', '--out', join(tmp(), 'a')]);
    assert.match(v.stderr, /train: valSplit \(--val-split\) must be a fraction in \(0, 1\) or a count from 1 to 63 \(the training set has 64 samples\), got 1\.5/);
    const m = await runCli(['train', ...TINY, '--mean', '0.1,0.2', '--std', '0.3,0.4', '--out', join(tmp(), 'b')]);
    assert.match(m.stderr, /train: mean \(--mean\) needs one value per channel of the data \(1\), got 2: 0\.1,0\.2/);
    const s = await runCli(['train', ...TINY, '--mean', '0.1', '--std', '0', '--out', join(tmp(), 'c')]);
    assert.match(s.stderr, /train: std \(--std\) values must be > 0, got 0/);
    const c = await runCli(['eval', '--checkpoint', join(tmp(), 'none.safetensors')]);
    assert.match(c.stderr, /--checkpoint: no file '.*none\.safetensors'/);
    const out = join(tmp(), 'run');
    assert.equal((await runCli(['train', ...TINY, '--out', out])).status, 0);
    const e = await runCli(['export', '--checkpoint', join(out, 'best.safetensors'), '--onnx', '/proc/normlab/m.onnx']);
    assert.match(e.stderr, /--onnx: cannot create directory '\/proc\/normlab': ENOENT/);
    for (const r of [v, m, s, c, e]) {
      assert.equal(r.status, 1);
      assert.doesNotMatch(r.stderr, STACK_LINE);
    }
  });

  it('rejects --set keys that are not settings, listing the allowed ones', async () => {
    for (const key of ['constructor', '__proto__', 'toString', 'epochz']) {
      const r = await runCli(['run', 'fbn-batch-sweep', '--set', `${key}=1`, '--show-config']);
      assert.equal(r.status, 2, key);
      assert.match(r.stderr, new RegExp(`fbn-batch-sweep: --set: unknown setting '${key}'; allowed settings: dataset, .*epochs`));
    }
    const ev = await runCli(['eval', '--checkpoint', 'x.safetensors', '--norm', 'fbn', '--set', 'treshold=2']);
    assert.equal(ev.status, 2);
    assert.match(ev.stderr, /^normlab: --set treshold=2: unknown key 'treshold' for --norm fbn; did you mean 'threshold'\?/);
    const noKind = await runCli(['eval', '--checkpoint', 'x.safetensors', '--set', 'eps=0.001']);
    assert.equal(noKind.status, 2);
    assert.match(noKind.stderr, /--set eps=0\.001: --set sets an option of the --norm layer; pass --norm <kind> too/);
    const typo = await runCli(['run', 'fbn-mnist', '--set', 'treshold=2', '--show-config']);
    assert.equal(typo.status, 2);
    assert.match(typo.stderr, /fbn-mnist: --set: unknown setting 'treshold'; allowed settings: .*; did you mean 'threshold'\?/);
  });

  it('names the file and the position of a truncated config.json, with a stack only under NORMLAB_DEBUG=1', async () => {
    const out = join(tmp(), 'run');
    assert.equal((await runCli(['train', ...TINY, '--out', out])).status, 0);
    const cfg = join(out, 'config.json');
    const text = readFileSync(cfg, 'utf8');
    writeFileSync(cfg, text.slice(0, 40));
    const r = await runCli(['eval', '--checkpoint', join(out, 'best.safetensors')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^normlab: --checkpoint: .*config\.json: invalid JSON: it ends early, at line \d+, column \d+ \(40 bytes; a truncated file\?\)\n$/);
    assert.doesNotMatch(r.stderr, STACK_LINE);
    const debug = await runCli(['eval', '--checkpoint', join(out, 'best.safetensors')], { NORMLAB_DEBUG: '1' });
    assert.match(debug.stderr, STACK_LINE);
    writeFileSync(cfg, text);
    const resumed = await runCli(['train', ...TINY, '--out', out, '--resume']);
    assert.equal(resumed.status, 0, resumed.stderr);
    writeFileSync(cfg, '{"lr": 0.1,, }');
    const bad = await runCli(['train', ...TINY, '--out', out, '--resume']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--resume: .*config\.json: invalid JSON at line 1, column 12/);
  });

  it('says that a PyTorch .pt checkpoint is a pickle and how to convert it', async () => {
    const pt = join(tmp(), 'model.pt');
    copyFileSync(join(repoRoot, 'test', 'fixtures', 'tiny_state_dict.pt'), pt);
    const r = await runCli(['eval', '--checkpoint', pt, '--network', 'fbn-mnist']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /model\.pt' is a zip archive: a PyTorch checkpoint \(\.pt\/\.pth, torch\.save\), whose pickle normlab does not run\. Convert it in Python/);
    assert.doesNotMatch(r.stderr, STACK_LINE);
  });

  it('builds every network for the data\'s channels, and names the image size a network needs before training', async () => {
    const data = tmp();
    await rgbFolder(data, 4, 32);
    const out = join(tmp(), 'rgb');
    const ok = await runCli(['train', '--dataset', 'folder', '--data-dir', data, '--network', 'lenet5', '--image-size', '28', '--epochs', '1', '--progress', 'none', '--out', out]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal((JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { input: { channels: number } }).input.channels, 3);
    const out2 = join(tmp(), 'mnist-net');
    const r = await runCli(['train', '--dataset', 'folder', '--data-dir', data, '--network', 'fbn-mnist', '--progress', 'none', '--out', out2]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^normlab: train: network fbn-mnist takes 28×28 images \(its fc1 takes 20×4×4 features\); the data is 64×64: pass --image-size 28\n$/);
    assert.ok(!existsSync(join(out2, 'config.json')) && !existsSync(join(out2, 'metrics.jsonl')));
    const vgg = await runCli(['train', '--network', 'vgg11', '--image-size', '16']);
    assert.equal(vgg.status, 2);
    assert.match(vgg.stderr, /--image-size: network vgg11 needs images of at least 32×32 \(five 2×2 max-pools\); the data is 16×16: pass --image-size 32 or more/);
    const alex = await runCli(['train', '--network', 'alexnet', '--image-size', '32']);
    assert.match(alex.stderr, /network alexnet needs images of at least 63×63/);
    const ev = await runCli(['eval', '--checkpoint', join(out, 'best.safetensors'), '--image-size', '20']);
    assert.equal(ev.status, 1);
    assert.match(ev.stderr, /loadModel: network lenet5 takes 28×28 images .*the data is 20×20/);
  });
});
