import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nn, models, randn, noGrad, manualSeed, functional as F, optim } from '../../src/index.js';
import { assertClose } from '../helpers/assert.js';

function trainAFewSteps(model: nn.Module, shape: number[], classes: number): void {
  const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  for (let s = 0; s < 4; s++) {
    opt.zeroGrad();
    const x = randn(shape, { seed: 100 + s });
    const y = Int32Array.from({ length: shape[0] }, (_, i) => (i + s) % classes);
    F.crossEntropy(model.call(x), y).backward();
    opt.step();
  }
}

describe('fuseConvBn', () => {
  it('folds BN and FBN (running statistics) into the preceding convs with the same outputs', () => {
    manualSeed(1);
    const model = new nn.Sequential(
      new nn.Conv2d(3, 8, 3, { padding: 1 }), new nn.BatchNorm2d(8), new nn.ReLU(),
      new nn.Conv2d(8, 6, 3, { bias: false }), new nn.FilteredBatchNorm2d(6, { threshold: 3 }), new nn.ReLU(),
      new nn.Flatten(), new nn.Linear(6 * 6 * 6, 4),
    );
    trainAFewSteps(model, [8, 3, 8, 8], 4);
    model.eval();
    const x = randn([5, 3, 8, 8], { seed: 9 });
    const before = noGrad(() => model.call(x)).data();
    const r = nn.fuseConvBn(model, randn([2, 3, 8, 8], { seed: 3 }));
    assert.deepEqual(r.fused, [['0', '1'], ['3', '4']]);
    const after = noGrad(() => model.call(x)).data();
    assertClose(after, before, 'fused vs unfused output', { rtol: 1e-4, atol: 1e-5 });
  });

  it('fuses the conv-BN pairs inside ResNet blocks whose forward is custom code', () => {
    manualSeed(2);
    const model = models.createModel('resnet18', { numClasses: 3 });
    // Training-mode forwards move the running statistics away from their initial values.
    noGrad(() => {
      for (let s = 0; s < 2; s++) model.call(randn([4, 3, 16, 16], { seed: 20 + s }));
    });
    model.eval();
    const x = randn([2, 3, 16, 16], { seed: 5 });
    const before = noGrad(() => model.call(x)).data();
    const r = nn.fuseConvBn(model, x);
    assert.equal(r.fused.length, 20);
    assert.ok(r.fused.some(([c, b]) => c === 'layer2.0.downsample.0' && b === 'layer2.0.downsample.1'));
    assertClose(noGrad(() => model.call(x)).data(), before, 'fused ResNet-18', { rtol: 1e-4, atol: 1e-4 });
  });

  it('refuses a model in training mode', () => {
    const m = new nn.Sequential(new nn.Conv2d(1, 2, 1), new nn.BatchNorm2d(2));
    assert.throws(() => nn.fuseConvBn(m, randn([1, 1, 2, 2])), /eval mode/);
  });
});
