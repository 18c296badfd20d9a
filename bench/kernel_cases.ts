// The kernel benchmark's cases: every kernel of the Backend type at a small and a large shape
// (bench/kernels.ts times them, bench/torch/kernels.py times the PyTorch twin of each name).
// Each case states the compulsory memory traffic (bytes read + written once) and the FLOPs of
// one call; `setup` allocates its buffers and returns the call to time. Listing the cases
// allocates nothing (test/bench/kernel_cases.test.ts checks that every Backend kernel has one).
import { backend, type Backend, type Storage } from '../src/backend/index.js';
import { BinaryOp, UnaryOp } from '../src/backend/kernels/elementwise.js';
import { ReduceOp } from '../src/backend/kernels/reduce.js';
import { Tensor, functional as F } from '../src/index.js';

export interface KernelCase {
  kernel: keyof Backend;
  /** Unique line name; bench/torch/kernels.py prints the same name for the PyTorch twin. */
  name: string;
  bytes: number;
  flops: number;
  setup: () => () => void;
}

/** Floats from a fixed LCG, uniform in [lo, hi). */
function fill(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((s >>> 8) / 16777216) * (hi - lo);
  }
  return out;
}
const prod = (s: number[]): number => s.reduce((a, b) => a * b, 1);
/** CPU storage holding a copy of the values. */
const up = (values: Float32Array): Storage => backend.upload(values);
const F4 = 4;

/** The activation shape of the table and a small one. */
const LARGE = [128, 64, 32, 32];
const SMALL = [8, 16, 8, 8];

function shapeName(s: number[]): string {
  return s.join('x');
}

