// Image-folder pipeline benchmark: generates N images of S x S (half PNG, half JPEG, 10 classes)
// with sharp in a temp folder, then, each in its own process so that peak RSS is its own:
//   folder: opens the folder cold (decode into the cache: images/s), then runs epochs over the
//           cached FolderDataset (loader only, and loader + a small training step);
//   tensor: the same pixels as an in-memory ImageDataset (the bundled-dataset path), same epochs.
// Prints one JSON line per process with the times and process.resourceUsage().maxRSS.
//   node dist/bench/imagefolder.js [--n 20000] [--size 64] [--epochs 3] [--threads 2] [--dir <keep here>]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { openImageFolder } from '../src/data/imagefolder.js';
import { ImageDataset, type Dataset } from '../src/data/dataset.js';
import { DataLoader } from '../src/data/loader.js';
import * as nn from '../src/nn/index.js';
import { SGD } from '../src/optim/sgd.js';
import { crossEntropy } from '../src/ops/loss.js';
import { setNumThreads } from '../src/backend/index.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const now = (): number => Number(process.hrtime.bigint()) / 1e6;
const rssMb = (): number => Math.round(process.resourceUsage().maxRSS / 1024);

async function generate(dir: string, n: number, size: number): Promise<void> {
  const per = size * size * 3;
  const jobs: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const cls = i % 10;
    const px = Buffer.alloc(per);
    // Smooth class-dependent gradients with per-image phase: realistic sizes for PNG and JPEG.
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const k = (y * size + x) * 3;
        px[k] = (x * 4 + cls * 25 + i) & 255;
        px[k + 1] = (y * 4 + (i % 97)) & 255;
        px[k + 2] = ((x + y) * 2 + cls * 13) & 255;
      }
    }
    const sub = join(dir, `class${cls}`);
    if (i < 10) mkdirSync(sub, { recursive: true });
    const img = sharp(px, { raw: { width: size, height: size, channels: 3 } });
    jobs.push(i % 2 === 0 ? img.png().toFile(join(sub, `${i}.png`)) : img.jpeg({ quality: 90 }).toFile(join(sub, `${i}.jpg`)));
    if (jobs.length >= 32) await Promise.all(jobs.splice(0));
  }
  await Promise.all(jobs);
}

/** Loader-only epochs and training epochs (a small conv net) over ds; times in ms. */
function epochs(ds: Dataset, count: number): { loaderMs: number[]; trainMs: number[] } {
  const loader = new DataLoader(ds, { batchSize: 128, shuffle: true, seed: 1 });
  const loaderMs: number[] = [];
  for (let e = 0; e < count; e++) {
    const t0 = now();
    for (const b of loader.batches()) void b;
    loaderMs.push(now() - t0);
  }
  const model = new nn.Sequential(
    new nn.Conv2d(ds.channels, 8, 3, { stride: 2, padding: 1 }), new nn.BatchNorm2d(8), new nn.ReLU(),
    new nn.AdaptiveAvgPool2d(1), new nn.Flatten(), new nn.Linear(8, ds.numClasses),
  );
  const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const trainMs: number[] = [];
  for (let e = 0; e < count; e++) {
    const t0 = now();
    for (const { x, y } of loader.batches()) {
      opt.zeroGrad();
      crossEntropy(model.call(x), y).backward();
      opt.step();
    }
    trainMs.push(now() - t0);
  }
  return { loaderMs, trainMs };
}

async function child(mode: string, dir: string, size: number, count: number): Promise<void> {
  const t0 = now();
  const folder = await openImageFolder(dir, { size, channels: 3 });
  const openMs = now() - t0;
  const rssAfterOpen = rssMb();
  let ds: Dataset = folder;
  if (mode === 'tensor') {
    const pixels = new Uint8Array(readFileSync(folder.dataFile));
    ds = new ImageDataset({ name: 'tensor', channels: 3, height: size, width: size, numClasses: 10, labels: folder.labels, pixels });
  }
  const r = epochs(ds, count);
  const round = (a: number[]): number[] => a.map((v) => Math.round(v));
  process.stdout.write(JSON.stringify({
    mode, n: folder.n, size, open_ms: Math.round(openMs), decode_images_per_s: mode === 'folder-cold' ? Math.round(folder.n / (openMs / 1000)) : null,
    loader_epoch_ms: round(r.loaderMs), train_epoch_ms: round(r.trainMs), max_rss_mb_after_open: rssAfterOpen, max_rss_mb: rssMb(),
  }) + '\n');
}

async function main(): Promise<void> {
  const n = arg('n', 20000);
  const size = arg('size', 64);
  const count = arg('epochs', 3);
  const threads = arg('threads', 2);
  setNumThreads(threads);
  const mode = process.argv[2];
  if (mode === 'folder-cold' || mode === 'folder-warm' || mode === 'tensor') {
    await child(mode, process.argv[3], size, count);
    return;
  }
  const keep = process.argv.indexOf('--dir');
  const dir = keep >= 0 ? process.argv[keep + 1] : mkdtempSync(join(tmpdir(), 'normlab-imagefolder-'));
  const t0 = now();
  await generate(dir, n, size);
  process.stdout.write(JSON.stringify({ generated: n, size, generate_ms: Math.round(now() - t0), dir }) + '\n');
  const self = fileURLToPath(import.meta.url);
  for (const m of ['folder-cold', 'folder-warm', 'tensor']) {
    const r = spawnSync(process.execPath, [self, m, dir, '--size', String(size), '--epochs', String(count), '--threads', String(threads)], {
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NORMLAB_NUM_THREADS: String(threads) },
    });
    process.stdout.write(r.stdout);
  }
  if (keep < 0) rmSync(dir, { recursive: true, force: true });
}

await main();
