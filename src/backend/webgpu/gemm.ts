// WebGPU SGEMM (WGSL) and the tiled matrix-product kernel template that the convolutions share.
// A workgroup of 256 invocations computes a 64 x 64 tile of C; each invocation holds 4 x 4
// accumulators at rows ty + 16*i and columns tx + 16*j (i, j < 4), so the shared-memory reads of
// one step hit 16 different addresses per row. K advances in steps of 16 through two shared tiles
// (A: 64 x 16, B: 16 x 64), each loaded by all 256 invocations, 4 values each.
import type { GemmKernels } from '../kernels/gemm.js';
import type { GpuRuntime, KernelSpec, ParamDecl, StorageBinding } from './runtime.js';
import { gpuStorage } from './storage.js';

export const TILE = 64;
const KSTEP = 16;

/**
 * A tiled product kernel: C[m, n] = sum over k < P.K of load_a(z, m, k) * load_b(z, k, n), for
 * m < P.M and n < P.N, handed to store(z, m, n, value). `functions` defines load_a, load_b and
 * store (z is the grid's third index: a convolution group or a split of K); load_a/load_b
 * return 0 outside the matrix. Params must include M, N, K (u32) and the flags a_kfast (A's
 * consecutive k are adjacent in memory) and b_nfast (B's consecutive n are), which pick the
 * coalesced tile-load order. The grid is [ceil(N / 64), ceil(M / 64), Z].
 */
export function tiledProduct(name: string, storages: StorageBinding[], params: ParamDecl[], functions: string): KernelSpec {
  return {
    name,
    storages,
    params,
    workgroupSize: [256],
    moduleScope: `
var<workgroup> As: array<f32, ${TILE * KSTEP}>;
var<workgroup> Bs: array<f32, ${TILE * KSTEP}>;
${functions}`,
    body: `
  let z = wid.z;
  let m0 = wid.y * ${TILE}u;
  let n0 = wid.x * ${TILE}u;
  let tx = lidx % 16u;
  let ty = lidx / 16u;
  var acc: array<array<f32, 4>, 4>;
  for (var k0 = 0u; k0 < P.K; k0 += ${KSTEP}u) {
    for (var l = 0u; l < 4u; l++) {
      let e = lidx + l * 256u;
      var mm: u32; var ka: u32;
      if (P.a_kfast != 0u) { mm = e / ${KSTEP}u; ka = e % ${KSTEP}u; } else { ka = e / ${TILE}u; mm = e % ${TILE}u; }
      var av = 0.0;
      if (m0 + mm < P.M && k0 + ka < P.K) { av = load_a(z, m0 + mm, k0 + ka); }
      As[ka * ${TILE}u + mm] = av;
      var nn: u32; var kb: u32;
      if (P.b_nfast != 0u) { kb = e / ${TILE}u; nn = e % ${TILE}u; } else { nn = e / ${KSTEP}u; kb = e % ${KSTEP}u; }
      var bv = 0.0;
      if (n0 + nn < P.N && k0 + kb < P.K) { bv = load_b(z, k0 + kb, n0 + nn); }
      Bs[kb * ${TILE}u + nn] = bv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${KSTEP}u; kk++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) { a[i] = As[kk * ${TILE}u + ty + 16u * i]; b[i] = Bs[kk * ${TILE}u + tx + 16u * i]; }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] = fma(a[i], b[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + ty + 16u * i;
    if (m >= P.M) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + tx + 16u * j;
      if (n < P.N) { store(z, m, n, acc[i][j]); }
    }
  }`,
  };
}

const SGEMM = tiledProduct(
  'sgemm',
  [{ name: 'a', type: 'f32', access: 'read' }, { name: 'b', type: 'f32', access: 'read' }, { name: 'c', type: 'f32', access: 'read_write' }],
  [
    ...['M', 'N', 'K', 'a_kfast', 'b_nfast', 'transA', 'transB', 'lda', 'ldb', 'ldc'].map((name): ParamDecl => ({ name, type: 'u32' })),
    { name: 'alpha', type: 'f32' },
    { name: 'beta', type: 'f32' },
  ],
  `
fn load_a(z: u32, m: u32, k: u32) -> f32 {
  if (P.transA != 0u) { return a[P.a_off + k * P.lda + m]; }
  return a[P.a_off + m * P.lda + k];
}
fn load_b(z: u32, k: u32, n: u32) -> f32 {
  if (P.transB != 0u) { return b[P.b_off + n * P.ldb + k]; }
  return b[P.b_off + k * P.ldb + n];
}
// beta = 0 overwrites C without reading it (NaN in C does not survive), as BLAS.
fn store(z: u32, m: u32, n: u32, v: f32) {
  let at = P.c_off + m * P.ldc + n;
  if (P.beta == 0.0) { c[at] = P.alpha * v; } else { c[at] = P.alpha * v + P.beta * c[at]; }
}`,
);

function dim(fn: string, arg: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${fn}: ${arg} must be an integer >= ${min}, got ${v}`);
  return v;
}

export function webgpuGemmKernels(rt: GpuRuntime): GemmKernels {
  return {
    sgemm(p) {
      const fn = 'sgemm';
      const M = dim(fn, 'M', p.M, 0), N = dim(fn, 'N', p.N, 0), K = dim(fn, 'K', p.K, 0);
      const lda = dim(fn, 'lda', p.lda, Math.max(1, p.transA ? M : K));
      const ldb = dim(fn, 'ldb', p.ldb, Math.max(1, p.transB ? K : N));
      const ldc = dim(fn, 'ldc', p.ldc, Math.max(1, N));
      const a = gpuStorage(p.a, 'sgemm (a)'), b = gpuStorage(p.b, 'sgemm (b)'), c = gpuStorage(p.c, 'sgemm (c)');
      const need = (rows: number, cols: number, ld: number): number => (rows === 0 || cols === 0 ? 0 : (rows - 1) * ld + cols);
      if (a.length < need(p.transA ? K : M, p.transA ? M : K, lda)) throw new RangeError(`sgemm: a holds ${a.length} values, too few for ${p.transA ? `${K}x${M}` : `${M}x${K}`} with lda ${lda}`);
      if (b.length < need(p.transB ? N : K, p.transB ? K : N, ldb)) throw new RangeError(`sgemm: b holds ${b.length} values, too few for ${p.transB ? `${N}x${K}` : `${K}x${N}`} with ldb ${ldb}`);
      if (c.length < need(M, N, ldc)) throw new RangeError(`sgemm: c holds ${c.length} values, too few for ${M}x${N} with ldc ${ldc}`);
      if (M === 0 || N === 0) return;
      rt.run(SGEMM, [a, b, c], {
        M, N, K, a_kfast: !p.transA, b_nfast: !p.transB, transA: p.transA, transB: p.transB, lda, ldb, ldc, alpha: p.alpha, beta: p.beta,
      }, [Math.ceil(N / TILE), Math.ceil(M / TILE), 1]);
    },
  };
}
