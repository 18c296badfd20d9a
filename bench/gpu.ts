// WebGPU benchmarks beside PyTorch CUDA (bench/torch/gpu.py, run in the same script when
// PyTorch with CUDA is present): BatchNorm2d and Filtered BN forward+backward on 128x64x32x32,
// SGEMM 4096^3, conv 64->64 3x3 at batch 128 forward+backward, a ResNet-18 CIFAR training step at
// batch 128 and a LeNet-5 step at batch 256. Times are per iteration: `reps` iterations are
// encoded back to back and the clock stops when the device has finished them all (runtime.sync()),
// as torch.cuda.synchronize() does for PyTorch.
//
//   npm run bench:gpu [-- --reps N] [-- --quick]
// --quick shrinks every size (for software adapters such as lavapipe, which are correct but slow).
import { Tensor, nn, optim, randn, functional as F, models } from '../src/index.js';
import { enableWebgpu, probeWebgpu } from '../src/backend/webgpu.js';
import { runTorchJson, report, round } from './common.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const repsAt = args.indexOf('--reps');
const reps = repsAt >= 0 ? Number(args[repsAt + 1]) : quick ? 3 : 20;

const probe = await probeWebgpu();
if (!probe.available) {
  console.log(JSON.stringify({ name: 'webgpu', available: false, reason: probe.reason }));
  process.exit(0);
}
const gpu = await enableWebgpu();
const device = 'webgpu' as const;
console.log(JSON.stringify({ name: 'webgpu', available: true, adapter: probe.adapter, quick, reps }));

const size = quick
  ? { n: 8, gemm: 512, convBatch: 8, resnetBatch: 8, lenetBatch: 32 }
  : { n: 128, gemm: 4096, convBatch: 128, resnetBatch: 128, lenetBatch: 256 };
const torch = runTorchJson('gpu.py', [JSON.stringify({ ...size, reps })]);
const torchMs = (name: string): number | undefined => {
  const t = torch.find((o) => o.name === name) as { ms?: number } | undefined;
  return t?.ms;
};
if (torch.length === 0) console.log(JSON.stringify({ name: 'torch_cuda', available: false, reason: 'PyTorch with CUDA is not installed here' }));
else if (torch[0].cuda === false) console.log(JSON.stringify({ name: 'torch_cuda', available: false, reason: torch[0].reason }));

/** Median over 3 rounds of (time of `reps` iterations until the device is idle) / reps, in ms. */
async function gpuMs(fn: () => void, n = reps): Promise<number> {
  fn();
  await gpu.runtime.sync();
  const rounds: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    await gpu.runtime.sync();
    rounds.push((performance.now() - t0) / n);
  }
  rounds.sort((a, b) => a - b);
  return rounds[1];
}

function fwdBwd(m: nn.Module, x: Tensor, gy: Tensor): () => void {
  return () => {
    x.zeroGrad();
    m.zeroGrad();
    m.forward(x).backward(gy);
  };
}

const shape = [size.n, 64, 32, 32];
const x = randn(shape, { seed: 1, requiresGrad: true, device });
const gy = randn(shape, { seed: 2, device });
const tensorBytes = x.size * 4;

const bnMs = await gpuMs(fwdBwd(new nn.BatchNorm2d(64).to(device), x, gy));
report('bn2d_fwd_bwd', 0, bnMs, torchMs('bn2d_fwd_bwd'), { device, shape, GBs_5_tensors: round((5 * tensorBytes) / (bnMs * 1e6)) });
const fbnMs = await gpuMs(fwdBwd(new nn.FilteredBatchNorm2d(64, { threshold: 4 }).to(device), x, gy));
report('fbn2d_fwd_bwd', 0, fbnMs, torchMs('fbn2d_fwd_bwd'), { device, shape, x_bn2d: round(fbnMs / bnMs) });

const g = size.gemm;
const a = gpu.upload(randn([g, g], { seed: 3 }).data());
const b = gpu.upload(randn([g, g], { seed: 4 }).data());
const c = gpu.empty(g * g);
const gemmMs = await gpuMs(() => gpu.sgemm({ transA: false, transB: false, M: g, N: g, K: g, alpha: 1, a, lda: g, b, ldb: g, beta: 0, c, ldc: g }));
report(`sgemm_${g}`, 0, gemmMs, torchMs(`sgemm_${g}`), { device, tflops: round((2 * g ** 3) / (gemmMs * 1e9)) });

const conv = new nn.Conv2d(64, 64, 3, { padding: 1 }).to(device);
const cx = randn([size.convBatch, 64, 32, 32], { seed: 5, requiresGrad: true, device });
const cgy = randn([size.convBatch, 64, 32, 32], { seed: 6, device });
report(`conv64_fwd_bwd_b${size.convBatch}`, 0, await gpuMs(fwdBwd(conv, cx, cgy)), torchMs('conv64_fwd_bwd'), { device });

async function trainStep(name: string, model: nn.Module, input: number[], batch: number, steps: number): Promise<void> {
  model.to(device);
  model.train();
  const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const xs = randn([batch, ...input], { seed: 7, device });
  const ys = Int32Array.from({ length: batch }, (_, i) => i % 10);
  const ms = await gpuMs(() => {
    opt.zeroGrad();
    F.crossEntropy(model.call(xs), ys).backward();
    opt.step();
  }, steps);
  const t = torchMs(name);
  report(name, 0, ms, t, { device, normlab_samples_per_s: Math.round((batch / ms) * 1000), torch_samples_per_s: t === undefined ? null : Math.round((batch / t) * 1000) });
}

await trainStep(`resnet18_cifar_step_b${size.resnetBatch}`, models.createModel('resnet18'), [3, 32, 32], size.resnetBatch, quick ? 1 : Math.max(5, reps / 2));
await trainStep(`lenet5_step_b${size.lenetBatch}`, models.createModel('lenet5'), [1, 28, 28], size.lenetBatch, reps);
