// conv2d forward + backward (input, weight and bias gradients) against PyTorch, at 1 and 2
// threads: a ResNet layer (64->64 3x3 padding 1 on 128x64x32x32) and an MNIST layer (1->16 5x5
// on 64x1x28x28). Twin: bench/torch/conv.py (LAYERS must match).
//   node dist/bench/conv.js [threads...]
import { Tensor, functional as F, setNumThreads, randn } from '../src/index.js';
import { timeMs, runTorch, report } from './common.js';

interface Layer {
  name: string;
  x: number[];
  w: number[];
  padding: number;
  reps: number;
}

const LAYERS: Layer[] = [
  { name: 'conv2d resnet 64->64 3x3 pad1 128x64x32x32', x: [128, 64, 32, 32], w: [64, 64, 3, 3], padding: 1, reps: 3 },
  { name: 'conv2d mnist 1->16 5x5 64x1x28x28', x: [64, 1, 28, 28], w: [16, 1, 5, 5], padding: 0, reps: 20 },
];

const threadCounts = process.argv.slice(2).map(Number);
const threadList = threadCounts.length > 0 ? threadCounts : [1, 2];
const torch = runTorch('conv.py', threadList.map(String));

for (const threads of threadList) {
  setNumThreads(threads);
  for (const layer of LAYERS) {
    const x = randn(layer.x, { seed: 1, requiresGrad: true });
    const w = new Tensor(randn(layer.w, { seed: 2 }).buffer.map((v) => v * 0.1), layer.w, { requiresGrad: true });
    const b = randn([layer.w[0]], { seed: 3, requiresGrad: true });
    const y0 = F.conv2d(x, w, b, { padding: layer.padding });
    const gy = randn(y0.shape, { seed: 4 });
    const step = (): void => {
      x.grad = w.grad = b.grad = null;
      F.conv2d(x, w, b, { padding: layer.padding }).backward(gy);
    };
    report(layer.name, threads, timeMs(step, layer.reps, 1), torch.get(`${layer.name}@${threads}`));
  }
}
