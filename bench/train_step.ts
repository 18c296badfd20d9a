// One training step (forward, backward, SGD update) of LeNet-5 without normalization on
// MNIST-sized input, batch 64, against the same network in PyTorch (bench/torch/train_step.py).
import { nn, optim, randn, setNumThreads, functional as F } from '../src/index.js';
import { runTorch, report, timeMs } from './common.js';

function lenet5(): nn.Module {
  return new nn.Sequential(
    new nn.Conv2d(1, 6, 5, { padding: 2 }), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(6, 16, 5), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(),
    new nn.Linear(400, 120), new nn.ReLU(), new nn.Linear(120, 84), new nn.ReLU(), new nn.Linear(84, 10),
  );
}

export function main(): void {
  const batch = 64;
  const torch = new Map<string, number>();
  for (const t of [1, 2]) for (const [k, v] of runTorch('train_step.py', ['--threads', String(t), '--batch', String(batch)])) torch.set(k, v);
  for (const threads of [1, 2]) {
    setNumThreads(threads);
    const model = lenet5();
    const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
    const x = randn([batch, 1, 28, 28], { seed: 1 });
    const y = Int32Array.from({ length: batch }, (_, i) => i % 10);
    const ms = timeMs(() => {
      opt.zeroGrad();
      F.crossEntropy(model.forward(x), y).backward();
      opt.step();
    }, 30, 5);
    const name = `lenet5 train step batch ${batch}`;
    const tm = torch.get(`${name}@${threads}`);
    report(name, threads, ms, tm, {
      normlab_samples_per_s: Math.round((batch / ms) * 1000),
      torch_samples_per_s: tm === undefined ? null : Math.round((batch / tm) * 1000),
    });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
