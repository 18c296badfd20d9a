import { describe, it } from 'node:test';
import { backend as cpu } from '../../../src/backend/index.js';
import { crossCheck, webgpuBackend, webgpuSkipReason } from '../../helpers/webgpu.js';

const gpu = webgpuBackend();
// Row and channel sums added in another order than the CPU's.
const TOL = { rtol: 2e-4, atol: 2e-5 };

describe('WebGPU channel-wise and batch-independent norms against the CPU', { skip: webgpuSkipReason }, () => {
  const be = gpu!;
  for (const [N, C, S] of [[2, 5, 7], [3, 64, 33], [1, 3, 1]]) {
    for (const center of [true, false]) {
      for (const affine of [true, false]) {
        it(`normalizes over channels per position (${N}x${C}x${S}, center ${center}, affine ${affine}), forward and backward`, async () => {
          const n = N * C * S;
          const fwd = (m: Parameters<Parameters<typeof crossCheck>[2]>[0]): Parameters<typeof cpu.channelNormForward>[0] => ({
            x: m.f(m.rand(n, -2, 3)), N, C, S, gamma: affine ? m.f(m.rand(C, 0.5, 1.5)) : null, beta: affine ? m.f(m.rand(C)) : null, eps: 1e-6, center,
            y: m.empty(n), mean: center ? m.empty(N * S) : null, invstd: m.empty(N * S),
          });
          await crossCheck(be, 'channelNormForward', fwd, center ? ['y', 'mean', 'invstd'] : ['y', 'invstd'], TOL);
          await crossCheck(be, 'channelNormBackward', (m) => {
            const f = fwd(m);
            (f.x.device === 'cpu' ? cpu : be).channelNormForward(f);
            return { x: f.x, dy: m.f(m.rand(n)), N, C, S, mean: f.mean, invstd: f.invstd, gamma: f.gamma, center, dx: m.empty(n), dgamma: m.empty(C), dbeta: m.empty(C) };
          }, ['dx', 'dgamma', 'dbeta'], TOL);
        });
      }
    }
  }

  for (const withTau of [true, false]) {
    it(`computes FRN${withTau ? ' + TLU' : ''}, forward and backward`, async () => {
      const N = 3, C = 4, S = 300, n = N * C * S;
      const fwd = (m: Parameters<Parameters<typeof crossCheck>[2]>[0]): Parameters<typeof cpu.frnForward>[0] => ({
        x: m.f(m.rand(n, -2, 2)), N, C, S, gamma: m.f(m.rand(C, 0.5, 1.5)), beta: m.f(m.rand(C)), tau: withTau ? m.f(m.rand(C, -0.5, 0.5)) : null, eps: 1e-6,
        y: m.empty(n), rstd: m.empty(N * C),
      });
      await crossCheck(be, 'frnForward', fwd, ['y', 'rstd'], TOL);
      await crossCheck(be, 'frnBackward', (m) => {
        const f = fwd(m);
        (f.x.device === 'cpu' ? cpu : be).frnForward(f);
        return {
          x: f.x, dy: m.f(m.rand(n)), N, C, S, rstd: f.rstd, gamma: f.gamma, beta: f.beta, tau: f.tau, dx: m.empty(n), dgamma: m.empty(C), dbeta: m.empty(C),
          dtau: withTau ? m.empty(C) : null,
        };
      }, withTau ? ['dx', 'dgamma', 'dbeta', 'dtau'] : ['dx', 'dgamma', 'dbeta'], TOL);
    });
  }

  for (const [G, Cg] of [[1, 4], [2, 2], [4, 1]]) {
    it(`computes EvoNorm-S0 with ${G} groups, forward and backward`, async () => {
      const N = 3, S = 50, C = G * Cg, n = N * C * S;
      const fwd = (m: Parameters<Parameters<typeof crossCheck>[2]>[0]): Parameters<typeof cpu.evoNormS0Forward>[0] => ({
        x: m.f(m.rand(n, -2, 2)), N, G, Cg, S, v: m.f(m.rand(C, 0.5, 1.5)), w: m.f(m.rand(C, 0.5, 1.5)), b: m.f(m.rand(C)), eps: 1e-5,
        y: m.empty(n), mean: m.empty(N * G), rstd: m.empty(N * G),
      });
      await crossCheck(be, 'evoNormS0Forward', fwd, ['y', 'mean', 'rstd'], TOL);
      await crossCheck(be, 'evoNormS0Backward', (m) => {
        const f = fwd(m);
        (f.x.device === 'cpu' ? cpu : be).evoNormS0Forward(f);
        return { x: f.x, dy: m.f(m.rand(n)), N, G, Cg, S, v: f.v, w: f.w, mean: f.mean, rstd: f.rstd, dx: m.empty(n), dv: m.empty(C), dw: m.empty(C), db: m.empty(C) };
      }, ['dx', 'dv', 'dw', 'db'], TOL);
    });
  }

  for (const training of [true, false]) {
    it(`computes EvoNorm-B0 (${training ? 'training' : 'eval'}), forward and backward`, async () => {
      const N = 4, C = 3, S = 40, n = N * C * S;
      const fwd = (m: Parameters<Parameters<typeof crossCheck>[2]>[0]): Parameters<typeof cpu.evoNormB0Forward>[0] => ({
        x: m.f(m.rand(n, -2, 2)), N, C, S, variance: m.f(m.rand(C, 0.5, 2)), v: m.f(m.rand(C, 0.2, 1)), w: m.f(m.rand(C, 0.5, 1.5)), b: m.f(m.rand(C)), eps: 1e-5,
        y: m.empty(n), mean: m.empty(N * C), sd: m.empty(N * C),
      });
      await crossCheck(be, 'evoNormB0Forward', fwd, ['y', 'mean', 'sd'], TOL);
      await crossCheck(be, 'evoNormB0Backward', (m) => {
        const f = fwd(m);
        (f.x.device === 'cpu' ? cpu : be).evoNormB0Forward(f);
        return {
          x: f.x, dy: m.f(m.rand(n)), N, C, S, variance: f.variance, v: f.v, w: f.w, eps: 1e-5, mean: f.mean, sd: f.sd, batchMean: training ? m.f(m.rand(C)) : null,
          dx: m.empty(n), dv: m.empty(C), dw: m.empty(C), db: m.empty(C),
        };
      }, ['dx', 'dv', 'dw', 'db'], TOL);
    });
  }

  for (const [size, C] of [[1, 4], [2, 5], [5, 3], [5, 16]]) {
    it(`computes LocalResponseNorm of size ${size} over ${C} channels, forward and backward`, async () => {
      const N = 2, S = 30, n = N * C * S;
      const p = { N, C, S, size, alpha: 1e-2, beta: 0.75, k: 2 };
      await crossCheck(be, 'localResponseNormForward', (m) => ({ ...p, x: m.f(m.rand(n, -3, 3)), y: m.empty(n) }), ['y'], TOL);
      await crossCheck(be, 'localResponseNormBackward', (m) => ({ ...p, x: m.f(m.rand(n, -3, 3)), dy: m.f(m.rand(n)), dx: m.empty(n) }), ['dx'], TOL);
    });
  }
});
