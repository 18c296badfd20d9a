// Reading the entries of a zip archive held in memory (the container of torch.save's files).
// Layout (PKWARE APPNOTE 6.3): local headers with data, then a central directory, then the
// end-of-central-directory record (EOCD, signature 0x06054b50), found by scanning back from the
// end over at most a 64 KiB comment. Archives with more than 65535 entries or offsets past 4 GiB
// use the ZIP64 EOCD (0x06064b50, located by the record 0x07064b50 just before the EOCD) and the
// ZIP64 extra field (id 0x0001) of each central entry. Entries are stored (method 0, what PyTorch
// writes) or deflated (method 8).
import { inflateRawSync } from 'node:zlib';

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

export class ZipArchive {
  readonly entries: Map<string, ZipEntry>;

  constructor(readonly bytes: Buffer, readonly what: string) {
    this.entries = readCentralDirectory(bytes, what);
  }

  /** The uncompressed bytes of an entry; a view into the archive when it is stored. */
  read(name: string): Buffer {
    const e = this.entries.get(name);
    if (e === undefined) throw new Error(`readZip: ${this.what} has no entry '${name}'`);
    const b = this.bytes;
    const h = e.localHeaderOffset;
    if (h + 30 > b.length || b.readUInt32LE(h) !== 0x04034b50) throw new Error(`readZip: ${this.what}: entry '${name}' has no local header at offset ${h}`);
    const start = h + 30 + b.readUInt16LE(h + 26) + b.readUInt16LE(h + 28);
    const end = start + e.compressedSize;
    if (end > b.length) throw new Error(`readZip: ${this.what}: entry '${name}' ends at byte ${end}, past the end of the file (${b.length} bytes); the file is truncated`);
    const raw = b.subarray(start, end);
    if (e.method === 0) return raw;
    if (e.method === 8) {
      const out = inflateRawSync(raw);
      if (out.length !== e.size) throw new Error(`readZip: ${this.what}: entry '${name}' inflates to ${out.length} bytes, the directory says ${e.size}`);
      return out;
    }
    throw new Error(`readZip: ${this.what}: entry '${name}' uses compression method ${e.method}; only stored (0) and deflate (8) are supported`);
  }
}

function findEocd(b: Buffer): number {
  const lowest = Math.max(0, b.length - 22 - 65535);
  for (let i = b.length - 22; i >= lowest; i--) if (b.readUInt32LE(i) === 0x06054b50) return i;
  return -1;
}

function readCentralDirectory(b: Buffer, what: string): Map<string, ZipEntry> {
  const eocd = b.length >= 22 ? findEocd(b) : -1;
  if (eocd < 0) throw new Error(`readZip: ${what} is not a zip archive (no end-of-central-directory record)`);
  let count = b.readUInt16LE(eocd + 10);
  let dirOffset = b.readUInt32LE(eocd + 16);
  const loc = eocd - 20;
  if (loc >= 0 && b.readUInt32LE(loc) === 0x07064b50) {
    const z64 = Number(b.readBigUInt64LE(loc + 8));
    if (z64 + 56 > b.length || b.readUInt32LE(z64) !== 0x06064b50) throw new Error(`readZip: ${what}: the ZIP64 locator points at ${z64}, where there is no ZIP64 end record`);
    count = Number(b.readBigUInt64LE(z64 + 32));
    dirOffset = Number(b.readBigUInt64LE(z64 + 48));
  }
  const entries = new Map<string, ZipEntry>();
  let p = dirOffset;
  for (let k = 0; k < count; k++) {
    if (p + 46 > b.length || b.readUInt32LE(p) !== 0x02014b50) throw new Error(`readZip: ${what}: central directory entry ${k} of ${count} is missing at offset ${p}`);
    const method = b.readUInt16LE(p + 10);
    let compressedSize = b.readUInt32LE(p + 20);
    let size = b.readUInt32LE(p + 24);
    const nameLen = b.readUInt16LE(p + 28);
    const extraLen = b.readUInt16LE(p + 30);
    const commentLen = b.readUInt16LE(p + 32);
    let localHeaderOffset = b.readUInt32LE(p + 42);
    const name = b.toString('utf8', p + 46, p + 46 + nameLen);
    // ZIP64 extra field: the 8-byte values, in this order, of whichever 32-bit fields are 0xffffffff.
    for (let x = p + 46 + nameLen; x + 4 <= p + 46 + nameLen + extraLen;) {
      const id = b.readUInt16LE(x);
      const len = b.readUInt16LE(x + 2);
      if (id === 0x0001) {
        let q = x + 4;
        if (size === 0xffffffff) {
          size = Number(b.readBigUInt64LE(q));
          q += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = Number(b.readBigUInt64LE(q));
          q += 8;
        }
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = Number(b.readBigUInt64LE(q));
      }
      x += 4 + len;
    }
    entries.set(name, { name, method, compressedSize, size, localHeaderOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}
