import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backendOn, type Backend, type Storage } from '../../../src/backend/index.js';
import { crossCheck, webgpuBackend, webgpuSkipReason, type Maker } from '../../helpers/webgpu.js';

const gpu = webgpuBackend();

/** The backend that owns a handle (forward kernels run there to give a backward its statistics). */
const on = (s: Storage): Backend => backendOn(s.device);

/** A view through the owning backend (the Maker gives whole storages only). */
function view(s: Storage, offset: number, length: number): Storage {
  return on(s).view(s, offset, length);
}

/** values padded with `before` leading and 5 trailing junk values, returned as a view of the values. */
function inView(m: Maker, values: ArrayLike<number>, before: number): Storage {
  return view(m.f([...m.rand(before), ...Array.from(values), ...m.rand(5)]), before, values.length);
}

/** Positive per-channel values (scales, variances). */
const pos = (m: Maker, n: number): Storage => m.f(m.rand(n, 0.5, 1.5));

/** Per-channel batch mean and biased variance of x viewed as [N, C, S] (EvoNorm-B0's training statistics). */
function batchStats(x: Float32Array, N: number, C: number, S: number): { mean: number[]; variance: number[] } {
  const mean: number[] = [];
  const variance: number[] = [];
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let k = 0; k < N; k++) for (let j = 0; j < S; j++) s += x[(k * C + c) * S + j];
    const mu = s / (N * S);
    let q = 0;
    for (let k = 0; k < N; k++) for (let j = 0; j < S; j++) q += (x[(k * C + c) * S + j] - mu) ** 2;
    mean.push(mu);
    variance.push(q / (N * S));
  }
  return { mean, variance };
}

// Gradients of the per-channel parameters add N * S (or S) terms in another order than the CPU's,
// which sums in double: an absolute floor covers the cancellation in those sums.
const SUM_TOL = { rtol: 1e-4, atol: 1e-4 };

