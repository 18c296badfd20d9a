// WebGPU SGEMM (WGSL), implementing GemmKernels of kernels/gemm.ts on the runtime's storage, and
// the tiled matrix-product kernel generator the convolution kernels (conv.ts) reuse with their
// own operand index maps (implicit GEMM).
//
// Tiling: a workgroup of 256 invocations (TX x TY) computes a BM x BN block of C, BM = TY*4*RG and
// BN = TX*4*CG; invocation (tx, ty) owns the rows g*TY*4 + ty*4 + [0, 4) for g < RG and the
// columns h*TX*4 + tx*4 + [0, 4) for h < CG (4 x 4 register blocks spread over the tile, so the
// shared-memory reads of neighbouring invocations are consecutive vec4s). Each K step of BK
// stages op(A)[BM, BK] and op(B)[BK, BN] in workgroup memory, k-major as vec4s (row stride
// BM/4 + 1 vec4s: the padding spreads the transposing stores over the memory banks), double
// buffered: the global loads of step t+1 are issued into registers before the product of step
// t, stored into the other buffer after it, and one barrier per step separates them. Global
// loads are coalesced: consecutive invocations read consecutive elements along the operand's
// contiguous axis. Edges: elements outside [0, M) x [0, K) (or [0, K) x [0, N)) load as 0 and
// stores outside [0, M) x [0, N) are skipped, so any M, N, K (including 1) is exact.
import type { GemmKernels, SgemmArgs } from '../kernels/gemm.js';
import type { GpuRuntime, KernelSpec, ParamDecl, StorageBinding } from './runtime.js';
import { gpuStorage } from './storage.js';

/** Invocation layout and tile shape of one kernel variant. */
export interface TileConfig {
  /** Invocations along N and M (TX * TY = 256). */
  tx: number;
  ty: number;
  /** 4-row and 4-column register blocks per invocation. */
  rg: number;
  cg: number;
  /** K elements per staged step. */
  bk: number;
}

/** 128 x 128 tiles, 8 x 8 outputs per invocation: large products. */
export const TILE_LARGE: TileConfig = { tx: 16, ty: 16, rg: 2, cg: 2, bk: 8 };
/** 64 x 64 tiles, 4 x 4 per invocation: mid-sized products (more workgroups). */
export const TILE_MID: TileConfig = { tx: 16, ty: 16, rg: 1, cg: 1, bk: 16 };
/** 32 x 128 tiles: few rows, many columns. */
export const TILE_WIDE: TileConfig = { tx: 32, ty: 8, rg: 1, cg: 1, bk: 16 };
/** 128 x 32 tiles: many rows, few columns. */
export const TILE_TALL: TileConfig = { tx: 8, ty: 32, rg: 1, cg: 1, bk: 16 };

export const tileRows = (t: TileConfig): number => t.ty * 4 * t.rg;
export const tileCols = (t: TileConfig): number => t.tx * 4 * t.cg;

/** Workgroups a product of M x N would dispatch with tile t. */
const tileCount = (t: TileConfig, M: number, N: number): number => Math.ceil(M / tileRows(t)) * Math.ceil(N / tileCols(t));

/** Workgroups that keep a large GPU busy (one per streaming multiprocessor of an H100). */
const BUSY_WORKGROUPS = 132;

/**
 * The tile for an M x N product, by the score
 *   (useful fraction of the computed tile area) * (relative speed of a full tile)
 *   * min(1, workgroups / BUSY_WORKGROUPS),
 * where 8 x 8 register blocks (the 128 x 128 tile) count 1 and 4 x 4 blocks 0.7 (half the
 * multiply-adds per shared-memory read). Ties go to the earlier tile of the list. The choice
 * depends on the shapes only.
 */
export function chooseTile(M: number, N: number): TileConfig {
  let best = TILE_LARGE;
  let bestScore = -1;
  for (const [t, speed] of [[TILE_LARGE, 1], [TILE_MID, 0.7], [TILE_WIDE, 0.7], [TILE_TALL, 0.7]] as const) {
    const count = tileCount(t, M, N);
    const useful = (M * N) / (count * tileRows(t) * tileCols(t));
    const score = useful * speed * Math.min(1, count / BUSY_WORKGROUPS);
    if (score > bestScore) {
      best = t;
      bestScore = score;
    }
  }
  return best;
}

/**
 * A matrix product C[m, n] = sum_{k in [kBegin, kEnd)} A(m, k) * B(k, n) for m < GM, n < GN,
 * with the operands and the result given as WGSL index maps.
 */
