import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { models, nn, randn, noGrad } from '../../src/index.js';
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

describe("seed 001's scale-init BN and BN input normalization on every network", () => {
  // Input geometry per network: MNIST nets 1×28×28, AlexNet >= 63×63, the rest 3×32×32.
  const nets: [string, number[]][] = [
    ['fbn-mnist', [2, 1, 28, 28]], ['lenet5', [2, 1, 28, 28]], ['seed002', [2, 1, 28, 28]], ['cifar-cnn', [2, 3, 32, 32]],
    ['alexnet', [2, 3, 64, 64]], ['vgg11', [2, 3, 32, 32]], ['resnet18', [2, 3, 32, 32]], ['resnet50', [2, 3, 32, 32]],
  ];
  for (const [name, shape] of nets) {
    it(`initialises every BN gamma of ${name} to bnWeight and runs the input-norm BN first`, () => {
      const m = models.createModel(name, { norm: 'bn', bnWeight: 0.1, inputNorm: 'bn', inChannels: shape[1] });
      const bns = m.namedModules().filter(([, x]) => x instanceof nn.BatchNorm1d || x instanceof nn.BatchNorm2d);
      assert.ok(bns.length >= 1, `${name} has BN layers`);
      for (const [n, bn] of bns) assert.ok(bn.getParameter('weight')!.buffer.every((v) => Math.abs(v - 0.1) < 1e-7), `${n}.weight is 0.1`);
      const sd = m.stateDict();
      // Seed 001's input normalization: γ = 0.58 · bnWeight, β frozen at 0 (a buffer, not a parameter).
      assert.ok(sd['input_norm.weight'].buffer.every((v) => Math.abs(v - 0.058) < 1e-7), 'input_norm.weight is 0.058');
      assert.ok(m.namedParameters().every(([n]) => n !== 'input_norm.bias'), 'input_norm.bias is frozen');
      const order: nn.Module[] = [];
      const leaves = m.modules().filter((x) => x.namedChildren().length === 0);
      const removers = leaves.map((x) => x.registerForwardHook((mod) => order.push(mod)));
      const x = randn(shape, { seed: 5 });
      m.train();
      noGrad(() => m.call(x));
      for (const r of removers) r();
      assert.equal(order[0], m.namedModules().find(([n]) => n === 'input_norm')![1], 'input_norm runs before every other layer');
    });
  }

  it('keeps the 5-block CNN on Keras BN defaults when bnWeight is set', () => {
    const m = models.createModel('cifar-cnn', { bnWeight: 0.1 });
    const bn = m.modules().find((x) => x instanceof nn.BatchNorm2d) as nn.BatchNorm2d;
    assert.equal(bn.momentum, 0.01);
    assert.equal(bn.eps, 1e-3);
    assert.equal(bn.weight!.buffer[0], Math.fround(0.1));
  });

  it('initialises Filtered BN and Batch Renorm gammas too', () => {
    for (const kind of ['fbn', 'brn'] as const) {
      const m = models.createModel('lenet5', { norm: kind, bnWeight: 0.25 });
      const gammas = m.namedParameters().filter(([n]) => /^(features|classifier)\.\d+\.weight$/.test(n) && m.stateDict()[n].ndim === 1);
      assert.equal(gammas.length, 4, kind);
      for (const [n, p] of gammas) assert.ok(p.buffer.every((v) => v === 0.25), `${kind} ${n}`);
    }
  });

  it('leaves the input alone when inputNorm is dataset', () => {
    assert.ok(!Object.keys(models.createModel('vgg11', { inputNorm: 'dataset' }).stateDict()).some((k) => k.startsWith('input_norm.')));
  });

  it('rejects bnWeight on a network without BN layers, naming the network and norm', () => {
    for (const norm of ['gn', 'ln', 'in', 'none'] as const) {
      const spec = norm === 'gn' ? { kind: norm, groups: 2 } : norm;
      assert.throws(() => models.createModel('lenet5', { norm: spec, bnWeight: 0.1 }), new RegExp(`createModel: bnWeight 0\\.1 initialises the γ of BN layers, but 'lenet5' with norm '${norm}' has none`));
    }
  });

  it('accepts bnWeight without BN layers in the body when the input-norm BN is there', () => {
    const m = models.createModel('lenet5', { norm: 'none', bnWeight: 0.1, inputNorm: 'bn' });
    assert.ok(Math.abs(m.stateDict()['input_norm.weight'].buffer[0] - 0.058) < 1e-7);
  });
});

