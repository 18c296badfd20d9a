// The Backend: one typed entry per kernel name, grouped by kernel family (one file per family
// under kernels/). `cpu` implements it with the native addon; a GPU backend would implement
// the same interface.
import type { RuntimeKernels } from './kernels/runtime.js';
import type { GemmKernels } from './kernels/gemm.js';
import type { ElementwiseKernels } from './kernels/elementwise.js';
import type { ReduceKernels } from './kernels/reduce.js';
import type { OptimKernels } from './kernels/optim.js';
import type { LossKernels } from './kernels/loss.js';
import type { ConvKernels } from './kernels/conv.js';
import type { PoolKernels } from './kernels/pool.js';
import type { NormKernels } from './kernels/norm.js';

export type Backend = RuntimeKernels & GemmKernels & ElementwiseKernels & ReduceKernels & OptimKernels & LossKernels & ConvKernels & PoolKernels & NormKernels;