export function kernelCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  const add = (kernel: keyof Backend, name: string, bytes: number, flops: number, setup: () => () => void): void => {
    cases.push({ kernel, name, bytes, flops, setup });
  };

  // Runtime controls: per-call overhead of the N-API boundary.
  add('getNumThreads', 'getNumThreads', 0, 0, () => () => backend.getNumThreads());
  add('setNumThreads', 'setNumThreads', 0, 0, () => () => backend.setNumThreads(backend.getNumThreads()));
  add('getIsa', 'getIsa', 0, 0, () => () => backend.getIsa());
  add('setIsa', 'setIsa', 0, 0, () => () => backend.setIsa(backend.getIsa()));
  add('supportedIsas', 'supportedIsas', 0, 0, () => () => backend.supportedIsas());

  for (const n of [64, 512]) {
    add('sgemm', `sgemm ${n}x${n}x${n}`, 3 * n * n * F4, 2 * n ** 3, () => {
      const a = up(fill(n * n, 1)), b = up(fill(n * n, 2)), c = backend.zeros(n * n);
      return () => backend.sgemm({ transA: false, transB: false, M: n, N: n, K: n, alpha: 1, a, lda: n, b, ldb: n, beta: 0, c, ldc: n });
    });
  }

  // Elementwise.
  for (const [tag, shape, bshape] of [['large', LARGE, [1, 64, 1, 1]], ['small', [64, 10], [10]]] as const) {
    const n = prod([...shape]);
    add('binary', `binary add ${shapeName([...shape])}+${shapeName([...bshape])}`, 2 * n * F4, n, () => {
      const a = up(fill(n, 3)), b = up(fill(prod([...bshape]), 4)), out = backend.zeros(n);
      return () => backend.binary({ op: BinaryOp.add, a, aShape: [...shape], b, bShape: [...bshape], out, outShape: [...shape] });
    });
    add('binary', `binary mul ${shapeName([...shape])}*${shapeName([...shape])}`, 3 * n * F4, n, () => {
      const a = up(fill(n, 3)), b = up(fill(n, 4)), out = backend.zeros(n);
      return () => backend.binary({ op: BinaryOp.mul, a, aShape: [...shape], b, bShape: [...shape], out, outShape: [...shape] });
    });
    for (const op of ['relu', 'exp', 'sigmoid'] as const) {
      add('unary', `unary ${op} ${shapeName([...shape])} ${tag}`, 2 * n * F4, n, () => {
        const x = up(fill(n, 5)), y = backend.zeros(n);
        return () => backend.unary({ op: UnaryOp[op], x, y });
      });
    }
    for (const op of ['relu', 'sigmoid'] as const) {
      add('unaryBackward', `unaryBackward ${op} ${shapeName([...shape])} ${tag}`, 3 * n * F4, n, () => {
        const x = up(fill(n, 5)), y = up(fill(n, 6, 0, 1)), gy = up(fill(n, 7)), gx = backend.zeros(n);
        return () => backend.unaryBackward({ op: UnaryOp[op], x, y, gy, gx });
      });
    }
    add('sumToShape', `sumToShape ${shapeName([...shape])}->${shapeName([...bshape])}`, n * F4, n, () => {
      const g = up(fill(n, 8)), out = backend.zeros(prod([...bshape]));
      return () => backend.sumToShape({ g, gShape: [...shape], out, outShape: [...bshape] });
    });
    // maximum/minimum's gradient: a and b with ties every 4th value.
    add('minMaxBackward', `minMaxBackward max ${shapeName([...shape])}`, 5 * n * F4, n, () => {
      const av = fill(n, 3), bv = fill(n, 4);
      for (let i = 0; i < n; i += 4) bv[i] = av[i];
      const a = up(av), b = up(bv), g = up(fill(n, 5)), ga = backend.zeros(n), gb = backend.zeros(n);
      return () => backend.minMaxBackward({ isMax: true, a, b, g, ga, gb });
    });
  }

  // Reductions: the rows on the large shape, and a classifier-sized one.
  const reductions: [string, number[], number[], number, number][] = [
    ['sum()', LARGE, [0, 1, 2, 3], ReduceOp.sum, 1],
    ['sum([0,2,3])', LARGE, [0, 2, 3], ReduceOp.sum, 1],
    ['var()', LARGE, [0, 1, 2, 3], ReduceOp.var, 2],
    ['std([0,2,3])', LARGE, [0, 2, 3], ReduceOp.std, 2],
    ['mean(1)', LARGE, [1], ReduceOp.mean, 1],
    ['max(1)', LARGE, [1], ReduceOp.max, 1],
    ['sum(1)', [64, 10], [1], ReduceOp.sum, 1],
    ['max(1)', [64, 10], [1], ReduceOp.max, 1],
  ];
  for (const [label, shape, dims, op, passes] of reductions) {
    const n = prod(shape);
    const outN = prod(shape.filter((_, i) => !dims.includes(i)));
    add('reduce', `reduce ${label} ${shapeName(shape)}`, (n + outN) * F4, n * passes, () => {
      const x = up(fill(n, 9, -1 + 0, 3)), out = backend.zeros(outN);
      const index = op === ReduceOp.max || op === ReduceOp.min ? backend.emptyIndex(outN) : null;
      const unbiased = op === ReduceOp.var || op === ReduceOp.std ? true : undefined;
      return () => backend.reduce({ op, x, shape, dims, out, index, unbiased });
    });
  }
  // max/min's gradient: to the arg-extreme (torch.max(x, dim)) and split among ties (torch.amax).
  for (const [label, shape, dims, byIndex] of [
    ['max(1) index', LARGE, [1], true],
    ['amax([0,2,3]) ties', LARGE, [0, 2, 3], false],
    ['max(1) index', [64, 10], [1], true],
  ] as [string, number[], number[], boolean][]) {
    const n = prod(shape);
    const outN = prod(shape.filter((_, i) => !dims.includes(i)));
    add('extremeBackward', `extremeBackward ${label} ${shapeName(shape)}`, (2 * n + 2 * outN) * F4, byIndex ? outN : 2 * n, () => {
      const x = up(fill(n, 9)), values = backend.zeros(outN), g = up(fill(outN, 4)), gx = backend.zeros(n);
      const index = byIndex ? backend.emptyIndex(outN) : null;
      backend.reduce({ op: ReduceOp.max, x, shape, dims, out: values, index });
      return () => backend.extremeBackward({ x, shape, dims, values, index, g, gx });
    });
  }
  for (const shape of [LARGE, SMALL]) {
    const n = prod(shape);
    add('permute', `permute(0,2,3,1) ${shapeName(shape)}`, 2 * n * F4, 0, () => {
      const x = up(fill(n, 10)), out = backend.zeros(n);
      return () => backend.permute({ x, shape, perm: [0, 2, 3, 1], out });
    });
    // concat's and pad's copies: half the channels into an output of all of them, and a 1-pixel border.
    const half = [shape[0], shape[1] / 2, shape[2], shape[3]];
    add('copyRegion', `copyRegion concat channels ${shapeName(half)}->${shapeName(shape)}`, n * F4, 0, () => {
      const src = up(fill(n / 2, 10)), dst = backend.zeros(n);
      return () => backend.copyRegion({ src, srcShape: half, srcStart: [0, 0, 0, 0], dst, dstShape: shape, dstStart: [0, half[1], 0, 0], size: half });
    });
    const padded = [shape[0], shape[1], shape[2] + 2, shape[3] + 2];
    add('copyRegion', `copyRegion pad 1 ${shapeName(shape)}->${shapeName(padded)}`, (n + prod(padded)) * F4, 0, () => {
      const src = up(fill(n, 10)), dst = backend.zeros(prod(padded));
      return () => backend.copyRegion({ src, srcShape: shape, srcStart: [0, 0, 0, 0], dst, dstShape: padded, dstStart: [0, 0, 1, 1], size: shape });
    });
  }

  // Optimizers: one parameter tensor of 1M floats and one of 1k.
  for (const n of [1 << 20, 1 << 10]) {
    const tag = n > 4096 ? '1M' : '1k';
    add('sgdStep', `sgdStep momentum ${tag}`, 5 * n * F4, 4 * n, () => {
      const p = up(fill(n, 11)), g = up(fill(n, 12)), buf = backend.zeros(n);
      return () => backend.sgdStep({ p, g, buf, lr: 0.01, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, firstStep: false });
    });
    add('adamStep', `adamStep ${tag}`, 7 * n * F4, 12 * n, () => {
      const p = up(fill(n, 11)), g = up(fill(n, 12)), m = backend.zeros(n), v = backend.zeros(n);
      let step = 0;
      return () => backend.adamStep({ p, g, m, v, lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: ++step, decoupled: false });
    });
    add('rmspropStep', `rmspropStep ${tag}`, 5 * n * F4, 6 * n, () => {
      const p = up(fill(n, 11)), g = up(fill(n, 12)), sq = backend.zeros(n);
      return () => backend.rmspropStep({ p, g, sq, buf: null, gAvg: null, lr: 0.01, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false });
    });
  }

  // Softmax and losses.
  for (const [rows, cols] of [[4096, 1024], [256, 10], [64, 10]]) {
    const n = rows * cols;
    add('softmaxForward', `softmaxForward ${rows}x${cols}`, 2 * n * F4, 4 * n, () => {
      const x = up(fill(n, 13, -4, 4)), y = backend.empty(n);
      return () => backend.softmaxForward({ x, rows, cols, y, log: false });
    });
    add('softmaxBackward', `softmaxBackward ${rows}x${cols}`, 3 * n * F4, 4 * n, () => {
      const y = up(fill(n, 14, 0, 1 / cols)), gy = up(fill(n, 15)), gx = backend.empty(n);
      return () => backend.softmaxBackward({ y, gy, rows, cols, gx, log: false });
    });
    const classes = Int32Array.from({ length: rows }, (_, i) => (i * 7) % cols);
    const common = { N: rows, C: cols, eps: 0, ignoreIndex: -100, reduction: 'mean' as const };
    add('crossEntropyForward', `crossEntropyForward ${rows}x${cols}`, n * F4, 4 * n, () => {
      const logits = up(fill(n, 16, -4, 4)), target = backend.uploadIndex(classes), out = backend.empty(1), count = backend.empty(1);
      return () => backend.crossEntropyForward({ ...common, logits, target, out, count });
    });
    add('crossEntropyBackward', `crossEntropyBackward ${rows}x${cols}`, 2 * n * F4, 5 * n, () => {
      const logits = up(fill(n, 16, -4, 4)), target = backend.uploadIndex(classes), gx = backend.empty(n);
      const gy = backend.full(1, 1), count = backend.full(1, rows);
      return () => backend.crossEntropyBackward({ ...common, logits, target, gy, count, gx });
    });
    add('nllLossForward', `nllLossForward ${rows}x${cols}`, rows * F4, rows, () => {
      const logp = up(fill(n, 17, -5, 0)), target = backend.uploadIndex(classes), out = backend.empty(1), count = backend.empty(1);
      return () => backend.nllLossForward({ ...common, logp, target, out, count });
    });
    add('nllLossBackward', `nllLossBackward ${rows}x${cols}`, (n + rows) * F4, rows, () => {
      const target = backend.uploadIndex(classes), gx = backend.empty(n);
      const gy = backend.full(1, 1), count = backend.full(1, rows);
      return () => backend.nllLossBackward({ ...common, target, gy, count, gx });
    });
    add('classTargets', `classTargets ${rows}x${cols}`, 2 * rows * F4, 0, () => {
      const values = up(Float32Array.from(classes)), out = backend.emptyIndex(rows);
      return () => backend.classTargets({ values, n: rows, classes: cols, ignoreIndex: -100, out, fn: 'classTargets' });
    });
  }
  for (const n of [prod(LARGE), 640]) {
    const tag = n > 4096 ? shapeName(LARGE) : '64x10';
    add('mseLossForward', `mseLossForward ${tag}`, 2 * n * F4, 3 * n, () => {
      const a = up(fill(n, 18)), b = up(fill(n, 19)), out = backend.empty(1);
      return () => backend.mseLossForward({ a, b, n, reduction: 'mean', out });
    });
    add('mseLossBackward', `mseLossBackward ${tag}`, 3 * n * F4, 2 * n, () => {
      const a = up(fill(n, 18)), b = up(fill(n, 19)), gy = backend.full(1, 1), ga = backend.empty(n);
      return () => backend.mseLossBackward({ a, b, n, reduction: 'mean', gy, ga, gb: null });
    });
    add('bceWithLogitsForward', `bceWithLogitsForward ${tag}`, 2 * n * F4, 8 * n, () => {
      const x = up(fill(n, 20, -4, 4)), y = up(fill(n, 21, 0, 1)), out = backend.empty(1);
      return () => backend.bceWithLogitsForward({ x, y, n, reduction: 'mean', out });
    });
    add('bceWithLogitsBackward', `bceWithLogitsBackward ${tag}`, 3 * n * F4, 6 * n, () => {
      const x = up(fill(n, 20, -4, 4)), y = up(fill(n, 21, 0, 1)), gy = backend.full(1, 1), gx = backend.empty(n);
      return () => backend.bceWithLogitsBackward({ x, y, n, reduction: 'mean', gy, gx, gTarget: null });
    });
    add('dropoutMask', `dropoutMask ${tag}`, n * F4, 0, () => {
      const mask = backend.empty(n);
      let seed = 0;
      return () => backend.dropoutMask({ seed: ++seed, p: 0.5, n, mask });
    });
  }

  // Convolution: 3x3, padding 1, on a small and a ResNet-sized activation.
  for (const [N, C, H] of [[8, 16, 16], [32, 64, 32]]) {
    const xShape = [N, C, H, H], wShape = [C, C, 3, 3];
    const nx = prod(xShape), nw = prod(wShape);
    const flops = 2 * N * C * H * H * C * 9;
    const bytes = (2 * nx + nw) * F4;
    const geometry = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 };
    add('conv2dForward', `conv2dForward ${shapeName(xShape)} w${shapeName(wShape)}`, bytes, flops, () => {
      const x = backend.upload(fill(nx, 22)), weight = backend.upload(fill(nw, 23, -0.1, 0.1)), y = backend.empty(nx);
      return () => backend.conv2dForward({ x, xShape, weight, wShape, bias: null, y, ...geometry });
    });
    add('conv2dBackwardInput', `conv2dBackwardInput ${shapeName(xShape)} w${shapeName(wShape)}`, bytes, flops, () => {
      const dy = backend.upload(fill(nx, 24)), weight = backend.upload(fill(nw, 23, -0.1, 0.1)), dx = backend.empty(nx);
      return () => backend.conv2dBackwardInput({ dy, weight, wShape, dx, xShape, ...geometry });
    });
    add('conv2dBackwardWeight', `conv2dBackwardWeight ${shapeName(xShape)} w${shapeName(wShape)}`, bytes, flops, () => {
      const x = backend.upload(fill(nx, 22)), dy = backend.upload(fill(nx, 24)), dw = backend.empty(nw), dbias = backend.empty(C);
      return () => backend.conv2dBackwardWeight({ x, xShape, dy, dw, wShape, dbias, ...geometry });
    });
  }

  // Pooling: 2x2 stride 2 and global average pooling.
  for (const xShape of [LARGE, SMALL]) {
    const n = prod(xShape);
    const outShape = [xShape[0], xShape[1], xShape[2] / 2, xShape[3] / 2];
    const no = prod(outShape);
    const window = { kernel: [2, 2], stride: [2, 2], padding: [0, 0] };
    add('maxPool2dForward', `maxPool2dForward 2x2 ${shapeName(xShape)}`, (n + 2 * no) * F4, n, () => {
      const x = backend.upload(fill(n, 25)), y = backend.empty(no), indices = backend.emptyIndex(no);
      return () => backend.maxPool2dForward({ x, xShape, y, indices, ...window });
    });
    add('maxPool2dBackward', `maxPool2dBackward 2x2 ${shapeName(xShape)}`, (n + 2 * no) * F4, no, () => {
      const x = backend.upload(fill(n, 25)), y = backend.empty(no), indices = backend.emptyIndex(no);
      const dy = backend.upload(fill(no, 26)), dx = backend.empty(n);
      backend.maxPool2dForward({ x, xShape, y, indices, ...window });
      return () => backend.maxPool2dBackward({ dy, indices, outShape, dx, xShape });
    });
    add('avgPool2dForward', `avgPool2dForward 2x2 ${shapeName(xShape)}`, (n + no) * F4, n, () => {
      const x = backend.upload(fill(n, 25)), y = backend.empty(no);
      return () => backend.avgPool2dForward({ x, xShape, y, ...window });
    });
    add('avgPool2dBackward', `avgPool2dBackward 2x2 ${shapeName(xShape)}`, (n + no) * F4, n, () => {
      const dy = backend.upload(fill(no, 26)), dx = backend.empty(n);
      return () => backend.avgPool2dBackward({ dy, dx, xShape, ...window });
    });
    const ga = [xShape[0], xShape[1], 1, 1];
    add('adaptiveAvgPool2dForward', `adaptiveAvgPool2dForward 1x1 ${shapeName(xShape)}`, (n + prod(ga)) * F4, n, () => {
      const x = backend.upload(fill(n, 25)), y = backend.empty(prod(ga));
      return () => backend.adaptiveAvgPool2dForward({ x, xShape, y, outSize: [1, 1] });
    });
    add('adaptiveAvgPool2dBackward', `adaptiveAvgPool2dBackward 1x1 ${shapeName(xShape)}`, (n + prod(ga)) * F4, n, () => {
      const dy = backend.upload(fill(prod(ga), 26)), dx = backend.empty(n);
      return () => backend.adaptiveAvgPool2dBackward({ dy, dx, xShape, outSize: [1, 1] });
    });
  }

  // Normalization.
  for (const xs of [LARGE, SMALL]) {
    const [N, C] = xs;
    const S = xs[2] * xs[3];
    const n = prod(xs);
    const ones = backend.full(C, 1), zeros = backend.zeros(C);
    const none = { threshold: 0, mu0: null, rstd0: null, kept: null };
    const noneB = { count: null, threshold: 0, mu0: null, rstd0: null };
    add('batchNormForward', `batchNormForward ${shapeName(xs)}`, 2 * n * F4, 5 * n, () => {
      const x = up(fill(n, 27)), y = backend.empty(n), st = Array.from({ length: 3 }, () => backend.empty(C));
      return () => backend.batchNormForward({ x, N, C, S, gamma: ones, beta: zeros, eps: 1e-5, y, mean: st[0], invstd: st[1], variance: st[2], ...none });
    });
    add('batchNormForward', `batchNormForward FBN T4 ${shapeName(xs)}`, 2 * n * F4, 8 * n, () => {
      const x = up(fill(n, 27)), y = backend.empty(n), st = Array.from({ length: 6 }, () => backend.empty(C));
      return () => backend.batchNormForward({
        x, N, C, S, gamma: ones, beta: zeros, eps: 1e-5, y, mean: st[0], invstd: st[1], variance: st[2], threshold: 4, mu0: st[3], rstd0: st[4], kept: st[5],
      });
    });
    add('batchNormBackward', `batchNormBackward ${shapeName(xs)}`, 3 * n * F4, 8 * n, () => {
      const x = up(fill(n, 27)), y = backend.empty(n), dy = up(fill(n, 28)), dx = backend.empty(n);
      const st = Array.from({ length: 5 }, () => backend.empty(C));
      backend.batchNormForward({ x, N, C, S, gamma: ones, beta: zeros, eps: 1e-5, y, mean: st[0], invstd: st[1], variance: st[2], ...none });
      return () => backend.batchNormBackward({
        x, dy, N, C, S, mean: st[0], invstd: st[1], gamma: ones, batchStats: true, dx, dgamma: st[3], dbeta: st[4], ...noneB,
      });
    });
    // BatchNormAct2d's kernels: relu fused into the BN passes (same traffic as plain BN).
    add('batchNormForward', `batchNormForward relu ${shapeName(xs)}`, 2 * n * F4, 6 * n, () => {
      const x = up(fill(n, 27)), y = backend.empty(n), st = Array.from({ length: 3 }, () => backend.empty(C));
      return () => backend.batchNormForward({
        x, N, C, S, gamma: ones, beta: zeros, eps: 1e-5, y, mean: st[0], invstd: st[1], variance: st[2], ...none, act: 'relu',
      });
    });
    add('batchNormBackward', `batchNormBackward relu ${shapeName(xs)}`, 3 * n * F4, 12 * n, () => {
      const x = up(fill(n, 27)), y = backend.empty(n), dy = up(fill(n, 28)), dx = backend.empty(n);
      const st = Array.from({ length: 5 }, () => backend.empty(C));
      backend.batchNormForward({ x, N, C, S, gamma: ones, beta: zeros, eps: 1e-5, y, mean: st[0], invstd: st[1], variance: st[2], ...none, act: 'relu' });
      return () => backend.batchNormBackward({
        x, dy, N, C, S, mean: st[0], invstd: st[1], gamma: ones, batchStats: true, dx, dgamma: st[3], dbeta: st[4], ...noneB, beta: zeros, act: 'relu',
      });
    });
    add('normChannelAffine', `normChannelAffine ${shapeName(xs)}`, 2 * n * F4, 2 * n, () => {
      const x = up(fill(n, 27)), y = backend.empty(n), scale = up(fill(C, 29)), shift = up(fill(C, 30));
      return () => backend.normChannelAffine({ x, N, C, S, scale, shift, y });
    });
    // The per-channel kernels of the running statistics (C values; call overhead dominates).
    add('normEvalScaleShift', `normEvalScaleShift C${C}`, 7 * C * F4, 5 * C, () => {
      const rm = up(fill(C, 31)), rv = up(fill(C, 32, 0.5, 2)), scale = backend.empty(C), shift = backend.empty(C), invstd = backend.empty(C);
      return () => backend.normEvalScaleShift({ runningMean: rm, runningVar: rv, weight: ones, bias: zeros, eps: 1e-5, scale, shift, invstd });
    });
    add('runningStatsUpdate', `runningStatsUpdate unbiased C${C}`, 3 * C * F4, 4 * C, () => {
      const running = up(fill(C, 33, 0.5, 2)), batch = up(fill(C, 34, 0.5, 2));
      return () => backend.runningStatsUpdate({ running, batch, momentum: 0.1, batches: null, transform: 'unbiased', count: N * S, eps: 0 });
    });
    add('runningStatsUpdate', `runningStatsUpdate rows N${N} C${C}`, (N + 2) * C * F4, (N + 3) * C, () => {
      const running = up(fill(C, 33, 0.5, 2)), batch = up(fill(N * C, 35, 0.5, 2));
      return () => backend.runningStatsUpdate({ running, batch, momentum: 0.1, batches: null, transform: 'value', count: null, eps: 0 });
    });
    add('batchRenormParams', `batchRenormParams C${C}`, 12 * C * F4, 16 * C, () => {
      const mean = up(fill(C, 36)), variance = up(fill(C, 37, 0.5, 2)), invstd = up(fill(C, 38, 0.5, 2));
      const rm = up(fill(C, 39)), rs = up(fill(C, 40, 0.5, 2));
      const out = Array.from({ length: 5 }, () => backend.empty(C));
      return () => backend.batchRenormParams({
        mean, variance, invstd, renormMean: rm, renormStd: rs, weight: ones, bias: zeros, eps: 1e-5, rMax: 3, dMax: 5,
        warmup: false, batches: null, warmupSteps: 0, r: out[0], d: out[1], gamma: out[2], scale: out[3], shift: out[4],
      });
    });
    const G = C / 2;
    const Cg = C / G;
    add('groupNormForward', `groupNormForward G${G} ${shapeName(xs)}`, 2 * n * F4, 5 * n, () => {
      const x = up(fill(n, 27)), y = backend.empty(n), mean = backend.empty(N * G), invstd = backend.empty(N * G);
      return () => backend.groupNormForward({ x, N, G, Cg, S, gamma: ones, beta: zeros, eps: 1e-5, y, mean, invstd, variance: null });
    });
    add('groupNormBackward', `groupNormBackward G${G} ${shapeName(xs)}`, 3 * n * F4, 8 * n, () => {
      const x = up(fill(n, 27)), y = backend.empty(n), mean = backend.empty(N * G), invstd = backend.empty(N * G);
      const dy = up(fill(n, 28)), dx = backend.empty(n), dg = backend.empty(C), db = backend.empty(C);
      backend.groupNormForward({ x, N, G, Cg, S, gamma: ones, beta: zeros, eps: 1e-5, y, mean, invstd, variance: null });
      return () => backend.groupNormBackward({ x, dy, N, G, Cg, S, mean, invstd, gamma: ones, dx, dgamma: dg, dbeta: db });
    });
    // GroupNormAct's kernels: relu fused into the GN passes.
    add('groupNormForward', `groupNormForward relu G${G} ${shapeName(xs)}`, 2 * n * F4, 6 * n, () => {
      const x = up(fill(n, 27)), y = backend.empty(n), mean = backend.empty(N * G), invstd = backend.empty(N * G);
      return () => backend.groupNormForward({ x, N, G, Cg, S, gamma: ones, beta: zeros, eps: 1e-5, y, mean, invstd, variance: null, act: 'relu' });
    });
    add('groupNormBackward', `groupNormBackward relu G${G} ${shapeName(xs)}`, 3 * n * F4, 12 * n, () => {
      const x = up(fill(n, 27)), y = backend.empty(n), mean = backend.empty(N * G), invstd = backend.empty(N * G);
      const dy = up(fill(n, 28)), dx = backend.empty(n), dg = backend.empty(C), db = backend.empty(C);
      backend.groupNormForward({ x, N, G, Cg, S, gamma: ones, beta: zeros, eps: 1e-5, y, mean, invstd, variance: null, act: 'relu' });
      return () => backend.groupNormBackward({ x, dy, N, G, Cg, S, mean, invstd, gamma: ones, dx, dgamma: dg, dbeta: db, beta: zeros, act: 'relu' });
    });
    // The batch-independent norms (timm's LayerNorm2d, FRN + TLU, EvoNorm S0 and B0).
    add('channelNormForward', `channelNormForward ${shapeName(xs)}`, 2 * n * F4, 5 * n, () => {
      const x = up(fill(n, 27)), y = backend.empty(n), mean = backend.empty(N * S), invstd = backend.empty(N * S);
      return () => backend.channelNormForward({ x, N, C, S, gamma: ones, beta: zeros, eps: 1e-6, center: true, y, mean, invstd });
    });
    add('channelNormBackward', `channelNormBackward ${shapeName(xs)}`, 3 * n * F4, 8 * n, () => {
      const x = up(fill(n, 27)), y = backend.empty(n), mean = backend.empty(N * S), invstd = backend.empty(N * S);
      const dy = up(fill(n, 28)), dx = backend.empty(n), dg = backend.empty(C), db = backend.empty(C);
      backend.channelNormForward({ x, N, C, S, gamma: ones, beta: zeros, eps: 1e-6, center: true, y, mean, invstd });
      return () => backend.channelNormBackward({ x, dy, N, C, S, mean, invstd, gamma: ones, center: true, dx, dgamma: dg, dbeta: db });
    });
    add('frnForward', `frnForward ${shapeName(xs)}`, 2 * n * F4, 5 * n, () => {
      const x = up(fill(n, 27)), y = backend.empty(n), rstd = backend.empty(N * C), tau = backend.zeros(C);
      return () => backend.frnForward({ x, N, C, S, gamma: ones, beta: zeros, tau, eps: 1e-5, y, rstd });
    });
    add('frnBackward', `frnBackward ${shapeName(xs)}`, 3 * n * F4, 8 * n, () => {
      const x = up(fill(n, 27)), y = backend.empty(n), rstd = backend.empty(N * C), tau = backend.zeros(C);
      const dy = up(fill(n, 28)), dx = backend.empty(n), dg = backend.empty(C), db = backend.empty(C), dt = backend.empty(C);
      backend.frnForward({ x, N, C, S, gamma: ones, beta: zeros, tau, eps: 1e-5, y, rstd });
      return () => backend.frnBackward({ x, dy, N, C, S, rstd, gamma: ones, beta: zeros, tau, dx, dgamma: dg, dbeta: db, dtau: dt });
    });
    const Ge = C >= 32 ? C / 32 : 1, Cge = C / Ge;
    add('evoNormS0Forward', `evoNormS0Forward G${Ge} ${shapeName(xs)}`, 2 * n * F4, 12 * n, () => {
      const x = up(fill(n, 27)), y = backend.empty(n), mean = backend.empty(N * Ge), rstd = backend.empty(N * Ge);
      return () => backend.evoNormS0Forward({ x, N, G: Ge, Cg: Cge, S, v: ones, w: ones, b: zeros, eps: 1e-5, y, mean, rstd });
    });
    add('evoNormS0Backward', `evoNormS0Backward G${Ge} ${shapeName(xs)}`, 3 * n * F4, 20 * n, () => {
      const x = up(fill(n, 27)), y = backend.empty(n), mean = backend.empty(N * Ge), rstd = backend.empty(N * Ge);
      const dy = up(fill(n, 28)), dx = backend.empty(n), dv = backend.empty(C), dw = backend.empty(C), db = backend.empty(C);
      backend.evoNormS0Forward({ x, N, G: Ge, Cg: Cge, S, v: ones, w: ones, b: zeros, eps: 1e-5, y, mean, rstd });
      return () => backend.evoNormS0Backward({ x, dy, N, G: Ge, Cg: Cge, S, v: ones, w: ones, mean, rstd, dx, dv, dw, db });
    });
    // variance = 1 - eps: left = sqrt(variance + eps) = 1.
    const variance = backend.full(C, 1 - 1e-3);
    add('evoNormB0Forward', `evoNormB0Forward ${shapeName(xs)}`, 2 * n * F4, 8 * n, () => {
      const x = up(fill(n, 27)), y = backend.empty(n), mean = backend.empty(N * C), sd = backend.empty(N * C);
      return () => backend.evoNormB0Forward({ x, N, C, S, variance, v: ones, w: ones, b: zeros, eps: 1e-3, y, mean, sd });
    });
    add('evoNormB0Backward', `evoNormB0Backward ${shapeName(xs)}`, 3 * n * F4, 12 * n, () => {
      const x = up(fill(n, 27)), y = backend.empty(n), mean = backend.empty(N * C), sd = backend.empty(N * C);
      const dy = up(fill(n, 28)), dx = backend.empty(n), dv = backend.empty(C), dw = backend.empty(C), db = backend.empty(C);
      backend.evoNormB0Forward({ x, N, C, S, variance, v: ones, w: ones, b: zeros, eps: 1e-3, y, mean, sd });
      return () => backend.evoNormB0Backward({ x, dy, N, C, S, variance, v: ones, w: ones, eps: 1e-3, mean, sd, batchMean: null, dx, dv, dw, db });
    });
    // LocalResponseNorm with AlexNet's window (size 5) and PyTorch's defaults.
    add('localResponseNormForward', `localResponseNormForward size5 ${shapeName(xs)}`, 2 * n * F4, 50 * n, () => {
      const x = up(fill(n, 27)), y = backend.empty(n);
      return () => backend.localResponseNormForward({ x, N, C, S, size: 5, alpha: 1e-4, beta: 0.75, k: 1, y });
    });
    add('localResponseNormBackward', `localResponseNormBackward size5 ${shapeName(xs)}`, 3 * n * F4, 70 * n, () => {
      const x = up(fill(n, 27)), dy = up(fill(n, 28)), dx = backend.empty(n);
      return () => backend.localResponseNormBackward({ x, dy, N, C, S, size: 5, alpha: 1e-4, beta: 0.75, k: 1, dx });
    });
  }
  return cases;
}

