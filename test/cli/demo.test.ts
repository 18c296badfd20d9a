import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { repoRoot } from '../helpers/fixtures.js';

const bin = join(repoRoot, 'bin', 'normlab.js');
const run = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, NORMLAB_NUM_THREADS: '1' } });

describe('normlab demo', () => {
  it('trains BN, FBN and no normalization, writes a report with the reading, the statistics and the outlier gallery, and prints three commands that exist', () => {
    const out = mkdtempSync(join(tmpdir(), 'normlab-demo-'));
    try {
      const r = run(['demo', '--epochs', '1', '--out', out]);
      assert.equal(r.status, 0, r.stderr);
      for (const d of ['bn', 'fbn', 'none']) assert.ok(existsSync(join(out, d, 'results.json')), `${d}/results.json`);
      const acc = ['bn', 'none'].map((d) => (JSON.parse(readFileSync(join(out, d, 'results.json'), 'utf8')) as { final: { test_acc: number } }).final.test_acc);
      // One epoch of LeNet-5 at lr 0.01: BN trains much faster than no normalization (92.9% vs 46.0% with seed 1).
      assert.ok(acc[0] > acc[1] + 0.1, `BN ${acc[0]} vs none ${acc[1]}`);
      const report = join(out, 'report.html');
      assert.ok(r.stdout.includes(`report: ${report}`), r.stdout);
      const reading = r.stdout.split(`report: ${report}\n\n`)[1].split('\n\n')[0].split('\n');
      assert.equal(reading.length, 2);
      assert.match(reading[0], /^Normalizing helps: BN [\d.]+% vs [\d.]+% without normalization \(\+[\d.]+ pp\) after 1 epoch\(s\)/);
      assert.match(reading[1], /^Why FBN exists: BN's inputs reach [\d.]+σ, where [\d,]+ Gaussian values would stop near [\d.]+σ/);
      const html = readFileSync(report, 'utf8');
      assert.ok(html.indexOf('<h2>Reading</h2>') < html.indexOf('<h2>Runs</h2>'), 'the reading comes first');
      assert.match(html, /<h2>Test digits whose features\.\d+ input in channel \d+ exceeds 4σ/);
      assert.ok((html.match(/<img src="data:image\/png;base64,/g) ?? []).length >= 1, 'the gallery has images');
      assert.equal((html.match(/<svg/g) ?? []).length, 5, 'accuracy, loss, time, quantiles, tail');
      const next = r.stdout.split('next:\n')[1].trim().split('\n').map((l) => l.trim().split(/\s+/));
      assert.equal(next.length, 3);
      for (const cmd of next) {
        assert.equal(cmd[0], 'normlab');
        const help = run([cmd[1], '--help']);
        assert.equal(help.status, 0, `normlab ${cmd[1]} --help: ${help.stderr}`);
        assert.ok(help.stdout.startsWith(`Usage: normlab ${cmd[1]} `), `'${cmd[1]}' is not a normlab command`);
        for (const flag of cmd.filter((w) => w.startsWith('--'))) assert.ok(help.stdout.includes(flag), `normlab ${cmd[1]} has no ${flag}`);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
