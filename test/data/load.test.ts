import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { data } from '../../src/index.js';
import { tempDir } from './files.js';

const { loadDataset, loadDatasetSync, MissingDataError, downloadFile, defaultCacheDir } = data;

describe('loadDataset', () => {
  it('says which files to put where and names --data-dir and NORMLAB_DATA when data is missing', async () => {
    const dataDir = tempDir();
    const cache = tempDir();
    await assert.rejects(
      () => loadDataset('cifar10', { dataDir, cacheDir: cache }),
      (e: Error) =>
        e instanceof MissingDataError && /--data-dir/.test(e.message) && /NORMLAB_DATA/.test(e.message) &&
        /cifar-10-batches-bin\/ with data_batch_1\.bin/.test(e.message) && e.message.includes(join(cache, 'cifar10')) && e.message.includes(dataDir),
    );
    assert.throws(() => loadDatasetSync('mnist', { cacheDir: cache, split: 'test' }), /t10k-images-idx3-ubyte or t10k-images-idx3-ubyte\.gz.*--data-dir/s);
  });

  it('rejects unknown dataset names and splits', () => {
    assert.throws(() => loadDatasetSync('imagenet' as 'mnist'), /unknown dataset "imagenet", expected one of mnist, mnist-bundled/);
    assert.throws(() => loadDatasetSync('mnist-bundled', { split: 'val' as 'test' }), /split must be 'train' or 'test'/);
  });

  it('uses NORMLAB_DATA as the cache root', () => {
    const saved = process.env.NORMLAB_DATA;
    process.env.NORMLAB_DATA = '/some/where';
    try {
      assert.equal(defaultCacheDir(), '/some/where');
    } finally {
      if (saved === undefined) delete process.env.NORMLAB_DATA;
      else process.env.NORMLAB_DATA = saved;
    }
  });
});

describe('downloadFile', () => {
  const body = Buffer.from('the bytes of a dataset file\n'.repeat(1000));
  const md5 = createHash('md5').update(body).digest('hex');
  let server: Server;
  let base = '';
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/file') res.end(body);
      else if (req.url === '/cut') {
        // Promise the full length, send half, then drop the connection.
        res.writeHead(200, { 'content-length': String(body.length) });
        res.write(body.subarray(0, body.length / 2));
        setTimeout(() => res.destroy(), 10);
      } else {
        res.statusCode = 404;
        res.end('no');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('falls back to the next mirror and stores the verified file under its name', async () => {
    const dir = tempDir();
    const dest = join(dir, 'f.gz');
    await downloadFile({ name: 'f.gz', urls: [`${base}/missing`, `${base}/file`], checksum: { algorithm: 'md5', hex: md5 } }, dest);
    assert.deepEqual(readFileSync(dest), body);
    assert.deepEqual(readdirSync(dir), ['f.gz']);
  });

  it('leaves no file in the cache when the checksum does not match', async () => {
    const dir = tempDir();
    const remote = { name: 'f.gz', urls: [`${base}/file`], checksum: { algorithm: 'sha256' as const, hex: '0'.repeat(64) } };
    await assert.rejects(() => downloadFile(remote, join(dir, 'f.gz')), /SHA256 mismatch: expected 0{64}, got [0-9a-f]{64}/);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('leaves no partial file when the connection drops mid-transfer', async () => {
    const dir = tempDir();
    await assert.rejects(() => downloadFile({ name: 'f.gz', urls: [`${base}/cut`], checksum: { algorithm: 'md5', hex: md5 } }, join(dir, 'f.gz')), /download of f\.gz failed/);
    assert.deepEqual(readdirSync(dir), []);
    assert.equal(existsSync(join(dir, 'f.gz')), false);
  });
});
