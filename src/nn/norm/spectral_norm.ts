// Spectral normalization (Miyato et al. 2018) as torch.nn.utils.spectral_norm: the parameter
// `name` is replaced by `${name}_orig` (trained) and the buffers `${name}_u`, `${name}_v`
// (persisted power-iteration vectors), and w = w_orig / sigma with
// sigma = u . (W v), W = w_orig with dim `dim` moved first, reshaped to (h, rest).
// Each training forward first runs nPowerIterations steps v = normalize(W^T u),
// u = normalize(W v) (normalize(a) = a / max(||a||, eps)) without gradient, updating u and v in
// place; eval uses the stored u and v. The gradient reaches w_orig through w_orig / sigma and
// through sigma, with u and v constants.
import { Module, Parameter } from '../module.js';
import { Tensor } from '../../tensor/tensor.js';
import { traceOp, untraced } from '../../autograd/trace.js';
import { Generator } from '../../tensor/random.js';
import { permute } from '../../ops/shape.js';

type Registrar = {
  registerParameter(name: string, p: Parameter | null): Parameter | null;
  registerBuffer(name: string, t: Tensor | null): Tensor | null;
};

export interface SpectralNormOptions {
  nPowerIterations?: number;
  eps?: number;
  /** The output dim of the weight (default 0). */
  dim?: number;
  /** Seed of the initial random u and v (default 0). */
  seed?: number;
}

interface SpectralNormState {
  forward: Module['forward'];
  getParameter: Module['getParameter'];
  dim: number;
}

const applied = new WeakMap<Module, Map<string, SpectralNormState>>();

/** The weight with `dim` first, as an (h, w) matrix (row-major values). */
function weightMatrix(w: Tensor, dim: number): Tensor {
  const moved = dim === 0 ? w : permute(w, [dim, ...w.shape.map((_, i) => i).filter((i) => i !== dim)]);
  return moved.reshape([w.shape[dim], -1]);
}

function normalizeInPlace(a: Float32Array, eps: number): void {
  let s = 0;
  for (const v of a) s += v * v;
  const d = Math.max(Math.sqrt(s), eps);
  for (let i = 0; i < a.length; i++) a[i] /= d;
}

/** out = W v (transposed false) or W^T u (transposed true) for a row-major (h, w) matrix. */
function matVec(W: Float32Array, h: number, w: number, x: Float32Array, transposed: boolean): Float32Array {
  const out = new Float32Array(transposed ? w : h);
  if (transposed) {
    const acc = new Float64Array(w);
    for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) acc[j] += W[i * w + j] * x[i];
    out.set(acc);
  } else {
    for (let i = 0; i < h; i++) {
      let s = 0;
      for (let j = 0; j < w; j++) s += W[i * w + j] * x[j];
      out[i] = s;
    }
  }
  return out;
}

/**
 * Spectral-normalizes `module`'s parameter `name` (default 'weight'). Returns the module. The
 * normalized weight is recomputed once per forward; module.getParameter(name) returns it.
 */
export function spectralNorm<M extends Module>(module: M, name = 'weight', options: SpectralNormOptions = {}): M {
  const fn = 'spectralNorm';
  const w = module.getParameter(name);
  if (w === null) throw new Error(`${fn}: ${module.constructor.name} has no parameter named '${name}'`);
  const states = applied.get(module) ?? new Map<string, SpectralNormState>();
  if (states.has(name)) throw new Error(`${fn}: parameter '${name}' of ${module.constructor.name} is already spectral-normalized`);
  const iters = options.nPowerIterations ?? 1;
  if (!Number.isInteger(iters) || iters < 0) throw new RangeError(`${fn}: nPowerIterations must be an integer >= 0, got ${iters}`);
  const eps = options.eps ?? 1e-12;
  const dim = options.dim ?? 0;
  if (!Number.isInteger(dim) || dim < 0 || dim >= w.ndim) throw new RangeError(`${fn}: dim must be in [0, ${w.ndim - 1}], got ${dim} (weight shape [${w.shape.join(', ')}])`);
  const h = w.shape[dim];
  const cols = w.size / h;
  const gen = new Generator(options.seed ?? 0);
  const u0 = Float32Array.from({ length: h }, () => gen.normal());
  const v0 = Float32Array.from({ length: cols }, () => gen.normal());
  normalizeInPlace(u0, eps);
  normalizeInPlace(v0, eps);
  const orig = new Parameter(w.buffer.slice(), w.shape);
  module.removeParameter(name);
  const reg = module as unknown as Registrar;
  reg.registerParameter(`${name}_orig`, orig);
  const u = reg.registerBuffer(`${name}_u`, new Tensor(u0, [h]))!;
  const v = reg.registerBuffer(`${name}_v`, new Tensor(v0, [cols]))!;

  const state: SpectralNormState = { forward: module.forward, getParameter: module.getParameter, dim };
  states.set(name, state);
  applied.set(module, states);
  const compute = (powerIteration: boolean): Tensor => {
    const out = untraced(() => {
      const W = weightMatrix(orig, dim);
      if (powerIteration) {
        for (let k = 0; k < iters; k++) {
          const nv = matVec(W.buffer, h, cols, u.buffer, true);
          normalizeInPlace(nv, eps);
          v.buffer.set(nv);
          const nu = matVec(W.buffer, h, cols, v.buffer, false);
          normalizeInPlace(nu, eps);
          u.buffer.set(nu);
        }
      }
      const uc = new Tensor(u.buffer.slice(), [1, h]);
      const vc = new Tensor(v.buffer.slice(), [cols, 1]);
      const sigma = uc.matmul(W.matmul(vc)).reshape([]);
      return orig.div(sigma);
    });
    traceOp('spectralNormWeight', [orig], out, {});
    return out;
  };
  let current: Tensor | null = null;
  module.getParameter = (n: string) => (n === name ? (current ?? compute(false)) : state.getParameter.call(module, n));
  const inner = module.forward;
  module.forward = (...inputs: Tensor[]) => {
    current = compute(module.training);
    try {
      return inner.apply(module, inputs);
    } finally {
      current = null;
    }
  };
  return module;
}

/** Undoes spectralNorm: bakes w_orig / sigma (stored u, v) back into a plain parameter `name`. */
export function removeSpectralNorm<M extends Module>(module: M, name = 'weight'): M {
  const states = applied.get(module);
  const state = states?.get(name);
  if (state === undefined) throw new Error(`removeSpectralNorm: parameter '${name}' of ${module.constructor.name} is not spectral-normalized`);
  const w = module.getParameter(name)!;
  module.forward = state.forward;
  module.getParameter = state.getParameter;
  module.removeParameter(`${name}_orig`);
  module.removeBuffer(`${name}_u`);
  module.removeBuffer(`${name}_v`);
  (module as unknown as Registrar).registerParameter(name, new Parameter(w.buffer.slice(), w.shape));
  states!.delete(name);
  return module;
}