describe("seed 000's 1-D Filtered BN variant in a model's norm spec", () => {
  it('pools the statistics of the 1-D layers only with pooled1d, as the seed builds its 1-D and 2-D layers', () => {
    const m = models.createModel('lenet5', { norm: { kind: 'fbn', threshold: 3, pooled1d: true } });
    const fbns = m.modules().filter((x): x is nn.FilteredBatchNorm1d | nn.FilteredBatchNorm2d => x instanceof nn.FilteredBatchNorm1d || x instanceof nn.FilteredBatchNorm2d);
    assert.deepEqual(fbns.map((x) => [x.constructor.name, x.pooled]), [
      ['FilteredBatchNorm2d', false], ['FilteredBatchNorm2d', false], ['FilteredBatchNorm1d', true], ['FilteredBatchNorm1d', true],
    ]);
    const plain = models.createModel('lenet5', { norm: { kind: 'fbn', threshold: 3 } });
    assert.ok(plain.modules().every((x) => !(x instanceof nn.FilteredBatchNorm1d) || !x.pooled));
  });
});

describe("seed 003's 5-block CNN starts from Keras' initialisation", () => {
  it('draws conv and dense weights from Glorot-uniform bounds sqrt(6 / (fan_in + fan_out)) with zero biases', () => {
    const m = models.createModel('cifar-cnn', { norm: 'none' });
    const sd = m.stateDict();
    // The first conv: 3·3·3 = 27 in, 3·3·60 = 540 out; a 60→60 conv: 540 and 540; the dense layer 400 → 100.
    for (const [key, bound] of [['body.0.weight', Math.sqrt(6 / 567)], ['body.2.weight', Math.sqrt(6 / 1080)], ['fc.weight', Math.sqrt(6 / 500)]] as const) {
      const w = sd[key].buffer;
      let max = 0;
      let sq = 0;
      for (const v of w) {
        max = Math.max(max, Math.abs(v));
        sq += v * v;
      }
      assert.ok(max <= bound && max > 0.95 * bound, `${key}: max |w| ${max} vs bound ${bound}`);
      // U(−b, b) has variance b²/3; thousands of draws land within 10 %.
      assert.ok(Math.abs(sq / w.length / (bound * bound / 3) - 1) < 0.1, `${key}: variance ${sq / w.length}`);
    }
    for (const [k, t] of Object.entries(sd)) if (k.endsWith('.bias')) assert.ok(t.buffer.every((v) => v === 0), `${k} is 0`);
  });

  it("keeps PyTorch's layer defaults with init 'pytorch'", () => {
    const m = new models.CifarCnn({ norm: 'none', init: 'pytorch' });
    assert.ok(m.stateDict()['fc.bias'].buffer.some((v) => v !== 0));
  });
});

describe('models take a typed NormSpec', () => {
  it('builds every norm layer of a network from the spec, options included', () => {
    const m = models.createModel('lenet5', { norm: { kind: 'bn', momentum: 0.01, eps: 1e-3 } });
    const bns = m.modules().filter((x) => x instanceof nn.BatchNorm2d || x instanceof nn.BatchNorm1d) as nn.BatchNorm2d[];
    assert.equal(bns.length, 4);
    assert.ok(bns.every((b) => b.momentum === 0.01 && b.eps === 1e-3));
  });

  it('rejects an option the kind does not take, naming the closest one, before training anything', () => {
    assert.throws(
      () => models.createModel('lenet5', { norm: { kind: 'fbn', treshold: 2 } as unknown as models.NormSpec }),
      /nn\.norm: unknown option 'treshold' for norm kind 'fbn'; did you mean 'threshold'\?/,
    );
  });

  it("adds seed 001's bnWeight only to the kinds with BN's affine", () => {
    assert.deepEqual(models.withBnWeight('fbn', 0.5), { kind: 'fbn', bnWeight: 0.5 });
    assert.deepEqual(models.withBnWeight({ kind: 'fbn', threshold: 2 }, 0.5), { kind: 'fbn', threshold: 2, bnWeight: 0.5 });
    assert.deepEqual(models.withBnWeight({ kind: 'gn', groups: 2 }, 0.5), { kind: 'gn', groups: 2 });
    assert.equal(models.withBnWeight(undefined, 0), 'bn');
    assert.throws(() => models.createModel('lenet5', { norm: { kind: 'gn', groups: 2 }, bnWeight: 0.1 }), /createModel: bnWeight 0\.1 initialises the γ of BN layers, but 'lenet5' with norm 'gn' has none/);
  });
});
