// Image folders in torchvision's ImageFolder layout, decoded with sharp into a raw cache.
//
// Layout: root/<class>/**/<image>; class names are the sub-folders of root sorted by code point
// (Python's sorted(), as torchvision), class index = position in that list; files of a class are
// found recursively and taken in sorted path order. Dot-files and dot-folders are ignored. A split
// folder (root/train, root/val or root/test) is itself such a root; see openImageFolder.
//
// Decoding: every file is decoded once per (resolution S, channels) by sharp (libvips): its
// shorter side is resized to S (bicubic, as torchvision's Resize with PIL's default), then the
// centre S x S window is kept (torchvision Resize(S) + CenterCrop(S)); alpha is dropped, as PIL's
// convert('RGB'). Channels are 1 when every image is grayscale, else 3 (gray images are repeated
// over R, G, B); `channels` forces either.
//
// Cache: <cacheRoot>/<S>x<C>/images.u8 holds one slot of C*S*S uint8 values (CHW) per candidate
// file, index.json the file list, labels, slots and a fingerprint (paths, sizes, mtimes) of the
// folder. Both are written to temp files and renamed, index.json last, so a crash never leaves a
// cache that looks valid. A changed folder (fingerprint differs) is decoded again.
//
// Memory: decoding streams images into the cache file, at most `concurrency` decodes in flight
// (they run on libuv's worker threads, inside sharp). The dataset (FolderDataset, folder.ts) then
// reads samples from the cache file with positioned reads: memory use stays bounded by the batch,
// whatever the folder's size; the OS page cache keeps hot epochs fast.
//
// Bad input: files sharp cannot read (not an image, truncated, unreadable) are skipped with one
// warning line each and a count at the end; `strict` makes them an error. An empty class folder
// or a folder without any image is an error.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative, sep } from 'node:path';
import sharp from 'sharp';
import { ensureDir, writeJsonAtomic } from '../io/atomic.js';
import { DataFormatError } from './errors.js';
import { FolderDataset } from './folder.js';

export { FolderDataset };

const CACHE_VERSION = 1;

export interface ImageFolderOptions {
  /** Cache resolution S: images are S x S after resize-shorter-side + centre crop (default 64). */
  size?: number;
  /** 1 (grayscale) or 3 (RGB); default: 1 when every image is grayscale, else 3. */
  channels?: 1 | 3;
  /** Unreadable files are an error instead of a warning (default false). */
  strict?: boolean;
  /** Folder for the cache (default <root>/.normlab-cache). */
  cacheDir?: string;
  /** Decodes in flight (default: twice the available cores, at least 4). */
  concurrency?: number;
  /** Receives each warning line (default: written to stderr). */
  warn?: (line: string) => void;
  /** Dataset name (default 'folder'). */
  name?: string;
}

interface CacheIndex {
  version: number;
  size: number;
  channels: number;
  fingerprint: string;
  classNames: string[];
  /** Files (relative to root, '/'-separated) of the kept samples, in sample order. */
  files: string[];
  labels: number[];
  /** Cache slot of each kept sample. */
  slots: number[];
  /** Files skipped as unreadable, with the reason. */
  skipped: { file: string; reason: string }[];
}

/** Sorts strings by code point, as Python's sorted(). */
function codePointSort(a: string[]): string[] {
  return a.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
}

/**
 * Entries of dir whose names are valid UTF-8 (a file system may hold any bytes but '/' and NUL,
 * and a name that does not decode cannot be opened again from its decoded string); `dropped`
 * counts the others.
 */
function utf8Entries(dir: string): { entries: { name: string; isDir: boolean; isFile: boolean }[]; dropped: number } {
  const raw = readdirSync(dir, { withFileTypes: true, encoding: 'buffer' }) as unknown as { name: Buffer; isDirectory(): boolean; isFile(): boolean }[];
  let dropped = 0;
  const entries = raw.flatMap((e) => {
    const name = e.name.toString('utf8');
    if (!Buffer.from(name, 'utf8').equals(e.name)) {
      dropped++;
      return [];
    }
    return [{ name, isDir: e.isDirectory(), isFile: e.isFile() }];
  });
  return { entries, dropped };
}

/**
 * Class folders of root in torchvision order, and the files of each (sorted, recursive). Names
 * that are not valid UTF-8 are skipped, with one warning per folder naming it and the count.
 */