describe('WebGPU channel-wise norm kernels against the CPU', { skip: webgpuSkipReason }, () => {
  const be = gpu!;

  describe('channels-first LayerNorm and RMSNorm', () => {
    const shapes: [number, number, number][] = [[2, 5, 7], [3, 64, 33], [1, 300, 1], [2, 1, 10], [4, 3, 0]];
    for (const [N, C, S] of shapes) {
      for (const center of [true, false]) {
        for (const affine of [true, false]) {
          const what = `${center ? 'LayerNorm2d' : 'RmsNorm2d'} ${affine ? 'with' : 'without'} affine on [${N}, ${C}, ${S}]`;
          const n = N * C * S;
          it(`normalizes each position over its channels: ${what}`, async () => {
            await crossCheck(be, 'channelNormForward', (m) => ({
              x: m.f(m.rand(n, -2, 3)), N, C, S, gamma: affine ? pos(m, C) : null, beta: affine ? m.f(m.rand(C)) : null, eps: 1e-5, center,
              y: m.empty(n), mean: center ? m.empty(N * S) : null, invstd: m.empty(N * S),
            }), center ? ['y', 'mean', 'invstd'] : ['y', 'invstd']);
          });
          it(`computes the input and parameter gradients of ${what}`, async () => {
            await crossCheck(be, 'channelNormBackward', (m) => {
              const x = m.f(m.rand(n, -2, 3));
              const gamma = affine ? pos(m, C) : null;
              const mean = center ? m.empty(N * S) : null;
              const invstd = m.empty(N * S);
              on(x).channelNormForward({ x, N, C, S, gamma, beta: null, eps: 1e-5, center, y: m.empty(n), mean, invstd });
              return { x, dy: m.f(m.rand(n)), N, C, S, mean, invstd, gamma, center, dx: m.empty(n), dgamma: m.empty(C), dbeta: m.empty(C) };
            }, ['dx', 'dgamma', 'dbeta'], SUM_TOL);
          });
        }
      }
    }

    it('skips the gradients given as null', async () => {
      const [N, C, S] = [2, 6, 9];
      const n = N * C * S;
      const build = (m: Maker, keep: 'dx' | 'params') => {
        const x = m.f(m.rand(n));
        const mean = m.empty(N * S);
        const invstd = m.empty(N * S);
        on(x).channelNormForward({ x, N, C, S, gamma: null, beta: null, eps: 1e-6, center: true, y: m.empty(n), mean, invstd });
        return {
          x, dy: m.f(m.rand(n)), N, C, S, mean, invstd, gamma: pos(m, C), center: true,
          dx: keep === 'dx' ? m.empty(n) : null, dgamma: keep === 'params' ? m.empty(C) : null, dbeta: keep === 'params' ? m.empty(C) : null,
        };
      };
      await crossCheck(be, 'channelNormBackward', (m) => build(m, 'dx'), ['dx']);
      await crossCheck(be, 'channelNormBackward', (m) => build(m, 'params'), ['dgamma', 'dbeta'], SUM_TOL);
    });

    it('writes the parameter gradients into views of one buffer', async () => {
      const [N, C, S] = [3, 5, 4];
      const n = N * C * S;
      await crossCheck(be, 'channelNormBackward', (m) => {
        const x = m.f(m.rand(n));
        const invstd = m.empty(N * S);
        on(x).channelNormForward({ x, N, C, S, gamma: null, beta: null, eps: 1e-6, center: false, y: m.empty(n), mean: null, invstd });
        const grads = m.f(new Array(2 * C + 1).fill(0));
        return {
          x, dy: m.f(m.rand(n)), N, C, S, mean: null, invstd, gamma: pos(m, C), center: false,
          dx: null, dgamma: view(grads, 0, C), dbeta: view(grads, C + 1, C),
        };
      }, ['dgamma', 'dbeta'], SUM_TOL);
    });

    it('handles more positions than one grid row of workgroups holds', async () => {
      const [N, C, S] = [1, 2, 2_200_000];
      await crossCheck(be, 'channelNormForward', (m) => ({
        x: m.f(m.rand(N * C * S)), N, C, S, gamma: null, beta: null, eps: 1e-5, center: true, y: m.empty(N * C * S), mean: m.empty(N * S), invstd: m.empty(N * S),
      }), ['y', 'mean', 'invstd']);
    });

    it('reads and writes views at offsets', async () => {
      const [N, C, S] = [2, 4, 5];
      const n = N * C * S;
      await crossCheck(be, 'channelNormForward', (m) => ({
        x: inView(m, m.rand(n), 3), N, C, S, gamma: inView(m, m.rand(C, 0.5, 1.5), 7), beta: inView(m, m.rand(C), 1), eps: 1e-5, center: true,
        y: view(m.f(new Array(n + 9).fill(0)), 6, n), mean: view(m.f(new Array(N * S + 2).fill(0)), 1, N * S), invstd: view(m.f(new Array(N * S + 4).fill(0)), 3, N * S),
      }), ['y', 'mean', 'invstd']);
    });
  });

  describe('Filter Response Normalization with TLU', () => {
    const shapes: [number, number, number][] = [[2, 3, 49], [1, 2, 70_000], [3, 5, 1], [2, 4, 300]];
    for (const [N, C, S] of shapes) {
      for (const tlu of [true, false]) {
        const what = `[${N}, ${C}, ${S}] ${tlu ? 'with' : 'without'} TLU`;
        const n = N * C * S;
        // Rows of 70000 values are summed in another order than the CPU's.
        const tol = S > 1000 ? { rtol: 1e-3, atol: 1e-4 } : SUM_TOL;
        it(`normalizes rows by their mean square: ${what}`, async () => {
          await crossCheck(be, 'frnForward', (m) => ({
            x: m.f(m.rand(n, -2, 2)), N, C, S, gamma: pos(m, C), beta: m.f(m.rand(C)), tau: tlu ? m.f(m.rand(C, -0.5, 0.5)) : null, eps: 1e-6,
            y: m.empty(n), rstd: m.empty(N * C),
          }), ['y', 'rstd']);
        });
        it(`computes every gradient of FRN ${what}`, async () => {
          await crossCheck(be, 'frnBackward', (m) => {
            const x = m.f(m.rand(n, -2, 2));
            const gamma = pos(m, C);
            const beta = m.f(m.rand(C));
            const tau = tlu ? m.f(m.rand(C, -0.5, 0.5)) : null;
            const rstd = m.empty(N * C);
            on(x).frnForward({ x, N, C, S, gamma, beta, tau, eps: 1e-6, y: m.empty(n), rstd });
            return {
              x, dy: m.f(m.rand(n)), N, C, S, rstd, gamma, beta, tau, dx: m.empty(n), dgamma: m.empty(C), dbeta: m.empty(C), dtau: tlu ? m.empty(C) : null,
            };
          }, tlu ? ['dx', 'dgamma', 'dbeta', 'dtau'] : ['dx', 'dgamma', 'dbeta'], tol);
        });
      }
    }

    it('splits the gradient in half where z ties tau', async () => {
      const [N, C, S] = [2, 3, 8];
      const n = N * C * S;
      await crossCheck(be, 'frnBackward', (m) => {
        // x = 0 gives z = beta = tau exactly.
        const x = m.f([...m.rand(n)].map((v, i) => (i % 3 === 0 ? 0 : v)));
        const beta = m.f([0.25, -0.5, 0]);
        const tau = m.f([0.25, -0.5, 0]);
        const gamma = pos(m, C);
        const rstd = m.empty(N * C);
        on(x).frnForward({ x, N, C, S, gamma, beta, tau, eps: 1e-6, y: m.empty(n), rstd });
        return { x, dy: m.f(m.rand(n)), N, C, S, rstd, gamma, beta, tau, dx: m.empty(n), dgamma: m.empty(C), dbeta: m.empty(C), dtau: m.empty(C) };
      }, ['dx', 'dgamma', 'dbeta', 'dtau'], SUM_TOL);
    });

    it('skips the gradients given as null', async () => {
      const [N, C, S] = [2, 3, 11];
      const n = N * C * S;
      const build = (m: Maker, dxOnly: boolean) => {
        const x = m.f(m.rand(n));
        const gamma = pos(m, C);
        const beta = m.f(m.rand(C));
        const tau = m.f(m.rand(C));
        const rstd = m.empty(N * C);
        on(x).frnForward({ x, N, C, S, gamma, beta, tau, eps: 1e-6, y: m.empty(n), rstd });
        return {
          x, dy: m.f(m.rand(n)), N, C, S, rstd, gamma, beta, tau, dx: dxOnly ? m.empty(n) : null,
          dgamma: dxOnly ? null : m.empty(C), dbeta: null, dtau: dxOnly ? null : m.empty(C),
        };
      };
      await crossCheck(be, 'frnBackward', (m) => build(m, true), ['dx']);
      await crossCheck(be, 'frnBackward', (m) => build(m, false), ['dgamma', 'dtau'], SUM_TOL);
    });

    it('reads and writes views at offsets', async () => {
      const [N, C, S] = [2, 3, 13];
      const n = N * C * S;
      await crossCheck(be, 'frnForward', (m) => ({
        x: inView(m, m.rand(n), 5), N, C, S, gamma: inView(m, m.rand(C, 0.5, 1.5), 2), beta: inView(m, m.rand(C), 1), tau: inView(m, m.rand(C), 4), eps: 1e-6,
        y: view(m.f(new Array(n + 7).fill(0)), 7, n), rstd: view(m.f(new Array(N * C + 3).fill(0)), 2, N * C),
      }), ['y', 'rstd']);
    });
  });

  describe('EvoNorm-S0', () => {
    const shapes: [number, number, number, number][] = [[2, 1, 6, 9], [2, 2, 3, 9], [3, 4, 2, 25], [1, 8, 1, 1], [1, 2, 2, 40_000], [2, 3, 5, 7]];
    for (const [N, G, Cg, S] of shapes) {
      const C = G * Cg;
      const n = N * C * S;
      const what = `${G} groups of ${Cg} channels, S = ${S}, N = ${N}`;
      // Groups of 80000 values are summed in another order than the CPU's.
      const tol = Cg * S > 1000 ? { rtol: 1e-3, atol: 1e-4 } : SUM_TOL;
      it(`normalizes by the group variance and gates with sigmoid(v x): ${what}`, async () => {
        await crossCheck(be, 'evoNormS0Forward', (m) => ({
          x: m.f(m.rand(n, -2, 3)), N, G, Cg, S, v: m.f(m.rand(C)), w: pos(m, C), b: m.f(m.rand(C)), eps: 1e-5, y: m.empty(n), mean: m.empty(N * G), rstd: m.empty(N * G),
        }), ['y', 'mean', 'rstd'], tol);
      });
      it(`computes every gradient of EvoNorm-S0: ${what}`, async () => {
        await crossCheck(be, 'evoNormS0Backward', (m) => {
          const x = m.f(m.rand(n, -2, 3));
          const v = m.f(m.rand(C));
          const w = pos(m, C);
          const mean = m.empty(N * G);
          const rstd = m.empty(N * G);
          on(x).evoNormS0Forward({ x, N, G, Cg, S, v, w, b: m.f(m.rand(C)), eps: 1e-5, y: m.empty(n), mean, rstd });
          return { x, dy: m.f(m.rand(n)), N, G, Cg, S, v, w, mean, rstd, dx: m.empty(n), dv: m.empty(C), dw: m.empty(C), db: m.empty(C) };
        }, ['dx', 'dv', 'dw', 'db'], tol);
      });
    }

    it('skips the gradients given as null', async () => {
      const [N, G, Cg, S] = [2, 2, 2, 5];
      const C = G * Cg;
      const n = N * C * S;
      const build = (m: Maker, dxOnly: boolean) => {
        const x = m.f(m.rand(n));
        const v = m.f(m.rand(C));
        const w = pos(m, C);
        const mean = m.empty(N * G);
        const rstd = m.empty(N * G);
        on(x).evoNormS0Forward({ x, N, G, Cg, S, v, w, b: m.f(m.rand(C)), eps: 1e-5, y: m.empty(n), mean, rstd });
        return { x, dy: m.f(m.rand(n)), N, G, Cg, S, v, w, mean, rstd, dx: dxOnly ? m.empty(n) : null, dv: dxOnly ? null : m.empty(C), dw: null, db: dxOnly ? null : m.empty(C) };
      };
      await crossCheck(be, 'evoNormS0Backward', (m) => build(m, true), ['dx']);
      await crossCheck(be, 'evoNormS0Backward', (m) => build(m, false), ['dv', 'db'], SUM_TOL);
    });
  });

  describe('EvoNorm-B0', () => {
    const shapes: [number, number, number][] = [[2, 3, 9], [4, 2, 1], [3, 5, 31], [1, 2, 50_000], [2, 4, 300]];
    for (const [N, C, S] of shapes) {
      const n = N * C * S;
      // Rows of 50000 values are summed in another order than the CPU's.
      const tol = S > 1000 ? { rtol: 1e-3, atol: 1e-4 } : SUM_TOL;
      for (const training of [true, false]) {
        const what = `[${N}, ${C}, ${S}] in ${training ? 'training (batch variance)' : 'eval (running variance)'}`;
        /** x, the variance the kernels take and, in training, the batch mean, as evoNormB0 makes them. */
        const stats = (m: Maker) => {
          const xs = m.rand(n, -2, 3);
          if (!training) return { x: m.f(xs), variance: pos(m, C), batchMean: null };
          const { mean, variance } = batchStats(xs, N, C, S);
          return { x: m.f(xs), variance: m.f(variance), batchMean: m.f(mean) };
        };
        it(`divides by the larger of the batch and instance terms: ${what}`, async () => {
          await crossCheck(be, 'evoNormB0Forward', (m) => {
            const { x, variance } = stats(m);
            return { x, N, C, S, variance, v: m.f(m.rand(C)), w: pos(m, C), b: m.f(m.rand(C)), eps: 1e-3, y: m.empty(n), mean: m.empty(N * C), sd: m.empty(N * C) };
          }, ['y', 'mean', 'sd'], tol);
        });
        it(`computes every gradient of EvoNorm-B0: ${what}`, async () => {
          await crossCheck(be, 'evoNormB0Backward', (m) => {
            const { x, variance, batchMean } = stats(m);
            const v = m.f(m.rand(C));
            const w = pos(m, C);
            const mean = m.empty(N * C);
            const sd = m.empty(N * C);
            on(x).evoNormB0Forward({ x, N, C, S, variance, v, w, b: m.f(m.rand(C)), eps: 1e-3, y: m.empty(n), mean, sd });
            return {
              x, dy: m.f(m.rand(n)), N, C, S, variance, v, w, eps: 1e-3, mean, sd, batchMean, dx: m.empty(n), dv: m.empty(C), dw: m.empty(C), db: m.empty(C),
            };
          }, ['dx', 'dv', 'dw', 'db'], tol);
        });
      }
    }

    it('splits the gradient in half where the two terms tie', async () => {
      // v = 0 gives r = sd for every value of a row; with eps = 1 the rows' sd (sqrt(5.25 + 1),
      // sqrt(1 + 1)) and left (sqrt(4.25 + 1), sqrt(1 + 1)) are the same floats: r == left.
      const [N, C, S] = [1, 2, 8];
      const n = N * C * S;
      await crossCheck(be, 'evoNormB0Backward', (m) => {
        const x = m.f([0, 1, 2, 3, 4, 5, 6, 7, 1, 1, 1, 1, 3, 3, 3, 3]);
        const variance = m.f([4.25, 1]);
        const v = m.f([0, 0]);
        const w = m.f([1, 2]);
        const mean = m.empty(N * C);
        const sd = m.empty(N * C);
        on(x).evoNormB0Forward({ x, N, C, S, variance, v, w, b: m.f([0, 0]), eps: 1, y: m.empty(n), mean, sd });
        return { x, dy: m.f(m.rand(n)), N, C, S, variance, v, w, eps: 1, mean, sd, batchMean: null, dx: m.empty(n), dv: m.empty(C), dw: m.empty(C), db: m.empty(C) };
      }, ['dx', 'dv', 'dw', 'db'], SUM_TOL);
    });

    it('skips the gradients given as null', async () => {
      const [N, C, S] = [2, 3, 7];
      const n = N * C * S;
      for (const dxOnly of [true, false]) {
        await crossCheck(be, 'evoNormB0Backward', (m) => {
          const xs = m.rand(n);
          const st = batchStats(xs, N, C, S);
          const x = m.f(xs);
          const batchMean = m.f(st.mean);
          const variance = m.f(st.variance);
          const v = m.f(m.rand(C));
          const w = pos(m, C);
          const mean = m.empty(N * C);
          const sd = m.empty(N * C);
          on(x).evoNormB0Forward({ x, N, C, S, variance, v, w, b: m.f(m.rand(C)), eps: 1e-3, y: m.empty(n), mean, sd });
          return {
            x, dy: m.f(m.rand(n)), N, C, S, variance, v, w, eps: 1e-3, mean, sd, batchMean,
            dx: dxOnly ? m.empty(n) : null, dv: dxOnly ? null : m.empty(C), dw: dxOnly ? null : m.empty(C), db: null,
          };
        }, dxOnly ? ['dx'] : ['dv', 'dw'], SUM_TOL);
      }
    });
  });

  describe('LocalResponseNorm', () => {
    const cases: { N: number; C: number; S: number; size: number; alpha?: number; beta?: number; k?: number }[] = [
      { N: 2, C: 7, S: 9, size: 5 },
      { N: 2, C: 7, S: 9, size: 1 },
      { N: 2, C: 6, S: 5, size: 2 },
      { N: 1, C: 3, S: 11, size: 5 },
      { N: 2, C: 1, S: 7, size: 2 },
      { N: 1, C: 2, S: 3, size: 5 },
      { N: 2, C: 16, S: 33, size: 5, alpha: 1e-2, beta: 0.5, k: 2 },
      { N: 1, C: 9, S: 13, size: 3, alpha: 0.1, beta: 1, k: 0.5 },
      { N: 1, C: 96, S: 55 * 55, size: 5, alpha: 1e-4, beta: 0.75, k: 2 },
    ];
    for (const c of cases) {
      const { N, C, S, size } = c;
      const alpha = c.alpha ?? 1e-1;
      const beta = c.beta ?? 0.75;
      const k = c.k ?? 1;
      const n = N * C * S;
      const what = `size ${size} over ${C} channels (N = ${N}, S = ${S}, alpha ${alpha}, beta ${beta}, k ${k})`;
      it(`normalizes by the window of squares: ${what}`, async () => {
        await crossCheck(be, 'localResponseNormForward', (m) => ({ x: m.f(m.rand(n, -3, 3)), N, C, S, size, alpha, beta, k, y: m.empty(n) }), ['y']);
      });
      it(`computes the input gradient: ${what}`, async () => {
        await crossCheck(be, 'localResponseNormBackward', (m) => ({
          x: m.f(m.rand(n, -3, 3)), dy: m.f(m.rand(n)), N, C, S, size, alpha, beta, k, dx: m.empty(n),
        }), ['dx']);
      });
    }

    it('gives powf values where the window term is zero or negative', async () => {
      for (const beta of [0.75, 2, 3, 0.5]) {
        await crossCheck(be, 'localResponseNormForward', (m) => ({
          x: m.f([0, 1, -2, 0, 0.5, 0, 3, -1, 0, 0, 0, 2]), N: 1, C: 4, S: 3, size: 3, alpha: -1, beta, k: 0, y: m.empty(12),
        }), ['y']);
      }
    });

    it('reads and writes views at offsets', async () => {
      const [N, C, S] = [2, 5, 6];
      const n = N * C * S;
      await crossCheck(be, 'localResponseNormBackward', (m) => ({
        x: inView(m, m.rand(n), 3), dy: inView(m, m.rand(n), 8), N, C, S, size: 3, alpha: 0.2, beta: 0.75, k: 1, dx: view(m.f(new Array(n + 4).fill(0)), 4, n),
      }), ['dx']);
    });
  });

  it('names the kernel and the argument when a storage is too short', () => {
    const x = be.zeros(10);
    assert.throws(
      () => be.frnForward({ x, N: 1, C: 2, S: 5, gamma: be.zeros(1), beta: be.zeros(2), tau: null, eps: 1e-6, y: be.zeros(10), rstd: be.zeros(2) }),
      /frnForward: gamma must hold at least 2 values, got 1/,
    );
    assert.throws(
      () => be.localResponseNormForward({ x, N: 1, C: 2, S: 5, size: 0, alpha: 1, beta: 1, k: 1, y: be.zeros(10) }),
      /localResponseNormForward: size must be a positive window size/,
    );
  });
});
