// One training step of ResNet-18 in seed 001's CIFAR variant (createModel('resnet18'): 3x3
// stride-1 first conv, no max-pool, BN) at batch 128 on random 3x32x32 input: forward,
// cross-entropy, backward, SGD (lr 0.1, momentum 0.9), against torchvision's resnet18 with the
// same changes (bench/torch/train_resnet.py). A step takes seconds, so few repetitions.
// Reports the median ms per step and the mean CPU ms per step; goal: >= 1.0x PyTorch.
//   node dist/bench/train_resnet.js [threads...]
import { optim, randn, setNumThreads, functional as F, models } from '../src/index.js';
import { runTorchJson, report, round, timeWallCpu } from './common.js';

const BATCH = 128;
const REPS = 3;
const WARMUP = 1;
const NAME = `resnet18-cifar train step batch ${BATCH}`;

export function main(threadList: number[] = [1, 2]): void {
  const torch = runTorchJson('train_resnet.py', ['--batch', String(BATCH), '--reps', String(REPS), '--warmup', String(WARMUP), ...threadList.map(String)]);
  for (const threads of threadList) {
    setNumThreads(threads);
    const model = models.createModel('resnet18');
    model.train();
    const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const x = randn([BATCH, 3, 32, 32], { seed: 1 });
    const y = Int32Array.from({ length: BATCH }, (_, i) => i % 10);
    const { ms, cpuMs } = timeWallCpu(() => {
      opt.zeroGrad();
      F.crossEntropy(model.call(x), y).backward();
      opt.step();
    }, REPS, WARMUP);
    const t = torch.find((o) => o.name === NAME && o.threads === threads) as { ms: number; cpu_ms: number } | undefined;
    report(NAME, threads, ms, t?.ms, {
      normlab_samples_per_s: round((BATCH / ms) * 1000),
      torch_samples_per_s: t === undefined ? null : round((BATCH / t.ms) * 1000),
      normlab_cpu_ms: round(cpuMs),
      torch_cpu_ms: t === undefined ? null : round(t.cpu_ms),
    });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const t = process.argv.slice(2).map(Number);
  main(t.length > 0 ? t : undefined);
}
