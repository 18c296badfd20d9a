// Test accuracy of LeNet-5 with BatchNorm (createModel('lenet5', { norm: 'bn' })) trained on the
// full Fashion-MNIST (60k train / 10k test) through runTraining, against the same recipe in
// PyTorch (bench/torch/accuracy_fashion.py): 3 epochs, SGD lr 0.01 momentum 0.5, batch 256 with
// the last batch partial, inputs normalized by the training images' mean/std (runTraining's
// inputNorm 'dataset'), BN momentum 0.1 eps 1e-5, eval mode for the test pass, seeds 1, 2, 3,
// 2 threads.
//
// Init modes (the `init` field of each line):
// - shared (default): per seed, normlab writes its initialized model (safetensors, PyTorch
//   state-dict names; runTraining's onStart) and the sample order of every epoch (int32,
//   epochs x 60000; onTrainBatch) to a temporary folder, and PyTorch starts from those weights and
//   visits the samples in that order. The two runs then differ only by float rounding and kernels,
//   so the seed-to-seed spread (about 1 pp for independent runs) no longer decides the comparison.
// - independent (--independent-init): PyTorch draws its own default init and shuffles from --seed,
//   as a user running the recipe in PyTorch would; the comparison is then of two samples of the
//   seed distribution.
// - --both: one normlab run per seed, compared with both PyTorch runs.
// normlab's run is the same in every mode (it only reports what it does).
// Runs are sequential (normlab, then PyTorch per seed) so the two never share the cores.
// Prints one JSON line per seed and mode, then one per mode for the mean:
// {name, threads, init, normlab_acc, torch_acc, diff_pp, normlab_s, torch_s, ...}; accuracies in
// percent, diff_pp = normlab - torch; seconds are the wall time of a whole run (data loading,
// training and the per-epoch test pass). Per-seed lines add the per-epoch test accuracies and
// training losses of both sides (normlab_epoch_acc, torch_epoch_acc, normlab_train_loss,
// torch_train_loss). Goal: mean accuracies within 0.5 percentage points.
//   node dist/bench/accuracy_fashion.js [--data-dir DIR] [--epochs N] [--seeds 1,2,3] [--threads 2]
//                                       [--independent-init | --both]
// The data folder defaults to $NORMLAB_FASHION_DIR or /usr/share/datasets/fashion-mnist
// (Debian's dataset-fashion-mnist); without it the benchmark says so and is skipped.
// PyTorch runs with OMP_WAIT_POLICY=PASSIVE unless the variable is set: with OpenMP's default
// spinning, 2 PyTorch threads on a shared 2-core machine ran 6x slower than 1 (308 s for one epoch).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTraining } from '../src/train/run.js';
import { saveSafetensors } from '../src/train/safetensors.js';
import { runTorchJson, round } from './common.js';

type InitMode = 'shared' | 'independent';

interface Options {
  dataDir: string;
  epochs: number;
  seeds: number[];
  threads: number;
  modes: InitMode[];
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    dataDir: process.env.NORMLAB_FASHION_DIR ?? '/usr/share/datasets/fashion-mnist',
    epochs: 3,
    seeds: [1, 2, 3],
    threads: 2,
    modes: ['shared'],
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--independent-init') { o.modes = ['independent']; continue; }
    if (flag === '--both') { o.modes = ['shared', 'independent']; continue; }
    const v = argv[++i];
    if (v === undefined) throw new RangeError(`accuracy_fashion: ${flag} needs a value`);
    if (flag === '--data-dir') o.dataDir = v;
    else if (flag === '--epochs') o.epochs = Number(v);
    else if (flag === '--seeds') o.seeds = v.split(',').map(Number);
    else if (flag === '--threads') o.threads = Number(v);
    else throw new RangeError(`accuracy_fashion: unknown option ${flag}`);
  }
  return o;
}

const pct = (x: number): number => Math.round(x * 1e4) / 100;
const round5 = (x: number): number => Math.round(x * 1e5) / 1e5;

interface TorchResult {
  acc: number;
  s: number;
  train_loss: number[];
  test_acc: number[];
}

interface Row {
  nl: number;
  nlS: number;
  t: number | null;
  tS: number | null;
}