export interface GemmTemplate {
  name: string;
  storages: readonly StorageBinding[];
  params: readonly ParamDecl[];
  /**
   * WGSL statements at the top of main defining `let GM: u32`, `GN`, `kBegin`, `kEnd` and
   * `zid` (passed to the index maps), from the builtin wid and the params only (they must be
   * uniform: they bound the loop that holds the barriers).
   */
  prelude: string;
  /** Axis of A along which consecutive elements are adjacent in memory ('m' or 'k'). */
  aContig: 'm' | 'k';
  /** Axis of B along which consecutive elements are adjacent in memory ('k' or 'n'). */
  bContig: 'k' | 'n';
  /** Body of `fn load_a(m: u32, k: u32, zid: u32) -> f32`, called for m < GM, kBegin <= k < kEnd. */
  loadA: string;
  /** Body of `fn load_b(k: u32, n: u32, zid: u32) -> f32`, called for kBegin <= k < kEnd, n < GN. */
  loadB: string;
  /** Body of `fn store_c(m: u32, n: u32, zid: u32, v: f32)`, called once for each m < GM, n < GN. */
  storeC: string;
  /** Module-scope WGSL the index maps use (helper functions). */
  helpers?: string;
}

/** Builds the kernel spec of a template on a tile configuration. */
export function gemmSpec(t: GemmTemplate, tile: TileConfig): KernelSpec {
  const { tx, ty, rg, cg, bk } = tile;
  if (tx * ty !== 256) throw new Error(`gemm tile: ${tx} x ${ty} invocations, expected 256`);
  const BM = tileRows(tile);
  const BN = tileCols(tile);
  const SA = BM / 4 + 1;
  const SB = BN / 4 + 1;
  const LA = (BM * bk) / 256;
  const LB = (BN * bk) / 256;
  if (!Number.isInteger(LA) || !Number.isInteger(LB)) throw new Error('gemm tile: a staged operand does not split evenly over 256 invocations');

  // Staged element j of this invocation: its (row, k) inside the A tile and (k, col) inside the
  // B tile. Along the contiguous axis consecutive invocations take consecutive elements.
  const aCoord = (j: number): [string, string] =>
    t.aContig === 'm' ? [`((lidx + ${256 * j}u) % ${BM}u)`, `((lidx + ${256 * j}u) / ${BM}u)`] : [`((lidx + ${256 * j}u) / ${bk}u)`, `((lidx + ${256 * j}u) % ${bk}u)`];
  const bCoord = (j: number): [string, string] =>
    t.bContig === 'n' ? [`((lidx + ${256 * j}u) / ${BN}u)`, `((lidx + ${256 * j}u) % ${BN}u)`] : [`((lidx + ${256 * j}u) % ${bk}u)`, `((lidx + ${256 * j}u) / ${bk}u)`];

  const lines: string[] = [];
  const emit = (s: string): void => {
    lines.push(s);
  };
  emit(t.prelude);
  emit(`let tx = lidx % ${tx}u;`);
  emit(`let ty = lidx / ${tx}u;`);
  emit(`let m0 = wid.y * ${BM}u;`);
  emit(`let n0 = wid.x * ${BN}u;`);
  emit(`let kLen = select(0u, kEnd - kBegin, kEnd > kBegin);`);
  emit(`let nsteps = (kLen + ${bk - 1}u) / ${bk}u;`);
  for (let j = 0; j < LA; j++) {
    const [r, k] = aCoord(j);
    emit(`let ar${j} = ${r}; let ak${j} = ${k};`);
    emit(`let as${j} = ak${j} * ${SA}u + ar${j} / 4u; let ac${j} = ar${j} % 4u;`);
    emit(`var ra${j}: f32;`);
  }
  for (let j = 0; j < LB; j++) {
    const [k, c] = bCoord(j);
    emit(`let bk${j} = ${k}; let bc${j} = ${c};`);
    emit(`let bs${j} = bk${j} * ${SB}u + bc${j} / 4u; let bq${j} = bc${j} % 4u;`);
    emit(`var rb${j}: f32;`);
  }
  const fetch = (step: string): string => {
    const out: string[] = [`let kb = kBegin + ${step} * ${bk}u;`];
    for (let j = 0; j < LA; j++) {
      out.push(`{ let m = m0 + ar${j}; let k = kb + ak${j}; ra${j} = 0.0; if (m < GM && k < kEnd) { ra${j} = load_a(m, k, zid); } }`);
    }
    for (let j = 0; j < LB; j++) {
      out.push(`{ let k = kb + bk${j}; let n = n0 + bc${j}; rb${j} = 0.0; if (n < GN && k < kEnd) { rb${j} = load_b(k, n, zid); } }`);
    }
    return out.join('\n');
  };
  const stash = (buf: string): string => {
    const out: string[] = [`let ba = (${buf}) * ${bk * SA}u;`, `let bb = (${buf}) * ${bk * SB}u;`];
    for (let j = 0; j < LA; j++) out.push(`As[ba + as${j}][ac${j}] = ra${j};`);
    for (let j = 0; j < LB; j++) out.push(`Bs[bb + bs${j}][bq${j}] = rb${j};`);
    return out.join('\n');
  };
  // Accumulators: acc_<row>_<h> holds 4 columns of register block h for row `row` (< 4*RG).
  for (let r = 0; r < 4 * rg; r++) for (let h = 0; h < cg; h++) emit(`var acc_${r}_${h} = vec4f(0.0);`);
  emit(`{ ${fetch('0u')}\n${stash('0u')} }`);
  emit('workgroupBarrier();');
  emit('for (var s = 0u; s < nsteps; s++) {');
  emit('  let cur = s % 2u;');
  emit(`  if (s + 1u < nsteps) { ${fetch('(s + 1u)')} }`);
  emit(`  let pa = cur * ${bk * SA}u + ty;`);
  emit(`  let pb = cur * ${bk * SB}u + tx;`);
  emit(`  for (var kk = 0u; kk < ${bk}u; kk++) {`);
  for (let g = 0; g < rg; g++) emit(`    let a${g} = As[pa + kk * ${SA}u + ${g * ty}u];`);
  for (let h = 0; h < cg; h++) emit(`    let b${h} = Bs[pb + kk * ${SB}u + ${h * tx}u];`);
  const comp = ['x', 'y', 'z', 'w'];
  for (let g = 0; g < rg; g++) {
    for (let i = 0; i < 4; i++) {
      for (let h = 0; h < cg; h++) emit(`    acc_${g * 4 + i}_${h} = fma(vec4f(a${g}.${comp[i]}), b${h}, acc_${g * 4 + i}_${h});`);
    }
  }
  emit('  }');
  emit(`  if (s + 1u < nsteps) { ${stash('1u - cur')} }`);
  emit('  workgroupBarrier();');
  emit('}');
  for (let g = 0; g < rg; g++) {
    for (let i = 0; i < 4; i++) {
      const r = g * 4 + i;
      emit(`{ let m = m0 + ${g * ty * 4}u + ty * 4u + ${i}u; if (m < GM) {`);
      for (let h = 0; h < cg; h++) {
        for (let q = 0; q < 4; q++) {
          emit(`  { let n = n0 + ${h * tx * 4}u + tx * 4u + ${q}u; if (n < GN) { store_c(m, n, zid, acc_${r}_${h}.${comp[q]}); } }`);
        }
      }
      emit('} }');
    }
  }

  const moduleScope = [
    `var<workgroup> As: array<vec4f, ${2 * bk * SA}>;`,
    `var<workgroup> Bs: array<vec4f, ${2 * bk * SB}>;`,
    t.helpers ?? '',
    `fn load_a(m: u32, k: u32, zid: u32) -> f32 {\n${t.loadA}\n}`,
    `fn load_b(k: u32, n: u32, zid: u32) -> f32 {\n${t.loadB}\n}`,
    `fn store_c(m: u32, n: u32, zid: u32, v: f32) {\n${t.storeC}\n}`,
  ].join('\n');
  return {
    name: `${t.name}_${BM}x${BN}x${bk}`,
    storages: t.storages,
    params: t.params,
    workgroupSize: [256],
    moduleScope,
    body: lines.join('\n'),
  };
}

