// Spectral normalization (Miyato et al. 2018) as torch.nn.utils.spectral_norm: the parameter
// `name` is replaced by `${name}_orig` (trained) and the buffers `${name}_u`, `${name}_v`
// (persisted power-iteration vectors), and w = w_orig / sigma with
// sigma = u . (W v), W = w_orig with dim `dim` moved first, reshaped to (h, rest).
// Each training forward first runs nPowerIterations steps v = normalize(W^T u),
// u = normalize(W v) (normalize(a) = a / max(||a||, eps)) without gradient, updating u and v in
// place; eval uses the stored u and v. The gradient reaches w_orig through w_orig / sigma and
// through sigma, with u and v constants.
import { Module, Parameter } from '../module.js';
import type { Tensor } from '../../tensor/tensor.js';
import { traceOp, untraced } from '../../autograd/trace.js';
import { noGrad } from '../../autograd/graph.js';
import { randn } from '../../tensor/create.js';
import { permute, slice } from '../../ops/shape.js';
import { copyInto_ } from '../../ops/norm.js';

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

/** a / max(||a||, eps), on a's device (called under noGrad). */
function normalized(a: Tensor, eps: number): Tensor {
  return a.div(a.mul(a).sum().sqrt().clamp(eps, null));
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
  // u0 then v0 from one seeded stream of normal samples, on the weight's device.
  const r = randn([h + cols], { seed: options.seed ?? 0, device: w.device });
  const u0 = noGrad(() => normalized(slice(r, 0, 0, h), eps));
  const v0 = noGrad(() => normalized(slice(r, 0, h, h + cols), eps));
  const orig = new Parameter(w.detach().clone());
  module.removeParameter(name);
  const reg = module as unknown as Registrar;
  reg.registerParameter(`${name}_orig`, orig);
  const u = reg.registerBuffer(`${name}_u`, u0)!;
  const v = reg.registerBuffer(`${name}_v`, v0)!;

  const state: SpectralNormState = { forward: module.forward, getParameter: module.getParameter, dim };
  states.set(name, state);
  applied.set(module, states);
  const compute = (powerIteration: boolean): Tensor => {
    const out = untraced(() => {
      const W = weightMatrix(orig, dim);
      if (powerIteration) {
        // v = normalize(W^T u), u = normalize(W v), written into the persisted buffers.
        noGrad(() => {
          for (let k = 0; k < iters; k++) {
            copyInto_(v, normalized(u.reshape([1, h]).matmul(W).reshape([cols]), eps), fn);
            copyInto_(u, normalized(W.matmul(v.reshape([cols, 1])).reshape([h]), eps), fn);
          }
        });
      }
      // Copies: u and v are constants of this forward's graph while later forwards update them.
      const uc = u.detach().clone().reshape([1, h]);
      const vc = v.detach().clone().reshape([cols, 1]);
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
  (module as unknown as Registrar).registerParameter(name, new Parameter(w.detach().clone()));
  states!.delete(name);
  return module;
}
