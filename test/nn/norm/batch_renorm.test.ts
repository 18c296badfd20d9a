import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, nn } from '../../../src/index.js';
import { loadFixtures, type FixtureTensor } from '../../helpers/fixtures.js';
import { assertClose } from '../../helpers/assert.js';

const t = (f: FixtureTensor, requiresGrad = false): Tensor => new Tensor(f.data.slice(), f.shape, { requiresGrad });

describe('BatchRenorm against a float64 reference of its formulas', () => {
  for (const c of loadFixtures('batchrenorm')) {
    it(`matches ${c.name} over 3 training steps and in eval`, () => {
      const p = c.params as { shape: number[]; rMax: number; dMax: number; warmupSteps: number; renormMomentum: number };
      const opts = { rMax: p.rMax, dMax: p.dMax, warmupSteps: p.warmupSteps, renormMomentum: p.renormMomentum };
      const m = p.shape.length === 4 ? new nn.BatchRenorm2d(p.shape[1], opts) : new nn.BatchRenorm1d(p.shape[1], opts);
      m.weight!.buffer.set(c.tensors.weight.data);
      m.bias!.buffer.set(c.tensors.bias.data);
      for (let k = 0; k < 3; k++) {
        m.zeroGrad();
        const x = t(c.tensors[`x${k}`], true);
        const y = m.forward(x);
        assertClose(y.buffer, c.tensors[`y${k}`].data, `step ${k} forward`, { atol: 1e-4 });
        y.backward(t(c.tensors[`gy${k}`]));
        assertClose(x.grad!.buffer, c.tensors[`gx${k}`].data, `step ${k} input gradient`, { atol: 2e-4 });
        assertClose(m.weight!.grad!.buffer, c.tensors[`gw${k}`].data, `step ${k} gamma gradient`, { atol: 2e-4 });
        assertClose(m.bias!.grad!.buffer, c.tensors[`gb${k}`].data, `step ${k} beta gradient`, { atol: 2e-4 });
      }
      const sd = m.stateDict();
      assertClose(sd.running_mean.buffer, c.tensors.running_mean.data, 'running_mean');
      assertClose(sd.running_var.buffer, c.tensors.running_var.data, 'running_var');
      assertClose(sd.renorm_mean.buffer, c.tensors.renorm_mean.data, 'renorm_mean');
      assertClose(sd.renorm_std.buffer, c.tensors.renorm_std.data, 'renorm_std');
      m.eval();
      assertClose(m.forward(t(c.tensors.xe)).buffer, c.tensors.ye.data, 'eval output', { atol: 1e-4 });
    });
  }

  it('rejects rMax < 1', () => {
    assert.throws(() => new nn.BatchRenorm2d(3, { rMax: 0.5 }), /BatchRenorm2d: rMax must be >= 1, got 0.5/);
  });
});