/** Specs built on first use, one per template variant and tile (the runtime caches pipelines per spec object). */
export class SpecCache {
  private readonly specs = new Map<string, KernelSpec>();
  get(key: string, tile: TileConfig, make: () => GemmTemplate): KernelSpec {
    const k = `${key}/${tileRows(tile)}x${tileCols(tile)}x${tile.bk}`;
    let s = this.specs.get(k);
    if (s === undefined) {
      s = gemmSpec(make(), tile);
      this.specs.set(k, s);
    }
    return s;
  }
}

// SGEMM: op(a)[m, k] = a[m*lda + k] (a[k*lda + m] when transA), op(b)[k, n] = b[k*ldb + n]
// (b[n*ldb + k] when transB), c[m*ldc + n] = alpha * sum + beta * c[m*ldc + n], c not read when
// beta = 0. With alpha = 0 or K = 0 the host passes kLen = 0: c = beta * c without reading a or
// b (as the CPU kernel, so NaN or Inf in a and b does not reach c).
function sgemmTemplate(transA: boolean, transB: boolean): GemmTemplate {
  return {
    name: `sgemm_${transA ? 't' : 'n'}${transB ? 't' : 'n'}`,
    storages: [
      { name: 'a', type: 'f32', access: 'read' },
      { name: 'b', type: 'f32', access: 'read' },
      { name: 'c', type: 'f32', access: 'read_write' },
    ],
    params: [
      { name: 'M', type: 'u32' },
      { name: 'N', type: 'u32' },
      { name: 'kLen', type: 'u32' },
      { name: 'lda', type: 'u32' },
      { name: 'ldb', type: 'u32' },
      { name: 'ldc', type: 'u32' },
      { name: 'alpha', type: 'f32' },
      { name: 'beta', type: 'f32' },
    ],
    prelude: 'let GM = P.M; let GN = P.N; let kBegin = 0u; let kEnd = P.kLen; let zid = 0u;',
    aContig: transA ? 'm' : 'k',
    bContig: transB ? 'k' : 'n',
    loadA: transA ? 'return a[P.a_off + k * P.lda + m];' : 'return a[P.a_off + m * P.lda + k];',
    loadB: transB ? 'return b[P.b_off + n * P.ldb + k];' : 'return b[P.b_off + k * P.ldb + n];',
    storeC: [
      'let i = P.c_off + m * P.ldc + n;',
      'if (P.beta == 0.0) { c[i] = P.alpha * v; } else { c[i] = P.alpha * v + P.beta * c[i]; }',
    ].join('\n'),
  };
}

