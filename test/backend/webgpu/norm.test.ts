import { describe, it } from 'node:test';
import type { NormAct } from '../../../src/backend/kernels/norm.js';
import { backend as cpu } from '../../../src/backend/index.js';
import { crossCheck, webgpuBackend, webgpuSkipReason, type Maker } from '../../helpers/webgpu.js';

const gpu = webgpuBackend();
const ACTS: NormAct[] = ['none', 'relu', 'leakyRelu', 'sigmoid', 'tanh'];

/** Values with a few far outliers, so Filtered BN removes some. */
function withOutliers(m: Maker, n: number): Float32Array {
  const v = m.rand(n, -1, 3);
  for (let i = 7; i < n; i += 97) v[i] = i % 2 === 0 ? 40 : -35;
  return v;
}

// Per-channel sums over thousands of values, added in another order than the CPU's.
const TOL = { rtol: 2e-4, atol: 2e-5 };

describe('WebGPU batch and group normalization against the CPU', { skip: webgpuSkipReason }, () => {
  const be = gpu!;
  for (const [N, C, S] of [[4, 3, 25], [8, 5, 1], [2, 2, 40000], [3, 1, 7]]) {
    for (const act of ACTS) {
      for (const affine of [true, false]) {
        it(`normalizes ${N}x${C}x${S} with batch statistics (act ${act}, affine ${affine}), forward and backward`, async () => {
          const n = N * C * S;
          const fwd = (m: Maker): Parameters<typeof cpu.batchNormForward>[0] => ({
            x: m.f(m.rand(n, -2, 3)), N, C, S, gamma: affine ? m.f(m.rand(C, 0.5, 1.5)) : null, beta: affine ? m.f(m.rand(C)) : null, eps: 1e-5,
            y: m.empty(n), mean: m.empty(C), invstd: m.empty(C), variance: m.empty(C), threshold: 0, mu0: null, rstd0: null, kept: null, act, actParam: 0.1,
          });
          await crossCheck(be, 'batchNormForward', fwd, ['y', 'mean', 'invstd', 'variance'], TOL);
          for (const batchStats of [true, false]) {
            await crossCheck(be, 'batchNormBackward', (m) => {
              const f = fwd(m);
              (f.x.device === 'cpu' ? cpu : be).batchNormForward(f);
              return {
                x: f.x, N, C, S, dy: m.f(m.rand(n)), mean: f.mean, invstd: f.invstd, gamma: f.gamma, beta: f.beta, batchStats, dx: m.empty(n), dgamma: m.empty(C), dbeta: m.empty(C),
                count: null, threshold: 0, mu0: null, rstd0: null, act, actParam: 0.1,
              };
            }, ['dx', 'dgamma', 'dbeta'], TOL);
          }
        });
      }
    }
  }

  for (const threshold of [1, 2, 3, 4]) {
    it(`filters outliers at T = ${threshold}, forward and backward`, async () => {
      const N = 6, C = 3, S = 50, n = N * C * S;
      const fwd = (m: Maker): Parameters<typeof cpu.batchNormForward>[0] => ({
        x: m.f(withOutliers(m, n)), N, C, S, gamma: m.f(m.rand(C, 0.5, 1.5)), beta: m.f(m.rand(C)), eps: 1e-5,
        y: m.empty(n), mean: m.empty(C), invstd: m.empty(C), variance: m.empty(C), threshold, mu0: m.empty(C), rstd0: m.empty(C), kept: m.empty(C),
      });
      await crossCheck(be, 'batchNormForward', fwd, ['y', 'mean', 'invstd', 'variance', 'mu0', 'rstd0', 'kept'], TOL);
      await crossCheck(be, 'batchNormBackward', (m) => {
        const f = fwd(m);
        (f.x.device === 'cpu' ? cpu : be).batchNormForward(f);
        return {
          x: f.x, N, C, S, dy: m.f(m.rand(n)), mean: f.mean, invstd: f.invstd, gamma: f.gamma, batchStats: true, dx: m.empty(n), dgamma: m.empty(C), dbeta: m.empty(C),
          count: f.kept, threshold, mu0: f.mu0, rstd0: f.rstd0,
        };
      }, ['dx', 'dgamma', 'dbeta'], TOL);
    });
  }

  it('skips null gradients and computes statistics alone when y is null', async () => {
    const N = 3, C = 4, S = 9, n = N * C * S;
    await crossCheck(be, 'batchNormForward', (m) => ({
      x: m.f(m.rand(n)), N, C, S, gamma: null, beta: null, eps: 1e-3, y: null, mean: m.empty(C), invstd: m.empty(C), variance: m.empty(C), threshold: 0, mu0: null, rstd0: null, kept: null,
    }), ['mean', 'invstd', 'variance'], TOL);
    await crossCheck(be, 'batchNormBackward', (m) => ({
      x: m.f(m.rand(n)), N, C, S, dy: m.f(m.rand(n)), mean: m.f(m.rand(C)), invstd: m.f(m.rand(C, 0.5, 2)), gamma: null, batchStats: true, dx: null, dgamma: m.empty(C), dbeta: null,
      count: null, threshold: 0, mu0: null, rstd0: null,
    }), ['dgamma'], TOL);
  });

  for (const [N, G, Cg, S] of [[2, 1, 6, 10], [3, 2, 3, 17], [2, 4, 1, 300], [1, 3, 2, 1]]) {
    for (const act of ['none', 'relu', 'tanh'] as NormAct[]) {
      it(`group-normalizes N ${N}, G ${G}, Cg ${Cg}, S ${S} (act ${act}), forward and backward`, async () => {
        const C = G * Cg, n = N * C * S;
        const fwd = (m: Maker): Parameters<typeof cpu.groupNormForward>[0] => ({
          x: m.f(m.rand(n, -2, 2)), N, G, Cg, S, gamma: m.f(m.rand(C, 0.5, 1.5)), beta: m.f(m.rand(C)), eps: 1e-5, y: m.empty(n), mean: m.empty(N * G), invstd: m.empty(N * G),
          variance: m.empty(N * G), act,
        });
        await crossCheck(be, 'groupNormForward', fwd, ['y', 'mean', 'invstd', 'variance'], TOL);
        await crossCheck(be, 'groupNormBackward', (m) => {
          const f = fwd(m);
          (f.x.device === 'cpu' ? cpu : be).groupNormForward(f);
          return { x: f.x, N, G, Cg, S, dy: m.f(m.rand(n)), mean: f.mean, invstd: f.invstd, gamma: f.gamma, beta: f.beta, dx: m.empty(n), dgamma: m.empty(C), dbeta: m.empty(C), act };
        }, ['dx', 'dgamma', 'dbeta'], TOL);
      });
    }
  }

  it('computes eval scale/shift, running-statistics updates and Batch Renorm terms', async () => {
    const C = 5;
    await crossCheck(be, 'normEvalScaleShift', (m) => ({
      runningMean: m.f(m.rand(C)), runningVar: m.f(m.rand(C, 0.1, 2)), weight: m.f(m.rand(C)), bias: null, eps: 1e-5, scale: m.empty(C), shift: m.empty(C), invstd: m.empty(C),
    }), ['scale', 'shift', 'invstd']);
    for (const transform of ['value', 'unbiased', 'std'] as const) {
      await crossCheck(be, 'runningStatsUpdate', (m) => ({
        running: m.f(m.rand(C)), batch: m.f(m.rand(3 * C, 0, 2)), momentum: null, batches: m.f([4]), transform, count: 7, eps: 1e-5,
      }), ['running']);
      await crossCheck(be, 'runningStatsUpdate', (m) => ({
        running: m.f(m.rand(C)), batch: m.f([0.7]), momentum: 0.1, batches: null, transform, count: m.f([12]), eps: 1e-5,
      }), ['running']);
    }
    for (const warmup of [true, false]) {
      await crossCheck(be, 'batchRenormParams', (m) => ({
        mean: m.f(m.rand(C)), variance: m.f(m.rand(C, 0.1, 3)), invstd: m.f(m.rand(C, 0.5, 2)), renormMean: m.f(m.rand(C)), renormStd: m.f(m.rand(C, 0.5, 1.5)),
        weight: m.f(m.rand(C)), bias: m.f(m.rand(C)), eps: 1e-5, rMax: 1.5, dMax: 0.5, warmup, batches: m.f([10]), warmupSteps: 5,
        r: m.empty(C), d: m.empty(C), gamma: m.empty(C), scale: m.empty(C), shift: m.empty(C),
      }), ['r', 'd', 'gamma', 'scale', 'shift']);
    }
  });
});