export function scanImageFolder(root: string, warn: (line: string) => void = (l) => process.stderr.write(l + '\n')): { classNames: string[]; files: string[][] } {
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new DataFormatError(root, 'image folder does not exist or is not a folder');
  const listed = (dir: string): { name: string; isDir: boolean; isFile: boolean }[] => {
    const { entries, dropped } = utf8Entries(dir);
    if (dropped > 0) warn(`normlab: skipping ${dropped} entr${dropped === 1 ? 'y' : 'ies'} in ${dir} whose name${dropped === 1 ? ' is' : 's are'} not valid UTF-8 (rename to include them)`);
    return entries;
  };
  const classNames = codePointSort(listed(root).filter((e) => e.isDir && !e.name.startsWith('.')).map((e) => e.name));
  if (classNames.length === 0) throw new DataFormatError(root, 'no class folders: expected root/<class>/<image files>');
  const walk = (dir: string): string[] => {
    const out: string[] = [];
    for (const e of listed(dir)) {
      if (e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      if (e.isDir) out.push(...walk(p));
      else if (e.isFile) out.push(p);
    }
    return out;
  };
  const files = classNames.map((c) => {
    const list = codePointSort(walk(join(root, c)));
    if (list.length === 0) throw new DataFormatError(join(root, c), `class folder '${c}' is empty`);
    return list;
  });
  return { classNames, files };
}

function fingerprint(root: string, files: string[][]): string {
  const h = createHash('sha1');
  for (const list of files) {
    for (const f of list) {
      const s = statSync(f);
      h.update(`${relative(root, f)}\0${s.size}\0${s.mtimeMs}\n`);
    }
  }
  return h.digest('hex');
}

/** Runs fn over items with at most `limit` calls in flight; results in item order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

type Probe = { ok: true; gray: boolean } | { ok: false; reason: string };

async function probe(file: string): Promise<Probe> {
  try {
    const m = await sharp(file).metadata();
    if (!m.width || !m.height) return { ok: false, reason: 'no image size' };
    return { ok: true, gray: (m.channels ?? 3) <= 2 };
  } catch (e) {
    return { ok: false, reason: (e as Error).message.split('\n')[0] };
  }
}

/** Decodes one file to C x S x S uint8 (CHW) as the cache does (see the file comment), or throws. */
export async function decodeImageFile(file: string, size: number, channels: 1 | 3): Promise<Uint8Array> {
  let img = sharp(file, { failOn: 'error' }).removeAlpha().resize(size, size, { fit: 'cover', position: 'centre', kernel: 'cubic' });
  img = channels === 1 ? img.toColourspace('b-w') : img.toColourspace('srgb');
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  if (info.width !== size || info.height !== size) throw new Error(`decoded to ${info.width}x${info.height}, expected ${size}x${size}`);
  const hw = size * size;
  const src = info.channels;
  const out = new Uint8Array(channels * hw);
  for (let c = 0; c < channels; c++) {
    const sc = Math.min(c, src - 1);
    for (let k = 0; k < hw; k++) out[c * hw + k] = data[k * src + sc];
  }
  return out;
}

function warnLine(options: ImageFolderOptions): (line: string) => void {
  return options.warn ?? ((line) => process.stderr.write(line + '\n'));
}

/** Reports skipped files (one line each and a count), or throws when strict. */
function reportSkipped(root: string, index: CacheIndex, candidates: number, options: ImageFolderOptions): void {
  if (index.skipped.length === 0) return;
  const lines = index.skipped.map((s) => `${join(root, s.file)}: ${s.reason}`);
  if (options.strict) throw new DataFormatError(root, `${index.skipped.length} unreadable file(s) (strict):\n  ${lines.join('\n  ')}`);
  const warn = warnLine(options);
  for (const l of lines) warn(`normlab: skipping ${l}`);
  warn(`normlab: skipped ${index.skipped.length} of ${candidates} file(s) in ${root} (not readable images)`);
}

/** Decodes the folder into the cache (or finds a valid cache) and returns its index. */
async function buildCache(root: string, cacheDir: string, options: ImageFolderOptions): Promise<{ index: CacheIndex; dataFile: string }> {
  const size = options.size ?? 64;
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`openImageFolder: size must be an integer >= 1, got ${size}`);
  const { classNames, files } = scanImageFolder(root, warnLine(options));
  const fp = fingerprint(root, files);
  const flat = files.flatMap((list, c) => list.map((f) => ({ file: f, label: c })));
  // More decodes in flight than cores hide file-read latency; sharp's operation cache is off
  // since every file is read once.
  const concurrency = options.concurrency ?? Math.max(4, 2 * availableParallelism());
  sharp.cache(false);
  // Channels are part of the cache key; with auto channels a probe pass decides them first.
  const forced = options.channels;
  const keyDir = (c: number): string => join(cacheDir, `${size}x${c}`);
  for (const c of forced !== undefined ? [forced] : [1, 3]) {
    const indexFile = join(keyDir(c), 'index.json');
    if (!existsSync(indexFile)) continue;
    try {
      const index = JSON.parse(readFileSync(indexFile, 'utf8')) as CacheIndex;
      const dataFile = join(keyDir(c), 'images.u8');
      if (index.version === CACHE_VERSION && index.fingerprint === fp && existsSync(dataFile)) return { index, dataFile };
    } catch {
      // an unreadable index is rebuilt below
    }
  }
  // The header-only probe pass runs only to choose the channels; decode errors are caught below.
  const probes = forced === undefined ? await mapLimit(flat, concurrency, (f) => probe(f.file)) : [];
  const skipped = new Map<number, string>();
  probes.forEach((p, i) => {
    if (!p.ok) skipped.set(i, p.reason);
  });
  const channels: 1 | 3 = forced ?? (probes.every((p) => !p.ok || p.gray) ? 1 : 3);
  const dir = keyDir(channels);
  ensureDir(dir, 'openImageFolder: cache');
  const dataFile = join(dir, 'images.u8');
  const tmp = `${dataFile}.tmp-${process.pid}`;
  const per = channels * size * size;
  const fd = openSync(tmp, 'w');
  try {
    await mapLimit(flat, concurrency, async (f, i) => {
      if (skipped.has(i)) return;
      try {
        const px = await decodeImageFile(f.file, size, channels);
        writeSync(fd, px, 0, per, i * per);
      } catch (e) {
        skipped.set(i, (e as Error).message.split('\n')[0]);
      }
    });
    closeSync(fd);
    renameSync(tmp, dataFile);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  const index: CacheIndex = { version: CACHE_VERSION, size, channels, fingerprint: fp, classNames, files: [], labels: [], slots: [], skipped: [] };
  const rel = (f: string): string => relative(root, f).split(sep).join('/');
  flat.forEach((f, i) => {
    const reason = skipped.get(i);
    if (reason !== undefined) {
      index.skipped.push({ file: rel(f.file), reason });
      return;
    }
    index.files.push(rel(f.file));
    index.labels.push(f.label);
    index.slots.push(i);
  });
  writeJsonAtomic(join(dir, 'index.json'), index);
  return { index, dataFile };
}

/**
 * Opens one ImageFolder tree (root/<class>/...) as a FolderDataset, decoding it into the cache
 * first when the cache is missing or stale.
 */
export async function openImageFolder(root: string, options: ImageFolderOptions = {}): Promise<FolderDataset> {
  const { index, dataFile } = await buildCache(root, options.cacheDir ?? join(root, '.normlab-cache'), options);
  reportSkipped(root, index, index.files.length + index.skipped.length, options);
  if (index.files.length === 0) throw new DataFormatError(root, `no readable images (${index.skipped.length} file(s) skipped)`);
  const empty = index.classNames.filter((_, c) => !index.labels.includes(c));
  if (empty.length > 0) throw new DataFormatError(root, `class folder(s) without a readable image: ${empty.join(', ')}`);
  return new FolderDataset({
    name: options.name ?? 'folder', dataFile, size: index.size, channels: index.channels, classNames: index.classNames,
    files: index.files, labels: Int32Array.from(index.labels), slots: Int32Array.from(index.slots),
  });
}

/** The split folders of an ImageFolder root: root/train and root/val (or root/test), if present. */
export function folderSplits(root: string): { train: string; test: string } | null {
  const train = join(root, 'train');
  const test = ['val', 'test'].map((s) => join(root, s)).find((p) => existsSync(p) && statSync(p).isDirectory());
  if (!existsSync(train) || !statSync(train).isDirectory()) return null;
  if (test === undefined) throw new DataFormatError(root, 'has train/ but neither val/ nor test/');
  return { train, test };
}