export async function main(argv: string[] = []): Promise<void> {
  const o = parseArgs(argv);
  if (!existsSync(o.dataDir)) {
    process.stderr.write(`bench: accuracy_fashion skipped: no Fashion-MNIST in ${o.dataDir} (apt-get install dataset-fashion-mnist, or --data-dir)\n`);
    return;
  }
  const name = `lenet5-bn fashion-mnist ${o.epochs} epochs batch 256`;
  const rows: Record<InitMode, Row[]> = { shared: [], independent: [] };
  const tmp = mkdtempSync(join(tmpdir(), 'normlab-accuracy-fashion-'));
  try {
    for (const seed of o.seeds) {
      const initFile = join(tmp, `init-${seed}.safetensors`);
      const orderFile = join(tmp, `order-${seed}.i32`);
      const orders: number[][] = [];
      const t0 = process.hrtime.bigint();
      const run = await runTraining({
        dataset: 'fashion-mnist', dataDir: o.dataDir, network: 'lenet5', norm: 'bn', batchSize: 256, epochs: o.epochs,
        optimizer: 'sgd', lr: 0.01, momentum: 0.5, scheduler: 'none', inputNorm: 'dataset', seed, threads: o.threads,
      }, {
        progress: 'none',
        onStart: (model) => saveSafetensors(initFile, model.stateDict()),
        onTrainBatch: (epoch, indices) => {
          (orders[epoch - 1] ??= []).push(...indices);
        },
      });
      const nlS = Number(process.hrtime.bigint() - t0) / 1e9;
      const n = run.data.train.n;
      const flat = new Int32Array(o.epochs * n);
      for (let e = 0; e < o.epochs; e++) {
        if (orders[e]?.length !== n) throw new Error(`accuracy_fashion: epoch ${e + 1} visited ${orders[e]?.length ?? 0} samples, expected ${n}`);
        flat.set(orders[e], e * n);
      }
      writeFileSync(orderFile, new Uint8Array(flat.buffer));
      const history = run.result.history;
      const nl = pct(run.result.final.test_acc!);
      for (const mode of o.modes) {
        const shared = mode === 'shared' ? ['--init', initFile, '--order', orderFile] : [];
        const torch = runTorchJson(
          'accuracy_fashion.py',
          ['--data-dir', o.dataDir, '--epochs', String(o.epochs), '--seed', String(seed), '--threads', String(o.threads), ...shared],
          { OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' },
        );
        const t = torch.find((r) => r.seed === seed) as TorchResult | undefined;
        const row: Row = { nl, nlS, t: t === undefined ? null : pct(t.acc), tS: t === undefined ? null : t.s };
        rows[mode].push(row);
        console.log(JSON.stringify({
          name: `${name} seed ${seed} ${mode}-init`, threads: o.threads, init: mode, seed, normlab_acc: row.nl, torch_acc: row.t,
          diff_pp: row.t === null ? null : round(row.nl - row.t), normlab_s: round(row.nlS), torch_s: row.tS === null ? null : round(row.tS),
          normlab_epoch_acc: history.map((h) => pct(h.test_acc!)), torch_epoch_acc: t === undefined ? null : t.test_acc.map(pct),
          normlab_train_loss: history.map((h) => round5(h.train_loss)), torch_train_loss: t === undefined ? null : t.train_loss.map(round5),
        }));
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  for (const mode of o.modes) {
    const rs = rows[mode];
    const haveTorch = rs.every((r) => r.t !== null);
    const nlMean = mean(rs.map((r) => r.nl));
    const tMean = haveTorch ? mean(rs.map((r) => r.t!)) : null;
    console.log(JSON.stringify({
      name: `${name} mean of seeds ${o.seeds.join(',')} ${mode}-init`, threads: o.threads, init: mode, normlab_acc: round(nlMean),
      torch_acc: tMean === null ? null : round(tMean), diff_pp: tMean === null ? null : round(nlMean - tMean),
      normlab_s: round(mean(rs.map((r) => r.nlS))), torch_s: haveTorch ? round(mean(rs.map((r) => r.tS!))) : null,
    }));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));
