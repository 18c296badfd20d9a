// A minimal reader for (ustar / GNU) tar archives held in memory, enough to take the CIFAR
// binary archives apart without a tar program. Regular files only; names are the ustar
// prefix + name, or a GNU long name ('L' entry).
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { DataFormatError } from './errors.js';

export interface TarEntry {
  name: string;
  data: Uint8Array;
}

function field(block: Uint8Array, start: number, len: number): string {
  let end = start;
  while (end < start + len && block[end] !== 0) end++;
  return Buffer.from(block.subarray(start, end)).toString('utf8');
}

/** The regular files of a tar archive (views into `bytes`). */
export function readTar(bytes: Uint8Array, file: string): TarEntry[] {
  const entries: TarEntry[] = [];
  let pos = 0;
  let longName: string | null = null;
  while (pos + 512 <= bytes.length) {
    const block = bytes.subarray(pos, pos + 512);
    if (block.every((b) => b === 0)) break;
    const sizeText = field(block, 124, 12).trim();
    const size = parseInt(sizeText, 8);
    if (!Number.isFinite(size) || !/^[0-7]+$/.test(sizeText)) {
      throw new DataFormatError(file, `not a tar archive: bad entry size field ${JSON.stringify(sizeText)} at byte ${pos}`);
    }
    const type = String.fromCharCode(block[156] || 0x30);
    const start = pos + 512;
    if (start + size > bytes.length) {
      throw new DataFormatError(file, `truncated tar archive: entry at byte ${pos} needs ${size} bytes, ${bytes.length - start} left`);
    }
    const data = bytes.subarray(start, start + size);
    if (type === 'L') {
      longName = field(data, 0, data.length);
    } else {
      const prefix = field(block, 345, 155);
      const name = longName ?? (prefix ? `${prefix}/${field(block, 0, 100)}` : field(block, 0, 100));
      longName = null;
      if (type === '0' || type === '7') entries.push({ name, data });
    }
    pos = start + Math.ceil(size / 512) * 512;
  }
  return entries;
}

const gunzipAsync = promisify(gunzip);

/**
 * Extracts the regular files directly under `folder/` of a .tar.gz archive into
 * `destParent/folder/`, replacing what is there. Files are written to a temporary folder that is
 * renamed into place only when all are written, so a failure leaves no partial folder.
 * Member names other than plain file names (subfolders, '..') are skipped. Returns the folder.
 */
export async function extractTarGzFolder(archive: string, folder: string, destParent: string): Promise<string> {
  let tarBytes: Buffer;
  try {
    tarBytes = await gunzipAsync(await readFile(archive));
  } catch (e) {
    throw new DataFormatError(archive, `not a valid gzip file (corrupt or truncated: ${(e as Error).message})`);
  }
  const members = readTar(tarBytes, archive).filter((e) => {
    const rest = e.name.startsWith(`${folder}/`) ? e.name.slice(folder.length + 1) : '';
    return /^[\w][\w.-]*$/.test(rest);
  });
  if (members.length === 0) throw new DataFormatError(archive, `archive has no files under ${folder}/`);
  const dest = join(destParent, folder);
  const tmp = `${dest}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    mkdirSync(tmp, { recursive: true });
    for (const m of members) writeFileSync(join(tmp, m.name.slice(folder.length + 1)), m.data);
    rmSync(dest, { recursive: true, force: true });
    renameSync(tmp, dest);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dest;
}