/**
 * Op-level lines (the public API, output allocation and autograd bookkeeping included) for the
 * operations whose kernels matter most in training: the reductions, softmax, the elementwise
 * ops of a conv block, permute, matmul, and the `y.mul(g).sum().backward()` loss pattern.
 */
export function opCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  const n = prod(LARGE);
  const xBytes = n * F4;
  const x = (): Tensor => new Tensor(fill(n, 31, -1, 3), LARGE);
  const add = (kernel: keyof Backend, name: string, bytes: number, flops: number, setup: () => () => void): void => {
    cases.push({ kernel, name, bytes, flops, setup: () => { const fn = setup(); return () => { fn(); }; } });
  };
  add('reduce', 'op x.sum() 128x64x32x32', xBytes, n, () => { const t = x(); return () => t.sum(); });
  add('reduce', 'op x.sum([0,2,3]) 128x64x32x32', xBytes, n, () => { const t = x(); return () => t.sum([0, 2, 3]); });
  add('reduce', 'op x.var() 128x64x32x32', xBytes, 2 * n, () => { const t = x(); return () => t.var(); });
  add('reduce', 'op x.max(1) 128x64x32x32', xBytes, n, () => { const t = x(); return () => t.max(1); });
  add('reduce', 'op x.mean(1) 128x64x32x32', xBytes, n, () => { const t = x(); return () => t.mean(1); });
  for (const [rows, cols] of [[4096, 1024], [256, 10], [64, 10]]) {
    add('softmaxForward', `op softmax(m,-1) ${rows}x${cols}`, 2 * rows * cols * F4, 4 * rows * cols, () => {
      const m = new Tensor(fill(rows * cols, 32, -4, 4), [rows, cols]);
      return () => F.softmax(m, -1);
    });
    add('crossEntropyBackward', `op cross_entropy fwd+bwd ${rows}x${cols}`, 3 * rows * cols * F4, 9 * rows * cols, () => {
      const m = new Tensor(fill(rows * cols, 33, -4, 4), [rows, cols], { requiresGrad: true });
      const target = Int32Array.from({ length: rows }, (_, i) => (i * 7) % cols);
      return () => {
        m.grad = null;
        F.crossEntropy(m, target).backward();
      };
    });
  }
  add('unary', 'op relu(x) 128x64x32x32', 2 * xBytes, n, () => { const t = x(); return () => t.relu(); });
  add('binary', 'op x.add(bias[1,64,1,1]) 128x64x32x32', 2 * xBytes, n, () => {
    const t = x(), b = new Tensor(fill(64, 34), [1, 64, 1, 1]);
    return () => t.add(b);
  });
  add('unary', 'op exp(x) 128x64x32x32', 2 * xBytes, n, () => { const t = x(); return () => t.exp(); });
  add('unary', 'op sigmoid(x) 128x64x32x32', 2 * xBytes, n, () => { const t = x(); return () => t.sigmoid(); });
  add('permute', 'op x.permute(0,2,3,1) copy 128x64x32x32', 2 * xBytes, 0, () => { const t = x(); return () => t.permute(0, 2, 3, 1); });
  add('sgemm', 'op matmul 512x512x512', 3 * 512 * 512 * F4, 2 * 512 ** 3, () => {
    const a = new Tensor(fill(512 * 512, 35), [512, 512]), b = new Tensor(fill(512 * 512, 36), [512, 512]);
    return () => a.matmul(b);
  });
  add('reduce', 'op y.mul(g).sum().backward() 128x64x32x32', 4 * xBytes, 2 * n, () => {
    const y = new Tensor(fill(n, 37), LARGE, { requiresGrad: true }), g = new Tensor(fill(n, 38), LARGE);
    return () => {
      y.grad = null;
      y.mul(g).sum().backward();
    };
  });
  return cases;
}
