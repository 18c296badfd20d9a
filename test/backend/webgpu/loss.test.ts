import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backend as cpu } from '../../../src/backend/index.js';
import { crossCheck, webgpuBackend, webgpuSkipReason } from '../../helpers/webgpu.js';

const gpu = webgpuBackend();

describe('WebGPU loss kernels against the CPU', { skip: webgpuSkipReason }, () => {
  const be = gpu!;
  for (const [rows, cols] of [[3, 5], [7, 200], [2, 1], [70000, 3]]) {
    for (const log of [false, true]) {
      it(`computes ${log ? 'log-' : ''}softmax and its gradient over ${rows} rows of ${cols}`, async () => {
        const n = rows * cols;
        await crossCheck(be, 'softmaxForward', (m) => ({ x: m.f(m.rand(n, -30, 30)), rows, cols, y: m.empty(n), log }), ['y'], { rtol: 1e-4, atol: 1e-6 });
        await crossCheck(be, 'softmaxBackward', (m) => {
          const x = m.f(m.rand(n, -3, 3));
          const y = m.empty(n);
          ((x.device === 'cpu' ? cpu : be).softmaxForward)({ x, rows, cols, y, log });
          return { y, gy: m.f(m.rand(n)), rows, cols, gx: m.empty(n), log };
        }, ['gx'], { rtol: 1e-4, atol: 1e-6 });
      });
    }
  }

  const targets = (N: number, C: number, ignore: number): number[] => Array.from({ length: N }, (_, i) => (i % 5 === 3 ? ignore : (i * 7) % C));
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    for (const eps of [0, 0.1]) {
      it(`computes cross-entropy (${reduction}, smoothing ${eps}) with ignored rows, forward and backward`, async () => {
        const N = 37, C = 11;
        await crossCheck(be, 'crossEntropyForward', (m) => ({
          logits: m.f(m.rand(N * C, -4, 4)), N, C, target: m.i(targets(N, C, -100)), eps, ignoreIndex: -100, reduction, out: m.empty(reduction === 'none' ? N : 1), count: m.empty(1),
        }), ['out', 'count'], { rtol: 1e-5, atol: 1e-6 });
        await crossCheck(be, 'crossEntropyBackward', (m) => ({
          logits: m.f(m.rand(N * C, -4, 4)), N, C, target: m.i(targets(N, C, -100)), eps, ignoreIndex: -100, reduction,
          gy: m.f(m.rand(reduction === 'none' ? N : 1)), count: m.f([30]), gx: m.empty(N * C),
        }), ['gx'], { rtol: 1e-5, atol: 1e-6 });
      });
    }
    it(`computes the NLL loss (${reduction}) and its gradient`, async () => {
      const N = 9000, C = 4;
      await crossCheck(be, 'nllLossForward', (m) => ({
        logp: m.f(m.rand(N * C, -5, 0)), N, C, target: m.i(targets(N, C, 2)), ignoreIndex: 2, reduction, out: m.empty(reduction === 'none' ? N : 1), count: m.empty(1),
      }), ['out', 'count'], { rtol: 1e-5, atol: 1e-6 });
      await crossCheck(be, 'nllLossBackward', (m) => ({
        N, C, target: m.i(targets(N, C, 2)), ignoreIndex: 2, reduction, gy: m.f(m.rand(reduction === 'none' ? N : 1)), count: m.f([7000]), gx: m.empty(N * C),
      }), ['gx']);
    });
    it(`computes MSE and BCE-with-logits (${reduction}), forward and both gradients`, async () => {
      const n = 10007;
      await crossCheck(be, 'mseLossForward', (m) => ({ a: m.f(m.rand(n)), b: m.f(m.rand(n)), n, reduction, out: m.empty(reduction === 'none' ? n : 1) }), ['out'], { rtol: 1e-5, atol: 1e-6 });
      await crossCheck(be, 'mseLossBackward', (m) => ({ a: m.f(m.rand(n)), b: m.f(m.rand(n)), n, reduction, gy: m.f(m.rand(reduction === 'none' ? n : 1)), ga: m.empty(n), gb: m.empty(n) }), ['ga', 'gb'], { rtol: 1e-5, atol: 1e-7 });
      await crossCheck(be, 'bceWithLogitsForward', (m) => ({ x: m.f(m.rand(n, -20, 20)), y: m.f(m.rand(n, 0, 1)), n, reduction, out: m.empty(reduction === 'none' ? n : 1) }), ['out'], { rtol: 1e-5, atol: 1e-6 });
      await crossCheck(be, 'bceWithLogitsBackward', (m) => ({ x: m.f(m.rand(n, -20, 20)), y: m.f(m.rand(n, 0, 1)), n, reduction, gy: m.f(m.rand(reduction === 'none' ? n : 1)), gx: m.empty(n), gTarget: m.empty(n) }), ['gx', 'gTarget'], { rtol: 1e-5, atol: 1e-7 });
    });
  }

  it('converts float class targets to int32', async () => {
    await crossCheck(be, 'classTargets', (m) => ({ values: m.f([0, 3, -100, 2, 1]), n: 5, classes: 4, ignoreIndex: -100, out: m.emptyIndex(5), fn: 'nllLoss' }), ['out']);
  });

  it('reports the first bad class target at the next read, with the CPU message', async () => {
    const out = be.emptyIndex(4);
    be.classTargets({ values: be.upload(Float32Array.from([1, 7, 0.5, 9])), n: 4, classes: 4, ignoreIndex: -100, out, fn: 'nllLoss' });
    await assert.rejects(be.downloadIndex(out), /nllLoss: target\[1\] = 7 is out of range \[0, 4\)/);
    assert.deepEqual([...(await be.downloadIndex(out))].slice(0, 1), [1]);
  });

  for (const [seed, p] of [[0, 0.5], [12345, 0.1], [2 ** 53 - 1, 0.9], [-7, 0.25]]) {
    it(`draws the CPU's dropout mask bit for bit (seed ${seed}, p ${p})`, async () => {
      const n = 100003;
      const r = await crossCheck(be, 'dropoutMask', (m) => ({ seed, p, n, mask: m.empty(n) }), ['mask'], { rtol: 0, atol: 0 });
      const kept = [...r.mask].filter((v) => v !== 0).length / n;
      assert.ok(Math.abs(kept - (1 - p)) < 0.01, `kept fraction ${kept}`);
    });
  }
});
