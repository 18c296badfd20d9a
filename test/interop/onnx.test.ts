import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-web';
import { createModel, type NormSpec } from '../../src/models/index.js';
import * as nn from '../../src/nn/index.js';
import type { Module } from '../../src/nn/module.js';
import { exportOnnx } from '../../src/interop/onnx.js';
import { noGrad } from '../../src/autograd/graph.js';
import { randn } from '../../src/tensor/create.js';
import { Generator } from '../../src/tensor/random.js';
import { assertClose } from '../helpers/assert.js';

/** Gives every running mean / variance non-trivial values, so eval BN is not the identity. */
function randomizeStats(model: Module, seed: number): void {
  const gen = new Generator(seed);
  for (const [name, t] of Object.entries(model.stateDict())) {
    if (name.endsWith('running_mean')) for (let i = 0; i < t.size; i++) t.buffer[i] = 0.2 * gen.normal();
    if (name.endsWith('running_var')) for (let i = 0; i < t.size; i++) t.buffer[i] = 0.5 + gen.uniform();
    if (name.endsWith('.bias') && t.ndim === 1) for (let i = 0; i < t.size; i++) t.buffer[i] = 0.1 * gen.normal();
    // Norm scales (1-D γ) away from 1, so a wrong broadcast shows.
    if (name.endsWith('weight') && t.ndim === 1) for (let i = 0; i < t.size; i++) t.buffer[i] = 1 + 0.3 * gen.normal();
  }
}

async function runOrt(bytes: Uint8Array, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  const r = await session.run({ input: new ort.Tensor('float32', x, shape) });
  return r.output.data as Float32Array;
}

const CASES: { name: string; network: string; norm: NormSpec; shape: [number, number, number, number]; opts?: Record<string, unknown>; ops: string[]; foldsAll?: boolean }[] = [
  { name: 'FBN MNIST net (Filtered BN 1-D)', network: 'fbn-mnist', norm: 'fbn', shape: [3, 1, 28, 28], ops: ['Conv', 'MaxPool', 'Relu', 'Flatten', 'Gemm', 'BatchNormalization'], foldsAll: true },
  { name: 'LeNet-5 with BN', network: 'lenet5', norm: 'bn', shape: [2, 1, 28, 28], ops: ['Conv', 'BatchNormalization', 'Relu', 'MaxPool', 'Flatten', 'Gemm'], foldsAll: true },
  { name: 'seed 002 net (average pooling)', network: 'seed002', norm: 'bn', shape: [2, 1, 28, 28], ops: ['Conv', 'AveragePool', 'Flatten'] },
  { name: 'CIFAR CNN with sigmoid', network: 'cifar-cnn', norm: 'bn', shape: [2, 3, 32, 32], opts: { activation: 'sigmoid' }, ops: ['Sigmoid'] },
  { name: 'ResNet-18 CIFAR with input BN', network: 'resnet18', norm: 'bn', shape: [2, 3, 32, 32], opts: { inputNorm: 'bn' }, ops: ['Add', 'GlobalAveragePool'] },
  { name: 'VGG-11-BN', network: 'vgg11', norm: 'bn', shape: [2, 3, 32, 32], ops: ['MaxPool', 'GlobalAveragePool', 'Gemm'], foldsAll: true },
  { name: 'seed 002 net with GroupNorm(2)', network: 'seed002', norm: { kind: 'gn', groups: 2 }, shape: [2, 1, 28, 28], ops: ['Reshape', 'ReduceMean', 'Sqrt', 'Div', 'Shape', 'Mul', 'Add'] },
  { name: 'seed 002 net with LayerNorm (GroupNorm(1, C))', network: 'seed002', norm: 'ln', shape: [2, 1, 28, 28], ops: ['Reshape', 'ReduceMean', 'Sqrt'] },
  { name: 'seed 002 net with InstanceNorm (instance statistics in eval)', network: 'seed002', norm: 'in', shape: [2, 1, 28, 28], ops: ['Reshape', 'ReduceMean'] },
  { name: 'LeNet-5 with Batch Renorm', network: 'lenet5', norm: 'brn', shape: [2, 1, 28, 28], ops: ['BatchNormalization'], foldsAll: true },
  { name: 'LeNet-5 with Filtered BN (T = 2, running statistics)', network: 'lenet5', norm: { kind: 'fbn', threshold: 2 }, shape: [2, 1, 28, 28], ops: ['BatchNormalization'], foldsAll: true },
];

