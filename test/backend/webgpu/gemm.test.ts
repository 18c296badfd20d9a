import { describe, it } from 'node:test';
import { crossCheck, webgpuBackend, webgpuSkipReason } from '../../helpers/webgpu.js';

const gpu = webgpuBackend();

describe('WebGPU SGEMM against the CPU', { skip: webgpuSkipReason }, () => {
  const be = gpu!;
  const sizes: [number, number, number][] = [[1, 1, 1], [7, 5, 3], [65, 33, 17], [130, 70, 129], [64, 64, 64], [3, 200, 1]];
  for (const [M, N, K] of sizes) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        it(`multiplies ${M}x${K} by ${K}x${N} (transA ${transA}, transB ${transB}) with alpha 1.5 and beta 0.5`, async () => {
          const lda = transA ? M : K, ldb = transB ? K : N;
          await crossCheck(be, 'sgemm', (m) => ({
            transA, transB, M, N, K, alpha: 1.5, a: m.f(m.rand(M * K)), lda, b: m.f(m.rand(K * N)), ldb, beta: 0.5, c: m.f(m.rand(M * N)), ldc: N,
          }), ['c'], { rtol: 1e-4, atol: 1e-5 });
        });
      }
    }
  }

  it('overwrites a NaN-filled c when beta is 0', async () => {
    await crossCheck(be, 'sgemm', (m) => ({
      transA: false, transB: false, M: 9, N: 11, K: 5, alpha: 1, a: m.f(m.rand(45)), lda: 5, b: m.f(m.rand(55)), ldb: 11, beta: 0, c: m.f(new Array(99).fill(NaN)), ldc: 11,
    }), ['c']);
  });

  it('honours row strides larger than the matrices (sub-blocks of bigger arrays)', async () => {
    await crossCheck(be, 'sgemm', (m) => ({
      transA: false, transB: true, M: 6, N: 5, K: 4, alpha: 1, a: m.f(m.rand(6 * 9)), lda: 9, b: m.f(m.rand(5 * 7)), ldb: 7, beta: 1, c: m.f(m.rand(6 * 8)), ldc: 8,
    }), ['c']);
  });

  it('scales c by beta when K is 0', async () => {
    await crossCheck(be, 'sgemm', (m) => ({
      transA: false, transB: false, M: 3, N: 4, K: 0, alpha: 1, a: m.f([0]), lda: 1, b: m.f([0]), ldb: 4, beta: 2, c: m.f(m.rand(12)), ldc: 4,
    }), ['c']);
  });
});
