// Downloads into the cache with checksum checks.
//
// The cache folder is $NORMLAB_DATA, else ~/.cache/normlab. A download streams into a temporary
// file next to its destination, hashing as it goes; only a complete file with the right
// checksum is renamed into place, so a failed, interrupted or mismatching download leaves no
// partial file in the cache. Uses the global fetch (Node >= 18); mirrors are tried in order.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Checksum, RemoteFile } from './sources.js';
import { ensureDir } from '../io/atomic.js';

/** The cache root: $NORMLAB_DATA or ~/.cache/normlab. */
export function defaultCacheDir(): string {
  const env = process.env.NORMLAB_DATA;
  return env !== undefined && env !== '' ? env : join(homedir(), '.cache', 'normlab');
}

/** Hex digest of a file. */
export async function hashFile(file: string, algorithm: Checksum['algorithm']): Promise<string> {
  const hash = createHash(algorithm);
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

let tempCounter = 0;

/**
 * Downloads `remote` to `dest` (creating its folder) unless `dest` already exists, trying each
 * URL in turn. Returns `dest`. Throws when every URL fails or the checksum does not match;
 * the error lists each URL's failure.
 */
export async function downloadFile(remote: RemoteFile, dest: string): Promise<string> {
  if (existsSync(dest)) return dest;
  if (typeof fetch !== 'function') throw new Error(`download of ${remote.name}: no global fetch in this Node version`);
  ensureDir(dirname(dest), 'download');
  const failures: string[] = [];
  for (const url of remote.urls) {
    const tmp = `${dest}.part-${process.pid}-${tempCounter++}`;
    try {
      const res = await fetch(url);
      if (!res.ok || res.body === null) throw new Error(`HTTP ${res.status} ${res.statusText}`);
      const hash = createHash(remote.checksum.algorithm);
      const hashing = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          done(null, chunk);
        },
      });
      await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), hashing, createWriteStream(tmp));
      const actual = hash.digest('hex');
      if (actual !== remote.checksum.hex.toLowerCase()) {
        throw new Error(`${remote.checksum.algorithm.toUpperCase()} mismatch: expected ${remote.checksum.hex}, got ${actual}`);
      }
      renameSync(tmp, dest);
      return dest;
    } catch (e) {
      failures.push(`${url}: ${(e as Error).message}`);
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  throw new Error(`download of ${remote.name} failed:\n  ${failures.join('\n  ')}`);
}
