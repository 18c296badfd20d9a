import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createModel } from '../../src/models/index.js';
import { loadSafetensors } from '../../src/train/safetensors.js';
import { noGrad } from '../../src/autograd/graph.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { loadFixtures, repoRoot } from '../helpers/fixtures.js';
import { assertClose } from '../helpers/assert.js';

const cases = loadFixtures('torch_import');
const file = (name: string): string => join(repoRoot, 'test', 'fixtures', name);

describe('state dicts written by PyTorch', () => {
  for (const c of cases) {
    it(`loads torchvision's ${c.name} (CIFAR variant, F16 safetensors) and matches PyTorch's outputs`, () => {
      const model = createModel(c.params.network as string, { norm: 'bn' });
      const { tensors } = loadSafetensors(file(c.params.file as string));
      model.loadStateDict(tensors);
      const { x, eval: expected, train } = c.tensors;
      const input = new Tensor(x.data, x.shape);
      const got = noGrad(() => model.eval().call(input));
      assert.deepEqual(got.shape, [4, 10]);
      assertClose(got.data(), expected.data, `${c.name} eval`, { rtol: 1e-4, scaleToMax: true });
      if (train !== undefined) assertClose(noGrad(() => model.train().call(input)).data(), train.data, `${c.name} train-mode BN`, { rtol: 1e-4, scaleToMax: true });
    });
  }

  it('reports a renamed key and a wrong shape at once, each with the closest expected name', () => {
    const model = createModel('vgg11', { norm: 'bn' });
    const { tensors } = loadSafetensors(file('vgg11_cifar_f16.safetensors'));
    tensors['features.1.runing_var'] = tensors['features.1.running_var'];
    delete tensors['features.1.running_var'];
    tensors['classifier.6.weight'] = new Tensor(new Float32Array(100 * 512), [100, 512]);
    assert.throws(() => model.loadStateDict(tensors), (e: Error) => {
      assert.match(e.message, /3 problem\(s\)/);
      assert.match(e.message, /unexpected key 'features\.1\.runing_var' \(closest: 'features\.1\.running_var'\)/);
      assert.match(e.message, /missing key 'features\.1\.running_var' \(closest: '/);
      assert.match(e.message, /'classifier\.6\.weight': shape \[100, 512\] does not match the model's \[10, 512\]/);
      return true;
    });
  });
});
