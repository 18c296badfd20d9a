// Image-folder pipeline benchmark: generates N images of S x S (half PNG, half JPEG, 10 classes)
// with sharp in a temp folder (or reuses --dir), then, each in its own process so that peak RSS is
// its own:
//   folder-cold:    deletes the cache, opens the folder (decode into the cache: images/s), then
//                   runs epochs with the loader's default (worker threads); the first epoch of a
//                   fresh folder costs open_ms + the first epoch;
//   folder-sync:    the cached folder, batches assembled on the main thread (workers: 0);
//   folder-workers: the cached folder, batches assembled on --workers worker threads;
//   tensor:         the same pixels as an in-memory ImageDataset (the bundled-dataset path).
// Each runs --epochs data-only epochs (the loader alone) and --epochs training epochs (a small
// conv net: the consumer whose native compute the workers overlap), batch 128, shuffled.
// Prints one JSON line per process with the times, process.resourceUsage().maxRSS and the load
// average (the machine may be shared), then a summary line of the later epochs against tensor.
// --rounds R runs the three warm modes R times, interleaved.
//   node dist/bench/imagefolder.js [--n 20000] [--size 64] [--epochs 3] [--threads 2] [--workers 2] [--rounds 1] [--dir <keep here>]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
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
async function epochs(ds: Dataset, count: number, workers: number | 'auto'): Promise<{ loaderMs: number[]; trainMs: number[]; loaderCpuMs: number[]; trainCpuMs: number[]; workers: number }> {
  const loader = new DataLoader(ds, { batchSize: 128, shuffle: true, seed: 1, workers });
  const loaderMs: number[] = [];
  const loaderCpuMs: number[] = [];
  const trainCpuMs: number[] = [];
  // CPU time of the whole process (every thread): steadier than wall time on a shared machine,
  // and it shows what the worker threads cost besides what they save in wall time.
  const cpu = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  for (let e = 0; e < count; e++) {
    const t0 = now();
    const c0 = cpu();
    for (const b of loader.batches()) void b;
    loaderMs.push(now() - t0);
    loaderCpuMs.push(cpu() - c0);
  }
  const model = new nn.Sequential(
    new nn.Conv2d(ds.channels, 8, 3, { stride: 2, padding: 1 }), new nn.BatchNorm2d(8), new nn.ReLU(),
    new nn.AdaptiveAvgPool2d(1), new nn.Flatten(), new nn.Linear(8, ds.numClasses),
  );
  const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const trainMs: number[] = [];
  for (let e = 0; e < count; e++) {
    const t0 = now();
    const c0 = cpu();
    for (const { x, y } of loader.batches()) {
      opt.zeroGrad();
      crossEntropy(model.call(x), y).backward();
      opt.step();
    }
    trainMs.push(now() - t0);
    trainCpuMs.push(cpu() - c0);
  }
  await loader.close();
  return { loaderMs, trainMs, loaderCpuMs, trainCpuMs, workers: loader.workers };
}

const MODES = ['folder-cold', 'folder-sync', 'folder-workers', 'tensor'];

async function child(mode: string, dir: string, size: number, count: number, workers: number): Promise<void> {
  if (mode === 'folder-cold') rmSync(join(dir, '.normlab-cache'), { recursive: true, force: true });
  const load0 = loadavg()[0];
  const t0 = now();
  const folder = await openImageFolder(dir, { size, channels: 3 });
  const openMs = now() - t0;
  const rssAfterOpen = rssMb();
  let ds: Dataset = folder;
  if (mode === 'tensor') {
    const pixels = new Uint8Array(readFileSync(folder.dataFile));
    ds = new ImageDataset({ name: 'tensor', channels: 3, height: size, width: size, numClasses: 10, labels: folder.labels, pixels });
  }
  const r = await epochs(ds, count, mode === 'folder-sync' || mode === 'tensor' ? 0 : mode === 'folder-workers' ? workers : 'auto');
  const round = (a: number[]): number[] => a.map((v) => Math.round(v));
  process.stdout.write(JSON.stringify({
    mode, n: folder.n, size, workers: r.workers, open_ms: Math.round(openMs), decode_images_per_s: mode === 'folder-cold' ? Math.round(folder.n / (openMs / 1000)) : null,
    loader_epoch_ms: round(r.loaderMs), train_epoch_ms: round(r.trainMs), loader_epoch_cpu_ms: round(r.loaderCpuMs), train_epoch_cpu_ms: round(r.trainCpuMs), max_rss_mb_after_open: rssAfterOpen, max_rss_mb: rssMb(),
    load_avg: [load0, loadavg()[0]].map((v) => Math.round(v * 100) / 100),
  }) + '\n');
}

