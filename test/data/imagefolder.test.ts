import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { data } from '../../src/index.js';
import { Generator } from '../../src/tensor/random.js';
import { runTraining } from '../../src/train/run.js';
import { tempDir } from './files.js';

const { openImageFolder, loadDataset, DataLoader, centerCrop, resizeShorter, randomResizedCrop } = data;

/** Writes a solid-colour image (rgb: 3 values, or one gray value) of h x w as PNG or JPEG. */
async function writeImage(path: string, color: number[], h: number, w: number, format: 'png' | 'jpeg'): Promise<void> {
  mkdirSync(join(path, '..'), { recursive: true });
  const c = color.length;
  const px = Buffer.alloc(h * w * c);
  for (let k = 0; k < h * w; k++) for (let ch = 0; ch < c; ch++) px[k * c + ch] = color[ch];
  let img = sharp(px, { raw: { width: w, height: h, channels: c as 1 | 3 } });
  if (c === 1) img = img.toColourspace('b-w');
  await (format === 'png' ? img.png() : img.jpeg({ quality: 95 })).toFile(path);
}

const COLORS: Record<string, number[]> = { B: [250, 10, 10], a: [10, 250, 10], c: [10, 10, 250] };

/** root/<split>/<class>/ with `per` images per class, PNG and JPEG alternating, odd sizes. */
async function colourTree(root: string, per: number): Promise<void> {
  for (const [cls, color] of Object.entries(COLORS)) {
    for (let i = 0; i < per; i++) {
      await writeImage(join(root, cls, `img${i}.${i % 2 ? 'jpg' : 'png'}`), color, 12 + i, 20 - i, i % 2 ? 'jpeg' : 'png');
    }
  }
}

