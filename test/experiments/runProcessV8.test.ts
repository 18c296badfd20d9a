import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const moduleUrl = new URL('../../src/experiments/runProcessV8.js', import.meta.url).href;

describe('run process V8 settings', () => {
  it('frees dead ArrayBuffers within the scavenge that finds them, so the external-memory count drops at once', () => {
    // 10 MB of young ArrayBuffers, dropped, then one scavenge: with the setting the count V8 and
    // Node keep of ArrayBuffer memory is back near zero when gc() returns; with V8's default
    // (sweeping on a background thread) it usually still shows the 10 MB at that point.
    const script = `
      await import(${JSON.stringify(moduleUrl)});
      let keep = [];
      for (let i = 0; i < 10; i++) keep.push(new Float32Array(256 * 1024));
      const before = process.memoryUsage().arrayBuffers;
      keep = null;
      globalThis.gc({ type: 'minor' });
      console.log(JSON.stringify({ before, after: process.memoryUsage().arrayBuffers }));`;
    const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', 'V8 knows every flag the settings use (an unknown one prints "unrecognized flag")');
    const { before, after } = JSON.parse(r.stdout) as { before: number; after: number };
    assert.ok(before >= 10 * 1024 * 1024, `allocated ${before} bytes`);
    assert.ok(after < before / 10, `ArrayBuffer bytes after the scavenge: ${after} of ${before}`);
  });
});