/** Mean of the epochs after the first (the first warms caches and JIT), or the only one. */
const later = (a: number[]): number => (a.length > 1 ? a.slice(1) : a).reduce((x, y) => x + y, 0) / Math.max(1, a.length - 1);

async function main(): Promise<void> {
  const n = arg('n', 20000);
  const size = arg('size', 64);
  const count = arg('epochs', 3);
  const threads = arg('threads', 2);
  const workers = arg('workers', 2);
  const rounds = arg('rounds', 1);
  setNumThreads(threads);
  const mode = process.argv[2];
  if (MODES.includes(mode)) {
    await child(mode, process.argv[3], size, count, workers);
    return;
  }
  const keep = process.argv.indexOf('--dir');
  const dir = keep >= 0 ? process.argv[keep + 1] : mkdtempSync(join(tmpdir(), 'normlab-imagefolder-'));
  // A kept folder with the images already there is reused (the cold mode still decodes it anew).
  const have = keep >= 0 && existsSync(join(dir, 'class9'));
  const t0 = now();
  if (!have) await generate(dir, n, size);
  process.stdout.write(JSON.stringify({ generated: have ? 0 : n, size, generate_ms: Math.round(now() - t0), dir }) + '\n');
  const self = fileURLToPath(import.meta.url);
  type Line = Record<'loader_epoch_ms' | 'train_epoch_ms' | 'loader_epoch_cpu_ms' | 'train_epoch_cpu_ms', number[]>;
  const lines: Record<string, Line[]> = {};
  // The cold mode once, then the warm modes `--rounds` times interleaved, so that a change in the
  // machine's load hits every mode alike; the summary takes the median over rounds.
  const order = ['folder-cold', ...Array.from({ length: rounds }, () => ['tensor', 'folder-sync', 'folder-workers']).flat()];
  for (const m of order) {
    const r = spawnSync(process.execPath, [self, m, dir, '--size', String(size), '--epochs', String(count), '--threads', String(threads), '--workers', String(workers)], {
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NORMLAB_NUM_THREADS: String(threads) },
    });
    process.stdout.write(r.stdout);
    if (r.status === 0) (lines[m] ??= []).push(JSON.parse(r.stdout.trim().split('\n').pop()!) as Line);
  }
  const median = (a: number[]): number => {
    const s = [...a].sort((x, y) => x - y);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const laterOf = (m: string, key: keyof Line): number | null => (lines[m] === undefined ? null : median(lines[m].map((l) => later(l[key]))));
  // The fastest later epoch over all rounds: the one least slowed by other processes.
  const bestOf = (m: string, key: keyof Line): number | null => (lines[m] === undefined ? null : Math.min(...lines[m].flatMap((l) => l[key].slice(1))));
  if (lines.tensor !== undefined) {
    // Later epochs of each folder mode over the in-memory dataset's (1.10 = 10% slower).
    const keys: [string, keyof Line][] = [['data', 'loader_epoch_ms'], ['train', 'train_epoch_ms'], ['data_cpu', 'loader_epoch_cpu_ms'], ['train_cpu', 'train_epoch_cpu_ms']];
    const summary: Record<string, unknown> = { summary: 'later epochs: median over rounds of their mean, fastest (best), ratios to tensor', rounds, load_avg: loadavg().map((v) => Math.round(v * 100) / 100) };
    for (const m of MODES) {
      for (const [name, key] of keys) {
        const v = laterOf(m, key);
        const t = laterOf('tensor', key)!;
        if (v === null) continue;
        summary[`${m}_${name}_ms`] = Math.round(v);
        if (m !== 'tensor') summary[`${m}_${name}_ratio`] = Math.round((v / t) * 100) / 100;
        if (name === 'data' || name === 'train') {
          const best = bestOf(m, key)!;
          summary[`${m}_${name}_best_ms`] = Math.round(best);
          if (m !== 'tensor') summary[`${m}_${name}_best_ratio`] = Math.round((best / bestOf('tensor', key)!) * 100) / 100;
        }
      }
    }
    process.stdout.write(JSON.stringify(summary) + '\n');
  }
  if (keep < 0) rmSync(dir, { recursive: true, force: true });
}

await main();
