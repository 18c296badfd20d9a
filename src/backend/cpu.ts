// The CPU backend: the native addon's exports are the kernels, checked once at load time.
import type { Backend } from './backend.js';
import { loadAddon } from './native.js';

function checked(addon: Record<string, unknown>): Backend {
  const required: (keyof Backend)[] = [
    'getNumThreads', 'setNumThreads', 'getIsa', 'setIsa', 'supportedIsas',
    'sgemm',
    'binary', 'unary', 'unaryBackward', 'sumToShape',
    'reduce', 'permute',
    'sgdStep', 'adamStep', 'rmspropStep',
    'softmaxForward', 'softmaxBackward', 'crossEntropyForward', 'crossEntropyBackward', 'nllLossForward',
    'mseLossForward', 'mseLossBackward', 'bceWithLogitsForward', 'bceWithLogitsBackward', 'dropoutMask',
    'conv2dForward', 'conv2dBackwardInput', 'conv2dBackwardWeight',
    'maxPool2dForward', 'maxPool2dBackward', 'avgPool2dForward', 'avgPool2dBackward',
    'adaptiveAvgPool2dForward', 'adaptiveAvgPool2dBackward',
    'batchNormForward', 'batchNormBackward', 'normChannelAffine', 'groupNormForward', 'groupNormBackward', 'copyFloats',
    'channelNormForward', 'channelNormBackward', 'frnForward', 'frnBackward',
    'evoNormS0Forward', 'evoNormS0Backward', 'evoNormB0Forward', 'evoNormB0Backward',
  ];
  const missing = required.filter((k) => typeof addon[k] !== 'function');
  if (missing.length > 0) {
    throw new Error(`normlab: the native addon lacks kernels ${missing.join(', ')}; rebuild it with 'npm install'.`);
  }
  return addon as unknown as Backend;
}

export const cpu: Backend = checked(loadAddon() as Record<string, unknown>);