describe('image folders', () => {
  it('reads train/ and val/ trees with torchvision class order, decoding once into a cache', async () => {
    const root = tempDir();
    await colourTree(join(root, 'train'), 4);
    await colourTree(join(root, 'val'), 2);
    const warnings: string[] = [];
    const train = await loadDataset('folder', { dataDir: root, split: 'train', imageSize: 8, warn: (l) => warnings.push(l) });
    const test = await loadDataset('folder', { dataDir: root, split: 'test', imageSize: 8 });
    assert.deepEqual(train.classNames, ['B', 'a', 'c']);
    assert.deepEqual([train.n, test.n, train.channels, train.height, train.width], [12, 6, 3, 8, 8]);
    assert.deepEqual([...train.labels], [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
    assert.deepEqual(warnings, []);
    const img = new Float32Array(3 * 64);
    for (let i = 0; i < train.n; i++) {
      train.readImage(i, img);
      const color = COLORS[train.classNames![train.labels[i]]];
      for (let ch = 0; ch < 3; ch++) {
        for (let k = 0; k < 64; k++) assert.ok(Math.abs(img[ch * 64 + k] * 255 - color[ch]) <= 6, `sample ${i} channel ${ch}`);
      }
    }
    const cache = join(root, 'train', '.normlab-cache', '8x3', 'images.u8');
    const before = statSync(cache).mtimeMs;
    const again = await loadDataset('folder', { dataDir: root, split: 'train', imageSize: 8 });
    assert.equal(statSync(cache).mtimeMs, before, 'a warm cache is not rewritten');
    assert.deepEqual([...again.labels], [...train.labels]);
    const batch = [...new DataLoader(train, { batchSize: 5, shuffle: true, seed: 1 }).batches()];
    assert.deepEqual(batch.map((b) => b.x.shape), [[5, 3, 8, 8], [5, 3, 8, 8], [2, 3, 8, 8]]);
  });

  it('skips unreadable files with one warning each and a count, and fails on them with strict', async () => {
    const root = tempDir();
    await colourTree(root, 2);
    writeFileSync(join(root, 'a', 'notes.txt'), 'not an image');
    const png = await sharp({ create: { width: 9, height: 9, channels: 3, background: '#808080' } }).png().toBuffer();
    writeFileSync(join(root, 'c', 'truncated.png'), png.subarray(0, 40));
    const warnings: string[] = [];
    const ds = await openImageFolder(root, { size: 4, warn: (l) => warnings.push(l) });
    assert.equal(ds.n, 6);
    assert.equal(warnings.length, 3);
    assert.match(warnings[0], /skipping .*notes\.txt/);
    assert.match(warnings[1], /skipping .*truncated\.png/);
    assert.match(warnings[2], /skipped 2 of 8 file\(s\)/);
    await assert.rejects(openImageFolder(root, { size: 4, strict: true }), /2 unreadable file\(s\) \(strict\)[^]*notes\.txt[^]*truncated\.png/);
  });

  it('skips file names that are not valid UTF-8 with one warning naming the folder and the count', async () => {
    const root = tempDir();
    await colourTree(root, 2);
    const png = await sharp({ create: { width: 9, height: 9, channels: 3, background: '#808080' } }).png().toBuffer();
    // Latin-1 'é' (0xe9) and a lone 0xff: bytes a Linux file system accepts but UTF-8 does not decode.
    for (const bytes of [[0x63, 0x61, 0x66, 0xe9], [0xff]]) writeFileSync(Buffer.concat([Buffer.from(join(root, 'a') + '/'), Buffer.from(bytes), Buffer.from('.png')]), png);
    const warnings: string[] = [];
    const ds = await openImageFolder(root, { size: 4, warn: (l) => warnings.push(l) });
    assert.equal(ds.n, 6);
    assert.deepEqual(warnings, [`normlab: skipping 2 entries in ${join(root, 'a')} whose names are not valid UTF-8 (rename to include them)`]);
  });

  it('detects grayscale folders and splits one tree into stratified train and test parts by seed', async () => {
    const root = tempDir();
    for (const [cls, v] of [['zero', 30], ['one', 200]] as const) {
      for (let i = 0; i < 10; i++) await writeImage(join(root, cls, `${i}.png`), [v], 6, 6, 'png');
    }
    const train = await loadDataset('folder', { dataDir: root, split: 'train', imageSize: 6, folderSplitSeed: 3 });
    const test = await loadDataset('folder', { dataDir: root, split: 'test', imageSize: 6, folderSplitSeed: 3 });
    assert.deepEqual([train.channels, train.n, test.n], [1, 16, 4]);
    assert.deepEqual(train.classNames, ['one', 'zero']);
    assert.deepEqual([...test.labels].sort(), [0, 0, 1, 1]);
    const files = new Set([...(train as data.FolderDataset).files, ...(test as data.FolderDataset).files]);
    assert.equal(files.size, 20, 'train and test are disjoint and cover the tree');
    const px = new Float32Array(36);
    test.readImage(0, px);
    assert.equal(Math.round(px[0] * 255), test.labels[0] === 0 ? 200 : 30);
  });

  it('rejects an empty class folder and a folder without images', async () => {
    const root = tempDir();
    await colourTree(root, 1);
    mkdirSync(join(root, 'empty'));
    await assert.rejects(openImageFolder(root, { size: 4 }), /class folder 'empty' is empty/);
    const none = tempDir();
    mkdirSync(join(none, 'x'));
    writeFileSync(join(none, 'x', 'a.txt'), 'text');
    await assert.rejects(openImageFolder(none, { size: 4, warn: () => undefined }), /no readable images/);
    await assert.rejects(openImageFolder(tempDir(), { size: 4 }), /no class folders/);
  });

  it('trains a run on an image folder through runTraining', async () => {
    const root = tempDir();
    for (const [cls, v] of [['dark', 20], ['light', 230]] as const) {
      for (let i = 0; i < 10; i++) await writeImage(join(root, cls, `${i}.${i % 2 ? 'jpg' : 'png'}`), [v], 30, 34, i % 2 ? 'jpeg' : 'png');
    }
    const out = join(tempDir(), 'run');
    const { result, data: d } = await runTraining(
      { dataset: 'folder', dataDir: root, network: 'fbn-mnist', imageSize: 28, epochs: 1, batchSize: 4, augment: 'imagenet', threads: 1 },
      { outDir: out, progress: 'none' },
    );
    assert.equal(d.train.numClasses, 2);
    assert.equal(result.epochs, 1);
    assert.ok(existsSync(join(out, 'best.safetensors')));
  });
});

describe('ImageNet-style transforms', () => {
  const img = (h: number, w: number): data.Image => ({ data: Float32Array.from({ length: h * w }, (_, k) => k), channels: 1, height: h, width: w });

  it('centerCrop takes the middle window with Python rounding of the offsets', () => {
    const r = centerCrop(2)(img(4, 7), new Generator(0));
    assert.deepEqual([...r.data], [9, 10, 16, 17], 'left offset round(2.5) = 2');
  });

  it('resizeShorter scales the shorter side to the size and keeps the aspect ratio', () => {
    const r = resizeShorter(4)(img(6, 9), new Generator(0));
    assert.deepEqual([r.height, r.width], [4, 6]);
  });

  it('randomResizedCrop gives size x size images, the same ones for the same seed', () => {
    const t = randomResizedCrop(5);
    const a = t(img(12, 16), new Generator(7));
    const b = t(img(12, 16), new Generator(7));
    assert.deepEqual([a.height, a.width], [5, 5]);
    assert.deepEqual([...a.data], [...b.data]);
  });
});
