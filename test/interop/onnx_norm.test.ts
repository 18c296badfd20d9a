// ONNX export of the added normalization layers, run in onnxruntime against normlab's eval output.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-web';
import { nn, noGrad, randn } from '../../src/index.js';
import type { Module } from '../../src/nn/module.js';
import { exportOnnx } from '../../src/interop/onnx.js';
import { Generator } from '../../src/tensor/random.js';
import { assertClose } from '../helpers/assert.js';

/** Random values in every state tensor (positive variances), so no layer is the identity. */
function randomize(model: Module, seed: number): void {
  const gen = new Generator(seed);
  for (const [name, t] of Object.entries(model.stateDict())) {
    if (name.endsWith('num_batches_tracked') || name.endsWith('_u') || name.endsWith('_v')) continue;
    const positive = name.endsWith('running_var');
    for (let i = 0; i < t.size; i++) t.buffer[i] = positive ? 0.5 + gen.uniform() : (name.endsWith('weight') && t.ndim === 1 ? 1 : 0) + 0.4 * gen.normal();
  }
}

const conv = (): nn.Conv2d => new nn.Conv2d(3, 6, 3, { padding: 1 });

const CASES: { name: string; make: () => Module; shape: number[]; ops: string[] }[] = [
  { name: 'BatchNorm3d', make: () => new nn.BatchNorm3d(3), shape: [2, 3, 2, 3, 4], ops: ['BatchNormalization'] },
  { name: 'LazyBatchNorm2d after its first call', make: () => { const m = new nn.LazyBatchNorm2d(); m.forward(randn([2, 3, 4, 4])); return m; }, shape: [2, 3, 4, 4], ops: ['BatchNormalization'] },
  { name: 'FrozenBatchNorm2d after a conv', make: () => new nn.Sequential(conv(), new nn.FrozenBatchNorm2d(6)), shape: [2, 3, 5, 5], ops: ['Conv', 'BatchNormalization'] },
  { name: 'RMSNorm over (H, W)', make: () => new nn.RMSNorm([4, 5]), shape: [2, 3, 4, 5], ops: ['ReduceMean', 'Sqrt', 'Div', 'Mul'] },
  { name: 'RmsNorm2d', make: () => new nn.Sequential(conv(), new nn.RmsNorm2d(6)), shape: [2, 3, 4, 5], ops: ['ReduceMean', 'Reshape'] },
  { name: 'LayerNorm2d', make: () => new nn.Sequential(conv(), new nn.LayerNorm2d(6)), shape: [2, 3, 4, 5], ops: ['ReduceMean', 'Sub'] },
  { name: 'LocalResponseNorm with an odd window', make: () => new nn.Sequential(conv(), new nn.LocalResponseNorm(3, { alpha: 0.1, k: 2 })), shape: [2, 3, 4, 4], ops: ['LRN'] },
  { name: 'LocalResponseNorm with an even window', make: () => new nn.Sequential(conv(), new nn.LocalResponseNorm(4, { alpha: 0.1, beta: 0.6 })), shape: [2, 3, 4, 4], ops: ['Pad', 'AveragePool', 'Pow'] },
  { name: 'FilterResponseNormTlu2d', make: () => new nn.Sequential(conv(), new nn.FilterResponseNormTlu2d(6)), shape: [2, 3, 4, 4], ops: ['Max'] },
  { name: 'EvoNorm2dB0', make: () => new nn.Sequential(conv(), new nn.EvoNorm2dB0(6)), shape: [2, 3, 4, 4], ops: ['Max', 'Div'] },
  { name: 'EvoNorm2dS0', make: () => new nn.Sequential(conv(), new nn.EvoNorm2dS0(6, { groups: 3 })), shape: [2, 3, 4, 4], ops: ['Sigmoid', 'Shape'] },
  { name: 'BatchNormAct2d', make: () => new nn.Sequential(conv(), new nn.BatchNormAct2d(6)), shape: [2, 3, 4, 4], ops: ['BatchNormalization', 'Relu'] },
  { name: 'GroupNormAct with tanh', make: () => new nn.Sequential(conv(), new nn.GroupNormAct(6, 2, { act: 'tanh' })), shape: [2, 3, 4, 4], ops: ['Tanh', 'Reshape'] },
  { name: 'spectral-normalized Conv2d', make: () => new nn.Sequential(nn.utils.spectralNorm(conv()), new nn.ReLU()), shape: [2, 3, 4, 4], ops: ['Conv', 'Relu'] },
];

describe('ONNX export of the added normalization layers', () => {
  for (const c of CASES) {
    it(`runs ${c.name} in onnxruntime with normlab's eval output (1e-4)`, async () => {
      const model = c.make();
      randomize(model, 11);
      model.eval();
      const x = randn(c.shape, { seed: 12 });
      const expected = noGrad(() => model.call(x)).data();
      // Traced with batch 1, run with batch 2: the batch dimension stays symbolic.
      const { bytes, summary } = exportOnnx(model, { inputShape: [1, ...c.shape.slice(1)] });
      for (const op of c.ops) assert.ok(summary.ops.includes(op), `${op} in ${summary.ops.join(' ')}`);
      const session = await ort.InferenceSession.create(bytes);
      const r = await session.run({ input: new ort.Tensor('float32', x.buffer, c.shape) });
      assertClose(r.output.data as Float32Array, expected, `${c.name} onnx`, { rtol: 1e-4, atol: 1e-4 });
    });
  }
});
