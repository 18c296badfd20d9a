// Training throughput of seed 000's small MNIST CNN (FbnMnistNet with BN after fc1) at batch 64:
// forward, cross-entropy, backward and SGD (lr 0.01, momentum 0.5) on a fixed random batch, in
// training mode (both dropouts active), against the same network in PyTorch
// (bench/torch/train_mnist.py). Reports the median ms per step, samples/s and the mean CPU ms per
// step (steadier on a loaded machine); goal: >= 1.5x PyTorch samples/s.
//   node dist/bench/train_mnist.js [threads...]
import { optim, randn, setNumThreads, functional as F, models } from '../src/index.js';
import { runTorchJson, report, round, timeWallCpu } from './common.js';

const BATCH = 64;
const REPS = 60;
const WARMUP = 10;
const NAME = `fbn-mnist train step batch ${BATCH}`;

export function main(threadList: number[] = [1, 2]): void {
  const torch = runTorchJson('train_mnist.py', ['--batch', String(BATCH), '--reps', String(REPS), '--warmup', String(WARMUP), ...threadList.map(String)]);
  for (const threads of threadList) {
    setNumThreads(threads);
    const model = models.createModel('fbn-mnist', { norm: 'bn' });
    model.train();
    const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.5 });
    const x = randn([BATCH, 1, 28, 28], { seed: 1 });
    const y = Int32Array.from({ length: BATCH }, (_, i) => i % 10);
    const { ms, cpuMs } = timeWallCpu(() => {
      opt.zeroGrad();
      F.crossEntropy(model.call(x), y).backward();
      opt.step();
    }, REPS, WARMUP);
    const t = torch.find((o) => o.name === NAME && o.threads === threads) as { ms: number; cpu_ms: number } | undefined;
    report(NAME, threads, ms, t?.ms, {
      normlab_samples_per_s: Math.round((BATCH / ms) * 1000),
      torch_samples_per_s: t === undefined ? null : Math.round((BATCH / t.ms) * 1000),
      normlab_cpu_ms: round(cpuMs),
      torch_cpu_ms: t === undefined ? null : round(t.cpu_ms),
    });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const t = process.argv.slice(2).map(Number);
  main(t.length > 0 ? t : undefined);
}