describe('ONNX export', () => {
  for (const c of CASES) {
    it(`runs the ${c.name} in onnxruntime with normlab's eval outputs (1e-4), BN as nodes and folded`, async () => {
      const model = createModel(c.network, { norm: c.norm, ...c.opts });
      randomizeStats(model, 1);
      model.eval();
      const x = randn(c.shape, { seed: 2 });
      const expected = noGrad(() => model.call(x)).data();
      const plain = exportOnnx(model, { inputShape: c.shape });
      for (const op of c.ops) assert.ok(plain.summary.ops.includes(op), `${op} in ${plain.summary.ops.join(' ')}`);
      assert.ok(!plain.summary.ops.includes('Dropout'), 'dropout is left out in eval');
      assertClose(await runOrt(plain.bytes, x.buffer, c.shape), expected, `${c.network} onnx`, { rtol: 1e-4, atol: 1e-4 });
      const folded = exportOnnx(model, { inputShape: c.shape, foldBatchNorm: true });
      // Seed 002 puts BN after ReLU and ResNet's input BN has no op before it: those stay nodes.
      if (c.foldsAll) assert.ok(!folded.summary.ops.includes('BatchNormalization'), folded.summary.ops.join(' '));
      assertClose(await runOrt(folded.bytes, x.buffer, c.shape), expected, `${c.network} onnx folded`, { rtol: 1e-4, atol: 1e-4 });
    });
  }

  it('takes other batch sizes than the traced one', async () => {
    const model = createModel('lenet5', { norm: 'bn' });
    randomizeStats(model, 3);
    const { bytes } = exportOnnx(model, { inputShape: [1, 1, 28, 28] });
    const x = randn([5, 1, 28, 28], { seed: 4 });
    const expected = noGrad(() => model.eval().call(x)).data();
    assertClose(await runOrt(bytes, x.buffer, [5, 1, 28, 28]), expected, 'batch 5', { rtol: 1e-4, atol: 1e-4 });
  });

  it('runs LayerNorm over [C, H, W] and over features, and affine InstanceNorm, in onnxruntime with normlab\'s outputs', async () => {
    const shape: [number, number, number, number] = [3, 2, 8, 8];
    const model = new nn.Sequential(
      new nn.Conv2d(2, 4, 3), new nn.LayerNorm([4, 6, 6]), new nn.ReLU(), new nn.InstanceNorm2d(4, { affine: true }),
      new nn.Flatten(), new nn.Linear(144, 10), new nn.LayerNorm([10]),
    );
    const gen = new Generator(7);
    for (const [name, p] of model.namedParameters()) {
      if (/^[136]\.(weight|bias)$/.test(name)) for (let i = 0; i < p.size; i++) p.buffer[i] = (name.endsWith('weight') ? 1 : 0) + 0.3 * gen.normal();
    }
    model.eval();
    const x = randn(shape, { seed: 8 });
    const expected = noGrad(() => model.call(x)).data();
    const { bytes, summary } = exportOnnx(model, { inputShape: shape });
    assert.ok(!summary.ops.includes('BatchNormalization'), summary.ops.join(' '));
    assertClose(await runOrt(bytes, x.buffer, shape), expected, 'LayerNorm / InstanceNorm onnx', { rtol: 1e-4, atol: 1e-4 });
  });

  it('exports InstanceNorm with running statistics as BatchNormalization on them', async () => {
    const shape: [number, number, number, number] = [2, 3, 5, 5];
    const model = new nn.Sequential(new nn.InstanceNorm2d(3, { affine: true, trackRunningStats: true }), new nn.ReLU());
    randomizeStats(model, 9);
    model.eval();
    const x = randn(shape, { seed: 10 });
    const expected = noGrad(() => model.call(x)).data();
    const { bytes, summary } = exportOnnx(model, { inputShape: shape });
    assert.deepEqual(summary.ops, ['BatchNormalization', 'Relu']);
    assertClose(await runOrt(bytes, x.buffer, shape), expected, 'InstanceNorm running statistics onnx', { rtol: 1e-4, atol: 1e-4 });
  });

  it('names what it cannot export: Filtered BN with batch statistics in eval', () => {
    const model = createModel('lenet5', { norm: { kind: 'fbn', evalMode: 'batch' } });
    assert.throws(() => exportOnnx(model, { inputShape: [2, 1, 28, 28] }), /exportOnnx: an input of .* comes from an op the exporter does not trace.*evalMode batch/);
  });
});
