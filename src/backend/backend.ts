// The Backend: the memory verbs (kernels/memory.ts) and one typed entry per kernel name, grouped
// by kernel family (one file per family under kernels/). `cpu` implements it with the native
// addon; a GPU backend implements the same interface on its own memory.
import type { MemoryVerbs } from './kernels/memory.js';
import type { RuntimeKernels } from './kernels/runtime.js';
import type { GemmKernels } from './kernels/gemm.js';
import type { ElementwiseKernels } from './kernels/elementwise.js';
import type { ReduceKernels } from './kernels/reduce.js';
import type { OptimKernels } from './kernels/optim.js';
import type { LossKernels } from './kernels/loss.js';
import type { ConvKernels } from './kernels/conv.js';
import type { PoolKernels } from './kernels/pool.js';
import type { NormKernels } from './kernels/norm.js';

/** The compute kernels (everything but the memory verbs). */
export type Kernels = RuntimeKernels & GemmKernels & ElementwiseKernels & ReduceKernels & OptimKernels & LossKernels & ConvKernels & PoolKernels & NormKernels;

export type Backend = MemoryVerbs & Kernels;
