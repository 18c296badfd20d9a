import { describe, it } from 'node:test';
import { forEachDevice } from '../../helpers/device.js';
import assert from 'node:assert/strict';
import { Tensor, nn, randn } from '../../../src/index.js';
import { loadFixtures, type FixtureTensor } from '../../helpers/fixtures.js';
import { assertClose } from '../../helpers/assert.js';

forEachDevice('BatchRenorm against a float64 reference of its formulas', (device, { t, read }) => {
  const ft = (f: FixtureTensor, requiresGrad = false): Tensor => t(f.data, f.shape, requiresGrad);
  for (const c of loadFixtures('batchrenorm')) {
    it(`matches ${c.name} over 3 training steps and in eval`, async () => {
      const p = c.params as { shape: number[]; rMax: number; dMax: number; warmupSteps: number; renormMomentum: number };
      const opts = { rMax: p.rMax, dMax: p.dMax, warmupSteps: p.warmupSteps, renormMomentum: p.renormMomentum };
      const made = p.shape.length === 4 ? new nn.BatchRenorm2d(p.shape[1], opts) : new nn.BatchRenorm1d(p.shape[1], opts);
      made.weight!.buffer.set(c.tensors.weight.data);
      made.bias!.buffer.set(c.tensors.bias.data);
      const m = made.to(device);
      for (let k = 0; k < 3; k++) {
        m.zeroGrad();
        const x = ft(c.tensors[`x${k}`], true);
        const y = m.forward(x);
        assertClose(await read(y), c.tensors[`y${k}`].data, `step ${k} forward`, { atol: 1e-4 });
        y.backward(ft(c.tensors[`gy${k}`]));
        assertClose(await read(x.grad!), c.tensors[`gx${k}`].data, `step ${k} input gradient`, { atol: 2e-4 });
        assertClose(await read(m.weight!.grad!), c.tensors[`gw${k}`].data, `step ${k} gamma gradient`, { atol: 2e-4 });
        assertClose(await read(m.bias!.grad!), c.tensors[`gb${k}`].data, `step ${k} beta gradient`, { atol: 2e-4 });
      }
      const sd = m.stateDict();
      assertClose(await read(sd.running_mean), c.tensors.running_mean.data, 'running_mean');
      assertClose(await read(sd.running_var), c.tensors.running_var.data, 'running_var');
      assertClose(await read(sd.renorm_mean), c.tensors.renorm_mean.data, 'renorm_mean');
      assertClose(await read(sd.renorm_std), c.tensors.renorm_std.data, 'renorm_std');
      assert.equal(await sd.num_batches_tracked.itemAsync(), 3, 'three batches counted');
      m.eval();
      assertClose(await read(m.forward(ft(c.tensors.xe))), c.tensors.ye.data, 'eval output', { atol: 1e-4 });
    });
  }

  if (device !== 'cpu') {
    it(`throws naming the layer and both devices when a BatchRenorm2d on '${device}' gets a CPU input`, async () => {
      const m = new nn.BatchRenorm2d(3).to(device);
      assert.throws(() => m.forward(randn([2, 3, 2, 2])), new RegExp(`BatchRenorm2d\\.forward: expected all tensors on one device, but found tensors on 'cpu' and '${device}'`));
      assert.equal(await m.numBatchesTracked!.itemAsync(), 0, 'the refused batch is not counted');
    });
  }
});

describe('BatchRenorm options', () => {
  it('rejects rMax < 1', () => {
    assert.throws(() => new nn.BatchRenorm2d(3, { rMax: 0.5 }), /BatchRenorm2d: rMax must be >= 1, got 0.5/);
  });
});
