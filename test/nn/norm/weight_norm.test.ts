import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, nn } from '../../../src/index.js';
import { loadFixtures, type FixtureTensor } from '../../helpers/fixtures.js';
import { assertClose } from '../../helpers/assert.js';

const t = (f: FixtureTensor, requiresGrad = false): Tensor => new Tensor(f.data.slice(), f.shape, { requiresGrad });

/** y = x @ W.reshape(out, -1)^T, reading its weight through getParameter as layers do. */
class MatMul extends nn.Module {
  constructor(weight: Tensor) {
    super();
    this.registerParameter('weight', new nn.Parameter(weight));
  }

  forward(x: Tensor): Tensor {
    const w = this.getParameter('weight')!;
    return x.matmul(w.reshape(w.shape[0], -1).transpose(0, 1));
  }
}

describe('weightNorm against torch.nn.utils.weight_norm', () => {
  for (const c of loadFixtures('weightnorm')) {
    it(`matches ${c.name}`, () => {
      const p = c.params as { dim: number };
      const m = nn.weightNorm(new MatMul(t(c.tensors.weight_v)), 'weight', p.dim);
      assert.deepEqual(m.namedParameters().map(([n]) => n), ['weight_g', 'weight_v']);
      const sd = m.stateDict();
      // dim -1 (PyTorch's dim=None) gives a 0-dim g; fixture files store 0-dim tensors with shape [1].
      assert.deepEqual(sd.weight_g.shape, p.dim === -1 ? [] : c.tensors.weight_g.shape);
      assertClose(sd.weight_g.buffer, c.tensors.weight_g.data, 'weight_g');
      const x = t(c.tensors.x, true);
      const y = m.forward(x);
      assertClose(y.buffer, c.tensors.y.data, 'forward');
      y.backward(t(c.tensors.gy));
      assertClose(sd.weight_g.grad!.buffer, c.tensors.gg.data, 'gradient of weight_g', { atol: 1e-4 });
      assertClose(sd.weight_v.grad!.buffer, c.tensors.gv.data, 'gradient of weight_v', { atol: 1e-4 });
      assertClose(x.grad!.buffer, c.tensors.gx.data, 'gradient of x', { atol: 1e-4 });
    });
  }

  it('recomputes the weight before each forward from the current g and v', () => {
    const w = new Tensor(new Float32Array([3, 4]), [1, 2]);
    const m = nn.weightNorm(new MatMul(w));
    const x = new Tensor(new Float32Array([1, 1]), [1, 2]);
    assertClose(m.forward(x).buffer, [7], 'w = g v / |v| = [3, 4]');
    m.getParameter('weight_g')!.buffer[0] = 10;
    assertClose(m.forward(x).buffer, [14], 'after g = 10: w = [6, 8]');
  });

  it('can be removed, baking the weight back', () => {
    const m = nn.weightNorm(new MatMul(new Tensor(new Float32Array([3, 4]), [1, 2])));
    m.getParameter('weight_g')!.buffer[0] = 10;
    nn.removeWeightNorm(m);
    assert.deepEqual(m.namedParameters().map(([n]) => n), ['weight']);
    assertClose(m.getParameter('weight')!.buffer, [6, 8], 'baked weight');
  });

  it('names the module and parameter when there is nothing to normalize', () => {
    assert.throws(() => nn.weightNorm(new MatMul(new Tensor(new Float32Array(2), [1, 2])), 'kernel'), /weightNorm: MatMul has no parameter named 'kernel'/);
  });
});
