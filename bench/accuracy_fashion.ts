// Test accuracy of LeNet-5 with BatchNorm (createModel('lenet5', { norm: 'bn' })) trained on the
// full Fashion-MNIST (60k train / 10k test) through runTraining, against the same recipe in
// PyTorch (bench/torch/accuracy_fashion.py): 3 epochs, SGD lr 0.01 momentum 0.5, batch 256,
// inputs normalized by the training images' mean/std (runTraining's inputNorm 'dataset'),
// seeds 1, 2, 3, 2 threads. Runs are sequential (normlab, then PyTorch per seed) so the two never
// share the cores. Prints one JSON line per seed and one for the mean:
// {name, threads, normlab_acc, torch_acc, diff_pp, normlab_s, torch_s}; accuracies in percent,
// seconds are the wall time of a whole run (data loading, training and the per-epoch test pass).
// Goal: mean accuracies within 0.5 percentage points.
//   node dist/bench/accuracy_fashion.js [--data-dir DIR] [--epochs N] [--seeds 1,2,3] [--threads 2]
// The data folder defaults to $NORMLAB_FASHION_DIR or /usr/share/datasets/fashion-mnist
// (Debian's dataset-fashion-mnist); without it the benchmark says so and is skipped.
// PyTorch runs with OMP_WAIT_POLICY=PASSIVE unless the variable is set: with OpenMP's default
// spinning, 2 PyTorch threads on a shared 2-core machine ran 6x slower than 1 (308 s for one epoch).
import { existsSync } from 'node:fs';
import { runTraining } from '../src/train/run.js';
import { runTorchJson, round } from './common.js';

interface Options {
  dataDir: string;
  epochs: number;
  seeds: number[];
  threads: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    dataDir: process.env.NORMLAB_FASHION_DIR ?? '/usr/share/datasets/fashion-mnist',
    epochs: 3,
    seeds: [1, 2, 3],
    threads: 2,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const v = argv[i + 1];
    if (argv[i] === '--data-dir') o.dataDir = v;
    else if (argv[i] === '--epochs') o.epochs = Number(v);
    else if (argv[i] === '--seeds') o.seeds = v.split(',').map(Number);
    else if (argv[i] === '--threads') o.threads = Number(v);
    else throw new RangeError(`accuracy_fashion: unknown option ${argv[i]}`);
  }
  return o;
}

const pct = (x: number): number => Math.round(x * 1e4) / 100;

export async function main(argv: string[] = []): Promise<void> {
  const o = parseArgs(argv);
  if (!existsSync(o.dataDir)) {
    process.stderr.write(`bench: accuracy_fashion skipped: no Fashion-MNIST in ${o.dataDir} (apt-get install dataset-fashion-mnist, or --data-dir)\n`);
    return;
  }
  const name = `lenet5-bn fashion-mnist ${o.epochs} epochs batch 256`;
  const rows: { nl: number; nlS: number; t: number | null; tS: number | null }[] = [];
  for (const seed of o.seeds) {
    const t0 = process.hrtime.bigint();
    const run = await runTraining({
      dataset: 'fashion-mnist', dataDir: o.dataDir, network: 'lenet5', norm: 'bn', batchSize: 256, epochs: o.epochs,
      optimizer: 'sgd', lr: 0.01, momentum: 0.5, scheduler: 'none', inputNorm: 'dataset', seed, threads: o.threads,
    }, { progress: 'none' });
    const nlS = Number(process.hrtime.bigint() - t0) / 1e9;
    const nl = pct(run.result.final.test_acc!);
    const torch = runTorchJson(
      'accuracy_fashion.py', ['--data-dir', o.dataDir, '--epochs', String(o.epochs), '--seed', String(seed), '--threads', String(o.threads)],
      { OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' },
    );
    const t = torch.find((r) => r.seed === seed) as { acc: number; s: number } | undefined;
    const row = { nl, nlS, t: t === undefined ? null : pct(t.acc), tS: t === undefined ? null : t.s };
    rows.push(row);
    console.log(JSON.stringify({
      name: `${name} seed ${seed}`, threads: o.threads, normlab_acc: row.nl, torch_acc: row.t,
      diff_pp: row.t === null ? null : round(row.nl - row.t), normlab_s: round(row.nlS), torch_s: row.tS === null ? null : round(row.tS),
    }));
  }
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const haveTorch = rows.every((r) => r.t !== null);
  const nlMean = mean(rows.map((r) => r.nl));
  const tMean = haveTorch ? mean(rows.map((r) => r.t!)) : null;
  console.log(JSON.stringify({
    name: `${name} mean of seeds ${o.seeds.join(',')}`, threads: o.threads, normlab_acc: round(nlMean), torch_acc: tMean === null ? null : round(tMean),
    diff_pp: tMean === null ? null : round(nlMean - tMean), normlab_s: round(mean(rows.map((r) => r.nlS))),
    torch_s: haveTorch ? round(mean(rows.map((r) => r.tS!))) : null,
  }));
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));
