// Reading files that may be gzip-compressed. A file is treated as gzip when its first two bytes
// are the gzip magic 1f 8b, whatever its name; a name ending in .gz without that magic is an error.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DataFormatError } from './errors.js';

/** True when the bytes start with the gzip magic number 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Decompresses gzip bytes; errors name the file. */
export function gunzipFile(bytes: Uint8Array, file: string): Buffer {
  try {
    return gunzipSync(bytes);
  } catch (e) {
    throw new DataFormatError(file, `not a valid gzip file (corrupt or truncated: ${(e as Error).message})`);
  }
}

/** The contents of a file, decompressed when it is gzip. */
export function readMaybeGzip(file: string): Buffer {
  const raw = readFileSync(file);
  if (isGzip(raw)) return gunzipFile(raw, file);
  if (file.endsWith('.gz')) {
    const head = [...raw.subarray(0, 2)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new DataFormatError(file, `named .gz but is not gzip: expected magic bytes 1f 8b, got ${head || 'an empty file'}`);
  }
  return raw;
}