const sgemmSpecs = new SpecCache();

/** Throws unless v is an integer >= min, naming the kernel and argument. */
export function checkInt(fn: string, name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new RangeError(`${fn}: ${name} must be an integer >= ${min}, got ${String(v)}`);
  return v;
}

function sgemm(rt: GpuRuntime, args: SgemmArgs): void {
  const fn = 'sgemm';
  const M = checkInt(fn, 'M', args.M, 0);
  const N = checkInt(fn, 'N', args.N, 0);
  const K = checkInt(fn, 'K', args.K, 0);
  const lda = checkInt(fn, 'lda', args.lda, 0);
  const ldb = checkInt(fn, 'ldb', args.ldb, 0);
  const ldc = checkInt(fn, 'ldc', args.ldc, 0);
  if (typeof args.alpha !== 'number' || typeof args.beta !== 'number') throw new TypeError(`${fn}: alpha and beta must be numbers`);
  const ta = Boolean(args.transA);
  const tb = Boolean(args.transB);
  const a = gpuStorage(args.a, `${fn} (a)`);
  const b = gpuStorage(args.b, `${fn} (b)`);
  const c = gpuStorage(args.c, `${fn} (c)`);
  // Elements each operand must hold, as the CPU kernel checks: the last row's start plus its length.
  const needA = M * K === 0 ? 0 : (ta ? K - 1 : M - 1) * lda + (ta ? M : K);
  const needB = K * N === 0 ? 0 : (tb ? N - 1 : K - 1) * ldb + (tb ? K : N);
  const needC = M * N === 0 ? 0 : (M - 1) * ldc + N;
  for (const [name, s, need] of [['a', a, needA], ['b', b, needB], ['c', c, needC]] as const) {
    if (s.length < need) throw new RangeError(`${fn}: ${name} must hold at least ${need} floats, got ${s.length}`);
  }
  if (M === 0 || N === 0) return;
  const tile = chooseTile(M, N);
  const spec = sgemmSpecs.get(`${ta}${tb}`, tile, () => sgemmTemplate(ta, tb));
  const kLen = args.alpha === 0 ? 0 : K;
  rt.run(spec, [a, b, c], { M, N, kLen, lda, ldb, ldc, alpha: args.alpha, beta: args.beta }, [
    Math.ceil(N / tileCols(tile)),
    Math.ceil(M / tileRows(tile)),
    1,
  ]);
}

export function webgpuGemmKernels(rt: GpuRuntime): GemmKernels {
  return { sgemm: (args) => sgemm(rt, args) };
}
