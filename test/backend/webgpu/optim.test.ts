import { describe, it } from 'node:test';
import { crossCheck, webgpuBackend, webgpuSkipReason } from '../../helpers/webgpu.js';

const gpu = webgpuBackend();
const N = 1037;

describe('WebGPU optimizer steps against the CPU', { skip: webgpuSkipReason }, () => {
  const be = gpu!;
  for (const [momentum, nesterov, firstStep, dampening, weightDecay] of [
    [0, false, false, 0, 0], [0, false, false, 0, 1e-2], [0.9, false, true, 0, 0], [0.9, false, false, 0.1, 5e-4], [0.9, true, false, 0, 1e-3],
  ] as const) {
    it(`takes an SGD step (momentum ${momentum}, nesterov ${nesterov}, first ${firstStep}, dampening ${dampening}, weight decay ${weightDecay})`, async () => {
      await crossCheck(be, 'sgdStep', (m) => ({
        p: m.f(m.rand(N)), g: m.f(m.rand(N)), buf: momentum === 0 ? null : m.f(m.rand(N)), lr: 0.1, momentum, dampening, weightDecay, nesterov, firstStep,
      }), momentum === 0 ? ['p'] : ['p', 'buf']);
    });
  }
  for (const [decoupled, step, weightDecay] of [[false, 1, 0], [false, 7, 1e-2], [true, 3, 1e-2]] as const) {
    it(`takes an Adam step (decoupled ${decoupled}, step ${step}, weight decay ${weightDecay})`, async () => {
      await crossCheck(be, 'adamStep', (m) => ({
        p: m.f(m.rand(N)), g: m.f(m.rand(N)), m: m.f(m.rand(N)), v: m.f(m.rand(N, 0, 1)), lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay, step, decoupled,
      }), ['p', 'm', 'v']);
    });
  }
  for (const [momentum, centered] of [[0, false], [0.5, false], [0, true], [0.9, true]] as const) {
    it(`takes an RMSprop step (momentum ${momentum}, centered ${centered})`, async () => {
      await crossCheck(be, 'rmspropStep', (m) => ({
        p: m.f(m.rand(N)), g: m.f(m.rand(N)), sq: m.f(m.rand(N, 0.5, 1)), buf: momentum > 0 ? m.f(m.rand(N)) : null, gAvg: centered ? m.f(m.rand(N, -0.1, 0.1)) : null,
        lr: 0.01, alpha: 0.99, eps: 1e-8, weightDecay: 1e-3, momentum, centered,
      }), ['p', 'sq', ...(momentum > 0 ? ['buf'] : []), ...(centered ? ['gAvg'] : [])]);
    });
  }
});
