import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/fixtures.js';

const bin = join(repoRoot, 'bin', 'normlab.js');
const run = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

describe('README command table', () => {
  it('has one row for every normlab command, and every example uses only flags that command has', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const rows = [...readme.matchAll(/^\| `([a-z]+)` \| [^|]+ \| `(npx normlab [^`]+)` \|$/gm)].map((m) => ({ command: m[1], example: m[2] }));
    const help = run(['--help']).stdout;
    const commands = [...help.split('Commands:')[1].matchAll(/^ {2}([a-z]+)[ [<]/gm)].map((m) => m[1]).filter((c) => c !== 'help');
    assert.deepEqual(rows.map((r) => r.command).sort(), [...commands].sort());
    for (const { command, example } of rows) {
      const words = example.split(/\s+/);
      assert.equal(words[2], command, `the example of ${command} runs ${command}`);
      const usage = run([command, '--help']).stdout;
      assert.ok(usage.startsWith(`Usage: normlab ${command} `), usage);
      for (const flag of words.filter((w) => w.startsWith('--'))) assert.ok(new RegExp(`${flag}[ ,]`).test(usage), `normlab ${command} has no ${flag}`);
    }
  });
});
