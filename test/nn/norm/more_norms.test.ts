import { it } from 'node:test';
import { forEachDevice } from '../../helpers/device.js';
import assert from 'node:assert/strict';
import { Tensor, nn, noGrad } from '../../../src/index.js';
import type { Module } from '../../../src/nn/module.js';
import { loadFixtures, type FixtureTensor } from '../../helpers/fixtures.js';
import { assertClose } from '../../helpers/assert.js';


/** The normlab layer of a fixture case. */
function build(p: Record<string, unknown>, x: FixtureTensor): Module {
  const C = x.shape[1];
  switch (p.kind) {
    case 'BatchNorm3d':
      return new nn.BatchNorm3d(C, { momentum: p.momentum as number | null | undefined });
    case 'InstanceNorm1d':
      return new nn.InstanceNorm1d(C, { affine: p.affine as boolean, trackRunningStats: p.track as boolean });
    case 'InstanceNorm3d':
      return new nn.InstanceNorm3d(C, { affine: p.affine as boolean, trackRunningStats: p.track as boolean });
    case 'LazyBatchNorm2d':
      return new nn.LazyBatchNorm2d();
    case 'FrozenBatchNorm2d':
      return new nn.FrozenBatchNorm2d(C);
    case 'LocalResponseNorm':
      return new nn.LocalResponseNorm(p.size as number, { alpha: p.alpha as number, beta: p.beta as number, k: p.k as number });
    case 'LayerNorm2d':
      return new nn.LayerNorm2d(C);
    case 'BatchNormAct2d':
      return new nn.BatchNormAct2d(C);
    case 'GroupNormAct':
      return new nn.GroupNormAct(C, p.groups as number);
    case 'spectralNormLinear':
      return nn.utils.spectralNorm(new nn.Linear(5, 4));
    case 'spectralNormConv':
      return nn.utils.spectralNorm(new nn.Conv2d(3, 4, 3, { padding: 1 }), 'weight', { nPowerIterations: p.iters as number });
    default:
      throw new Error(`unknown fixture kind ${String(p.kind)}`);
  }
}

/** Fixture tensors with a prefix, keyed by normlab state-dict name (timm-style wrappers add 'norm.'). */
function withPrefix(tensors: Record<string, FixtureTensor>, prefix: string): Record<string, FixtureTensor> {
  const out: Record<string, FixtureTensor> = {};
  for (const [k, v] of Object.entries(tensors)) if (k.startsWith(prefix)) out[k.slice(prefix.length).replace(/^norm\./, '')] = v;
  return out;
}

forEachDevice('normalization layers against PyTorch 1.13 fixtures', (device, { t: make, read }) => {
  const t = (f: FixtureTensor, requiresGrad = false): Tensor => make(f.data, f.shape, requiresGrad);
  for (const c of loadFixtures('norm_layers')) {
    it(`matches PyTorch's ${c.name} in training forward, gradients, state dict and eval`, async () => {
      const T = c.tensors;
      const m = build(c.params, T.x);
      const init = withPrefix(T, 'i_');
      if (Object.keys(init).length > 0) m.loadStateDict(Object.fromEntries(Object.entries(init).map(([k, v]) => [k, new Tensor(v.data.slice(), v.shape)])));
      m.to(device);
      m.train();
      const x = t(T.x, true);
      const out = m.call(x);
      assertClose(await read(out), T.out.data, 'training forward', { atol: 1e-5 });
      out.backward(t(T.gy));
      assertClose(await read(x.grad!), T.gx.data, 'input gradient', { atol: 1e-4 });
      const grads = withPrefix(T, 'g_');
      const named = Object.fromEntries(m.namedParameters());
      assert.deepEqual(Object.keys(named).sort(), Object.keys(grads).sort(), 'parameter names');
      for (const [k, g] of Object.entries(grads)) assertClose(await read(named[k].grad!), g.data, `gradient of ${k}`, { atol: 1e-4, scaleToMax: true });
      noGrad(() => m.call(t(T.x2)));
      const after = withPrefix(T, 's_');
      const sd = m.stateDict();
      assert.deepEqual(Object.keys(sd).sort(), Object.keys(after).sort(), 'state-dict names');
      for (const [k, v] of Object.entries(after)) {
        // InstanceNorm's counter (PyTorch 1.13 leaves it at 0) is checked with InstanceNorm2d's tests.
        if (k === 'num_batches_tracked' && String(c.params.kind).startsWith('InstanceNorm')) continue;
        assert.deepEqual(sd[k].shape, v.shape, `shape of ${k}`);
        assert.equal(sd[k].device, device, `${k} stays on the device`);
        assertClose(await read(sd[k]), v.data, `state ${k}`, { atol: 1e-5 });
      }
      m.eval();
      assertClose(await read(noGrad(() => m.call(t(T.x3)))), T.out_eval.data, 'eval forward', { atol: 1e-5 });
    });
  }
});
