// Norm-layer benchmarks against PyTorch 1.13 (bench/torch/norm.py, bench/torch/fbn.py) and
// against the memory-bandwidth time of the same bytes, for 1 and 2 threads.
//
// Bandwidth: a 256 MB copy (the backend's memory verb copy) measured here; copy bandwidth counts the bytes
// read plus the bytes written. The bandwidth time of a norm pass counts the compulsory traffic
// of one float32 tensor each: BN forward+backward reads x and writes y, then reads x and dy and
// writes dx (5 tensors); eval reads x and writes y (2 tensors).
//
//   node dist/bench/norm.js [reps]
import { Tensor, nn, randn, setNumThreads } from '../src/index.js';
import { backend } from '../src/backend/index.js';
import { report, runTorch, timeMs } from './common.js';

const reps = Number(process.argv[2] ?? 10);
const threadsList = [1, 2];
const torchNorm = runTorch('norm.py', [threadsList.join(','), String(reps)]);
const torchFbn = runTorch('fbn.py', [threadsList.join(','), String(reps)]);

const shape = [128, 64, 32, 32];
const x = randn(shape, { seed: 1, requiresGrad: true });
const gy = randn(shape, { seed: 2 });
const x2 = randn([8192, 512], { seed: 3, requiresGrad: true });
const gy2 = randn([8192, 512], { seed: 4 });
const tensorBytes = x.size * 4;

function fwdBwd(m: nn.Module, input: Tensor, g: Tensor): () => void {
  return () => {
    input.zeroGrad();
    m.zeroGrad();
    m.forward(input).backward(g);
  };
}

const big = backend.full(64 << 20, 1);
const bigOut = backend.zeros(64 << 20);
const bigHost = new Float32Array(64 << 20).fill(1);
const bigHostOut = new Float32Array(64 << 20);

