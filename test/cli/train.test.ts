import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { repoRoot } from '../helpers/fixtures.js';

const bin = join(repoRoot, 'bin', 'normlab.js');
const run = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, NORMLAB_NUM_THREADS: '1' } });

describe('normlab train', () => {
  it('reaches more than 80% test accuracy on a slice of the bundled digits', () => {
    const out = mkdtempSync(join(tmpdir(), 'normlab-cli-'));
    const r = run(['train', '--dataset', 'mnist-bundled', '--network', 'fbn-mnist', '--norm', 'fbn', '--epochs', '2', '--lr', '0.05',
      '--momentum', '0.9', '--train-limit', '2000', '--test-limit', '500', '--progress', 'none', '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { final: { test_acc: number } };
    assert.ok(results.final.test_acc > 0.8, `test accuracy ${results.final.test_acc}`);
    // Without --set, config.json stores the spec as it always has (resume compares it).
    assert.deepEqual((JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { norm: unknown }).norm, { kind: 'fbn', threshold: 4 });
  });

  it('stores the norm options of --set in config.json as one NormSpec', () => {
    const out = mkdtempSync(join(tmpdir(), 'normlab-cli-'));
    const r = run(['train', '--dataset', 'mnist-bundled', '--network', 'lenet5', '--norm', 'fbn', '--set', 'threshold=2', '--set', 'momentum=0.05', '--set', 'evalMode=batch',
      '--epochs', '1', '--train-limit', '64', '--test-limit', '32', '--batch-size', '32', '--progress', 'none', '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual((JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { norm: unknown }).norm, { kind: 'fbn', threshold: 2, momentum: 0.05, evalMode: 'batch' });
  });

  it("rejects --set treshold=2 naming the key, the kind, the allowed keys and 'threshold', before loading any data", () => {
    const r = run(['train', '--network', 'lenet5', '--norm', 'fbn', '--set', 'treshold=2', '--data-dir', '/nonexistent']);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, "normlab: --set treshold=2: unknown key 'treshold' for --norm fbn; did you mean 'threshold'? (--norm fbn takes threshold, eps, momentum, affine, trackRunningStats, bnWeight, evalMode, pooled, pooled1d)\n");
  });

  it('rejects bad --set values, norm flags of another kind and a threshold given twice, naming flag, expected and actual', () => {
    const cases: [string[], RegExp][] = [
      [['--norm', 'fbn', '--set', 'threshold=abc'], /--set threshold=abc: threshold of --norm fbn: expected a number > 0, got 'abc'/],
      [['--norm', 'gn', '--set', 'groups=0'], /--set groups=0: groups of --norm gn: expected an integer >= 1, got '0'/],
      [['--norm', 'bn', '--set', 'evalMode=batch'], /unknown key 'evalMode' for --norm bn \(--norm bn takes eps, momentum, affine, trackRunningStats, bnWeight\)/],
      [['--norm', 'bn', '--threshold', '3'], /--threshold 3: --norm bn takes no threshold/],
      [['--norm', 'fbn', '--threshold', '3', '--set', 'threshold=2'], /--threshold 3 and --set threshold=2 both set the threshold of --norm fbn: give one/],
      [['--norm', 'bn', '--set', 'bnWeight=0.5'], /--set bnWeight=0\.5: give the BN layers' initial gamma with --bn-weight/],
    ];
    for (const [args, message] of cases) {
      const r = run(['train', '--network', 'lenet5', ...args, '--data-dir', '/nonexistent']);
      assert.equal(r.status, 2, args.join(' '));
      assert.match(r.stderr, message);
    }
  });

  it('exits with code 2 and names the flag for unknown flags and bad values', () => {
    const unknown = run(['train', '--bogus']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown option '--bogus'/);
    const bad = run(['train', '--lr', 'fast']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--lr must be a number >= 0, got 'fast'/);
    const choice = run(['train', '--norm', 'xx']);
    assert.equal(choice.status, 2);
    assert.match(choice.stderr, /Allowed choices are bn, fbn/);
  });

  it('refuses --bn-weight on a network without BN layers before loading any data', () => {
    const r = run(['train', '--network', 'lenet5', '--norm', 'gn', '--bn-weight', '0.1', '--data-dir', '/nonexistent']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--bn-weight 0\.1 initialises BN layers' gamma, but --network lenet5 with --norm gn has none/);
  });

  it('prints the parameter groups at the start of training', () => {
    const out = mkdtempSync(join(tmpdir(), 'normlab-cli-'));
    const r = run(['train', '--network', 'lenet5', '--bn-weight', '0.1', '--c', '100', '--lr', '0.1', '--weight-decay', '0.0005',
      '--train-limit', '64', '--test-limit', '32', '--progress', 'lines', '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    // LeNet-5: 5 conv/linear weights (61,470 values); 5 biases + 4 BN betas; 4 BN gammas (226 values).
    assert.match(r.stderr, /param group decay: 5 tensors, 61470 values, lr 0\.1, weight decay 0\.0005\n/);
    assert.match(r.stderr, /param group no_decay: 9 tensors, 462 values, lr 0\.1, weight decay 0\n/);
    assert.match(r.stderr, /param group bn_weight: 4 tensors, 226 values, lr 0\.001, weight decay 0\n/);
  });

  it('lists every flag with its default in --help', () => {
    const r = run(['train', '--help']);
    assert.equal(r.status, 0);
    for (const flag of ['--dataset', '--network', '--norm', '--threshold', '--batch-size', '--epochs', '--steps-per-epoch', '--optimizer', '--lr', '--scheduler', '--momentum',
      '--weight-decay', '--bn-weight', '--c ', '--input-norm', '--l1', '--augment', '--seed', '--threads', '--data-dir', '--out', '--resume']) {
      assert.ok(r.stdout.includes(flag), `missing ${flag}`);
    }
    assert.match(r.stdout, /default:\s+"mnist-bundled"/);
  });

  it('says where to put the files when a dataset is missing', () => {
    const r = run(['train', '--dataset', 'cifar10', '--data-dir', mkdtempSync(join(tmpdir(), 'normlab-empty-')), '--progress', 'none']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--data-dir/);
  });
});

describe('normlab report', () => {
  it('writes a report for a run directory and exits 2 without one', () => {
    const out = mkdtempSync(join(tmpdir(), 'normlab-cli-'));
    const trained = run(['train', '--epochs', '1', '--train-limit', '300', '--test-limit', '100', '--progress', 'none', '--out', out]);
    assert.equal(trained.status, 0, trained.stderr);
    const file = join(out, 'report.html');
    const r = run(['report', out, '--out', file]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(readFileSync(file, 'utf8'), /<svg/);
    assert.equal(run(['report']).status, 2);
  });
});
