import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listRuns, serveRuns } from '../../src/report/serve.js';
import { tempDir } from '../data/files.js';

const epoch = (e: number, acc: number) => JSON.stringify({ epoch: e, lr: 0.01, train_loss: 1 / e, train_acc: acc, test_loss: 1.1 / e, test_acc: acc + 0.01, seconds: 1, samples_per_sec: 100 });

/** root/a (finished, 2 epochs, labelled), root/group/b (running: 1 epoch, a half-written second line), root/a/tensorboard ignored. */
function runsFolder(): string {
  const root = tempDir('normlab-serve-');
  mkdirSync(join(root, 'a', 'tensorboard'), { recursive: true });
  writeFileSync(join(root, 'a', 'config.json'), JSON.stringify({ epochs: 2, label: 'BN' }));
  writeFileSync(join(root, 'a', 'metrics.jsonl'), `${epoch(1, 0.5)}\n${epoch(2, 0.7)}\n`);
  writeFileSync(join(root, 'a', 'results.json'), '{}');
  writeFileSync(join(root, 'a', 'tensorboard', 'config.json'), '{}');
  mkdirSync(join(root, 'group', 'b'), { recursive: true });
  writeFileSync(join(root, 'group', 'b', 'config.json'), JSON.stringify({ epochs: 5 }));
  writeFileSync(join(root, 'group', 'b', 'metrics.jsonl'), `${epoch(1, 0.4)}\n{"epoch": 2, "train_lo`);
  return root;
}

function get(url: string, path: string, host?: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  const u = new URL(url);
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port: u.port, path, method, headers: host === undefined ? {} : { host } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => ok({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', fail);
    req.end();
  });
}

describe('normlab serve', () => {
  it('lists running and finished runs under a folder, skipping half-written metric lines and TensorBoard folders', () => {
    const runs = listRuns(runsFolder());
    assert.deepEqual(runs.map((r) => [r.id, r.label, r.status, r.epochs, r.plannedEpochs]), [['a', 'BN', 'finished', 2, 2], ['group/b', 'group/b', 'running', 1, 5]]);
    assert.equal(runs[0].last?.test_acc, 0.71);
  });

  it('serves the page and the runs on 127.0.0.1, draws the chosen runs side by side and refuses other hosts and methods', async () => {
    const root = runsFolder();
    const { server, url } = await serveRuns(root, { port: 0 });
    try {
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      assert.deepEqual(server.address() && (server.address() as { address: string }).address, '127.0.0.1');
      const host = new URL(url).host;
      const page = await get(url, '/', host);
      assert.equal(page.status, 200);
      assert.match(page.body, /connect-src 'self'/);
      const runs = JSON.parse((await get(url, '/api/runs', host)).body) as { id: string }[];
      assert.deepEqual(runs.map((r) => r.id), ['a', 'group/b']);
      const charts = JSON.parse((await get(url, '/api/charts?run=a&run=group%2Fb&run=..%2Fetc', host)).body) as { acc: string; loss: string };
      for (const svg of [charts.acc, charts.loss]) {
        assert.match(svg, /^<svg/);
        assert.ok(svg.includes('a (BN)') && svg.includes('group/b'), 'both runs in the legend');
      }
      assert.deepEqual(JSON.parse((await get(url, '/api/charts?run=nothing', host)).body), { acc: '', loss: '' });
      const foreign = await get(url, '/api/runs', 'attacker.example:80');
      assert.equal(foreign.status, 403);
      assert.match(foreign.body, /answers requests for 127\.0\.0\.1:\d+ only, not 'attacker\.example:80'/);
      assert.equal((await get(url, '/api/runs', host, 'POST')).status, 405);
      assert.equal((await get(url, '/config.json', host)).status, 404);
      // A new epoch shows on the next request.
      appendFileSync(join(root, 'a', 'metrics.jsonl'), `${epoch(3, 0.8)}\n`);
      assert.equal((JSON.parse((await get(url, '/api/runs', host)).body) as { epochs: number }[])[0].epochs, 3);
    } finally {
      server.close();
    }
  });

  it('says so when the folder does not exist', async () => {
    await assert.rejects(serveRuns('/nonexistent/runs', { port: 0 }), /serveRuns: '\/nonexistent\/runs' is not a folder/);
  });
});