for (const threads of threadsList) {
  setNumThreads(threads);
  const copyMs = timeMs(() => backend.copy(big, bigOut), 5, 1);
  const setMs = timeMs(() => bigHostOut.set(bigHost), 5, 1);
  const copyGBs = (2 * big.length * 4) / (copyMs * 1e6);
  report('copy_256MB', threads, copyMs, undefined, { copy_GBs: round(copyGBs), typedarray_set_GBs: round((2 * big.length * 4) / (setMs * 1e6)) });
  const bwMs = (n: number): number => (n * tensorBytes) / (copyGBs * 1e6);

  const bn = new nn.BatchNorm2d(64);
  const bnMs = timeMs(fwdBwd(bn, x, gy), reps);
  report('bn2d_fwd_bwd', threads, bnMs, torchNorm.get(`bn2d_fwd_bwd@${threads}`), { bandwidth_ms: round(bwMs(5)), x_bandwidth: round(bnMs / bwMs(5)) });

  // The kernels alone (preallocated buffers, no autograd bookkeeping or gradient copies).
  const C = 64;
  const S = 32 * 32;
  const y = backend.empty(x.size);
  const dx = backend.empty(x.size);
  const stats = Array.from({ length: 5 }, () => backend.zeros(C));
  const ones = backend.full(C, 1);
  const xs = x.storage;
  const dy = gy.storage;
  const kernMs = timeMs(() => {
    backend.batchNormForward({
      x: xs, N: 128, C, S, gamma: ones, beta: stats[4], eps: 1e-5, y, mean: stats[0], invstd: stats[1], variance: stats[2],
      threshold: 0, mu0: null, rstd0: null, kept: null,
    });
    backend.batchNormBackward({
      x: xs, dy, N: 128, C, S, mean: stats[0], invstd: stats[1], gamma: ones, batchStats: true, dx, dgamma: stats[3], dbeta: stats[4],
      count: null, threshold: 0, mu0: null, rstd0: null,
    });
  }, reps);
  report('bn2d_fwd_bwd_kernels_only', threads, kernMs, torchNorm.get(`bn2d_fwd_bwd@${threads}`), { bandwidth_ms: round(bwMs(5)), x_bandwidth: round(kernMs / bwMs(5)) });

  const fstats = Array.from({ length: 3 }, () => backend.zeros(C));
  const fbnKernMs = timeMs(() => {
    backend.batchNormForward({
      x: xs, N: 128, C, S, gamma: ones, beta: stats[4], eps: 1e-5, y, mean: stats[0], invstd: stats[1], variance: stats[2],
      threshold: 4, mu0: fstats[0], rstd0: fstats[1], kept: fstats[2],
    });
    backend.batchNormBackward({
      x: xs, dy, N: 128, C, S, mean: stats[0], invstd: stats[1], gamma: ones, batchStats: true, dx, dgamma: stats[3], dbeta: stats[4],
      count: fstats[2], threshold: 4, mu0: fstats[0], rstd0: fstats[1],
    });
  }, reps);
  report('fbn2d_fwd_bwd_kernels_only', threads, fbnKernMs, torchFbn.get(`fbn2d_fwd_bwd@${threads}`), { x_normlab_bn: round(fbnKernMs / kernMs) });

  const fbn = new nn.FilteredBatchNorm2d(64, { threshold: 4 });
  const fbnMs = timeMs(fwdBwd(fbn, x, gy), reps);
  report('fbn2d_fwd_bwd', threads, fbnMs, torchFbn.get(`fbn2d_fwd_bwd@${threads}`), { x_normlab_bn: round(fbnMs / bnMs) });

  // GN/LN move the same compulsory bytes as BN (5 tensors); the torch columns show how close
  // PyTorch already is to that bound, which caps the speed-up any implementation can have.
  const gnMs = timeMs(fwdBwd(new nn.GroupNorm(32, 64), x, gy), reps);
  const gnTorch = torchNorm.get(`gn32_fwd_bwd@${threads}`);
  report('gn32_fwd_bwd', threads, gnMs, gnTorch, { bandwidth_ms: round(bwMs(5)), x_bandwidth: round(gnMs / bwMs(5)), torch_x_bandwidth: gnTorch === undefined ? null : round(gnTorch / bwMs(5)) });

  const lnMs = timeMs(fwdBwd(new nn.LayerNorm([512]), x2, gy2), reps);
  const lnTorch = torchNorm.get(`ln512_fwd_bwd@${threads}`);
  const lnBw = (5 * x2.size * 4) / (copyGBs * 1e6);
  report('ln512_fwd_bwd', threads, lnMs, lnTorch, { bandwidth_ms: round(lnBw), x_bandwidth: round(lnMs / lnBw), torch_x_bandwidth: lnTorch === undefined ? null : round(lnTorch / lnBw) });

  // The added layers on the same 128x64x32x32 tensor (5-D layers on its 128x64x16x8x8 view):
  // fwd+bwd against the same 5-tensor bandwidth time. PyTorch 1.13 has no RMSNorm, LayerNorm2d,
  // FRN or EvoNorm: bench/torch/norm.py runs timm's formulas written in torch ops for those.
  const x5 = randn([128, 64, 16, 8, 8], { seed: 5, requiresGrad: true });
  const gy5 = randn([128, 64, 16, 8, 8], { seed: 6 });
  const added: [string, nn.Module, Tensor, Tensor][] = [
    ['bn3d_fwd_bwd', new nn.BatchNorm3d(64), x5, gy5],
    ['in3d_fwd_bwd', new nn.InstanceNorm3d(64, { affine: true }), x5, gy5],
    ['frozenbn2d_fwd_bwd', new nn.FrozenBatchNorm2d(64), x, gy],
    ['rmsnorm2d_fwd_bwd', new nn.RmsNorm2d(64), x, gy],
    ['layernorm2d_fwd_bwd', new nn.LayerNorm2d(64), x, gy],
    ['lrn5_fwd_bwd', new nn.LocalResponseNorm(5), x, gy],
    ['frn_tlu_fwd_bwd', new nn.FilterResponseNormTlu2d(64), x, gy],
    ['evonorm_b0_fwd_bwd', new nn.EvoNorm2dB0(64), x, gy],
    ['evonorm_s0_fwd_bwd', new nn.EvoNorm2dS0(64), x, gy],
    ['bnact2d_fwd_bwd', new nn.BatchNormAct2d(64), x, gy],
    ['gnact32_fwd_bwd', new nn.GroupNormAct(64, 32), x, gy],
  ];
  for (const [name, m, input, g] of added) {
    const ms = timeMs(fwdBwd(m, input, g), reps);
    const tms = torchNorm.get(`${name}@${threads}`);
    report(name, threads, ms, tms, { bandwidth_ms: round(bwMs(5)), x_bandwidth: round(ms / bwMs(5)), torch_x_bandwidth: tms === undefined ? null : round(tms / bwMs(5)) });
  }

  bn.eval();
  const xd = x.detach();
  const evalMs = timeMs(() => bn.forward(xd), reps);
  report('bn2d_eval', threads, evalMs, torchNorm.get(`bn2d_eval@${threads}`), { bandwidth_ms: round(bwMs(2)), x_bandwidth: round(evalMs / bwMs(2)) });
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
