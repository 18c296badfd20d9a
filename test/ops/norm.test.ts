// Kernel-level checks of native/norm.cc: every ISA the CPU supports matches the PyTorch
// fixtures, and 1 vs 2 threads give bitwise-identical results.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, nn, randn, setNumThreads, getNumThreads, functional as F } from '../../src/index.js';
import { forEachIsa, useIsa } from '../helpers/isa.js';
import { loadFixtures } from '../helpers/fixtures.js';
import { assertClose } from '../helpers/assert.js';

interface Run {
  outputs: Float32Array[];
}

/** Forward + backward of every norm kernel path on shapes that exercise both thread splits. */
function runAll(): Run {
  const outputs: Float32Array[] = [];
  const cases: [string, number[], () => nn.Module][] = [
    ['bn many channels', [8, 64, 9, 9], () => new nn.BatchNorm2d(64)],
    ['bn few channels', [64, 2, 33, 17], () => new nn.BatchNorm2d(2)],
    ['bn 1-d', [300, 7], () => new nn.BatchNorm1d(7)],
    // Over 16 MB: the streaming-store output path.
    ['bn large', [64, 16, 64, 64], () => new nn.BatchNorm2d(16)],
    ['fbn few channels', [64, 3, 20, 20], () => new nn.FilteredBatchNorm2d(3, { threshold: 2 })],
    ['fbn many channels', [16, 32, 8, 8], () => new nn.FilteredBatchNorm2d(32, { threshold: 1 })],
    ['gn', [16, 32, 9, 9], () => new nn.GroupNorm(4, 32)],
    ['ln', [64, 300], () => new nn.LayerNorm([300])],
    ['in', [8, 16, 11, 11], () => new nn.InstanceNorm2d(16, { affine: true })],
  ];
  for (const [, shape, make] of cases) {
    const m = make();
    for (const p of m.parameters()) p.buffer.set(randn(p.shape, { seed: 5 }).buffer.map((v) => 1 + 0.3 * v));
    const x = randn(shape, { seed: 1, requiresGrad: true });
    x.buffer[7] = 40;
    const y = m.forward(x);
    y.backward(randn(shape, { seed: 2 }));
    outputs.push(y.buffer, x.grad!.buffer, ...m.parameters().map((p) => p.grad!.buffer), ...m.namedBuffers().map(([, b]) => b.buffer));
    m.eval();
    outputs.push(m.forward(randn(shape, { seed: 3 })).buffer);
  }
  return { outputs };
}

describe('norm kernels on every supported ISA', () => {
  forEachIsa((isa) => {
    it(`match the PyTorch BatchNorm and GroupNorm fixtures on ${isa}`, () => {
      useIsa(isa);
      for (const c of loadFixtures('batchnorm').slice(0, 2)) {
        const x = new Tensor(c.tensors.x0.data.slice(), c.tensors.x0.shape, { requiresGrad: true });
        const w = new Tensor(c.tensors.weight.data.slice(), c.tensors.weight.shape, { requiresGrad: true });
        const b = new Tensor(c.tensors.bias.data.slice(), c.tensors.bias.shape, { requiresGrad: true });
        const y = F.batchNorm(x, null, null, w, b, { training: true });
        assertClose(y.buffer, c.tensors.y0.data, `${isa} ${c.name} forward`);
        y.backward(new Tensor(c.tensors.gy.data, c.tensors.gy.shape));
        assertClose(x.grad!.buffer, c.tensors.gx.data, `${isa} ${c.name} input gradient`, { atol: 1e-4 });
      }
      for (const c of loadFixtures('groupnorm').filter((k) => k.params.kind === 'gn' && k.params.affine)) {
        const x = new Tensor(c.tensors.x.data.slice(), c.tensors.x.shape, { requiresGrad: true });
        const w = new Tensor(c.tensors.weight.data.slice(), c.tensors.weight.shape);
        const b = new Tensor(c.tensors.bias.data.slice(), c.tensors.bias.shape);
        const y = F.groupNorm(x, c.params.groups as number, w, b);
        assertClose(y.buffer, c.tensors.y.data, `${isa} ${c.name} forward`);
        y.backward(new Tensor(c.tensors.gy.data, c.tensors.gy.shape));
        assertClose(x.grad!.buffer, c.tensors.gx.data, `${isa} ${c.name} input gradient`, { atol: 1e-4 });
      }
    });

    it(`give bitwise-identical results with 1 and 2 threads on ${isa}`, () => {
      useIsa(isa);
      const threads = getNumThreads();
      after(() => setNumThreads(threads));
      setNumThreads(1);
      const one = runAll();
      setNumThreads(2);
      const two = runAll();
      assert.equal(one.outputs.length, two.outputs.length);
      one.outputs.forEach((a, i) => assert.deepEqual(two.outputs[i], a, `output ${i} differs between 1 and 2 threads`));
    });
  });
});
