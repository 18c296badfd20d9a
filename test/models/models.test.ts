import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { models, randn, noGrad } from '../../src/index.js';
import { loadFixtures } from '../helpers/fixtures.js';

const counts = loadFixtures('models')[0].params as Record<string, number>;

describe('model parameter counts equal PyTorch for the same architecture', () => {
  const cases: [string, () => ReturnType<typeof models.createModel>][] = [
    ['fbn-mnist', () => models.createModel('fbn-mnist', { norm: 'bn' })],
    ['lenet5', () => models.createModel('lenet5', { norm: 'bn' })],
    ['seed002-bn', () => models.createModel('seed002', { norm: 'bn' })],
    ['seed002-gn', () => models.createModel('seed002', { norm: { kind: 'gn', groups: 2 } })],
    ['cifar-cnn-bn', () => models.createModel('cifar-cnn', { norm: 'bn' })],
    ['cifar-cnn-none', () => models.createModel('cifar-cnn', { norm: 'none' })],
    ['alexnet-bn', () => models.createModel('alexnet', { norm: 'bn' })],
    ['vgg11-bn', () => models.createModel('vgg11', { norm: 'bn' })],
    ['vgg13-bn', () => models.createModel('vgg13', { norm: 'bn' })],
    ['vgg16-bn', () => models.createModel('vgg16', { norm: 'bn' })],
    ['vgg19-bn', () => models.createModel('vgg19', { norm: 'bn' })],
    ['resnet18', () => models.createModel('resnet18')],
    ['resnet34', () => models.createModel('resnet34')],
    ['resnet50', () => models.createModel('resnet50')],
    ['resnet101', () => models.createModel('resnet101')],
    ['resnet152', () => models.createModel('resnet152')],
  ];
  for (const [name, make] of cases) {
    it(`counts ${counts[name]} parameters in ${name}`, () => {
      assert.equal(make().numParameters(), counts[name]);
    });
  }
});

describe('model forward shapes', () => {
  it('maps a batch of MNIST digits to 10 logits in every MNIST network', () => {
    for (const name of ['fbn-mnist', 'lenet5', 'seed002']) {
      const m = models.createModel(name, { norm: 'bn' }).eval();
      const y = noGrad(() => m.call(randn([2, 1, 28, 28], { seed: 1 })));
      assert.deepEqual(y.shape, [2, 10], name);
    }
  });

  it('maps CIFAR images to class logits in the CIFAR networks', () => {
    const m = models.createModel('cifar-cnn', { norm: 'bn', activation: 'sigmoid' }).eval();
    assert.deepEqual(noGrad(() => m.call(randn([2, 3, 32, 32], { seed: 2 }))).shape, [2, 100]);
    const r = models.createModel('resnet18', { inputNorm: 'bn', bnWeight: 0.1 }).eval();
    assert.deepEqual(noGrad(() => r.call(randn([1, 3, 32, 32], { seed: 3 }))).shape, [1, 10]);
  });

  it('uses torchvision state-dict names in ResNet', () => {
    const keys = Object.keys(models.createModel('resnet18').stateDict());
    for (const k of ['conv1.weight', 'bn1.running_var', 'layer2.0.downsample.0.weight', 'layer2.0.downsample.1.num_batches_tracked', 'fc.bias']) {
      assert.ok(keys.includes(k), `missing ${k}`);
    }
  });

  it('rejects an unknown network name and lists the known ones', () => {
    assert.throws(() => models.createModel('resnet19'), /unknown network 'resnet19'.*resnet18/);
  });
});
