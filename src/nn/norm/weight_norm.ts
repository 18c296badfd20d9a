// Weight normalization (Salimans & Kingma 2016) as torch.nn.utils.weight_norm: the parameter
// `name` is replaced by `${name}_g` (magnitude) and `${name}_v` (direction), and
// w = g * v / ||v||, the norm taken over every dim except `dim`.
import { Module, Parameter } from '../module.js';
import type { Tensor } from '../../tensor/tensor.js';
import { normExceptDim } from '../../ops/norm.js';
import { noGrad } from '../../autograd/graph.js';

// Module keeps registerParameter protected; weightNorm adds parameters to a module it wraps.
type Registrar = { registerParameter(name: string, p: Parameter | null): Parameter | null };

interface WeightNormState {
  name: string;
  dim: number | null;
  forward: Module['forward'];
  getParameter: Module['getParameter'];
}

const applied = new WeakMap<Module, Map<string, WeightNormState>>();

/**
 * Reparameterizes `module`'s parameter `name`. The module's forward is wrapped so that the weight
 * is recomputed from weight_g and weight_v once per forward; module.getParameter(name) returns
 * it (a tensor of the graph, so gradients reach g and v). dim = -1 or null: one norm over the
 * whole tensor (g of shape []), as PyTorch's dim=None. Returns the module.
 */
export function weightNorm<M extends Module>(module: M, name = 'weight', dim: number | null = 0): M {
  const fn = 'weightNorm';
  const w = module.getParameter(name);
  if (w === null) throw new Error(`${fn}: ${module.constructor.name} has no parameter named '${name}'`);
  const states = applied.get(module) ?? new Map<string, WeightNormState>();
  if (states.has(name)) throw new Error(`${fn}: parameter '${name}' of ${module.constructor.name} is already weight-normalized`);
  const g0 = noGrad(() => normExceptDim(w, dim));
  const g = new Parameter(g0);
  const v = new Parameter(w.detach().clone());
  module.removeParameter(name);
  const reg = module as unknown as Registrar;
  reg.registerParameter(`${name}_g`, g);
  reg.registerParameter(`${name}_v`, v);

  const state: WeightNormState = { name, dim, forward: module.forward, getParameter: module.getParameter };
  states.set(name, state);
  applied.set(module, states);
  const compute = (): Tensor => v.mul(g.div(normExceptDim(v, dim)));
  let current: Tensor | null = null;
  module.getParameter = (n: string) => (n === name ? (current ?? compute()) : state.getParameter.call(module, n));
  const inner = module.forward;
  module.forward = (...inputs: Tensor[]) => {
    current = compute();
    try {
      return inner.apply(module, inputs);
    } finally {
      current = null;
    }
  };
  return module;
}

/** Undoes weightNorm: bakes w = g * v / ||v|| back into a plain parameter `name`. */
export function removeWeightNorm<M extends Module>(module: M, name = 'weight'): M {
  const states = applied.get(module);
  const state = states?.get(name);
  if (state === undefined) throw new Error(`removeWeightNorm: parameter '${name}' of ${module.constructor.name} is not weight-normalized`);
  const w = noGrad(() => module.getParameter(name)!);
  module.forward = state.forward;
  module.getParameter = state.getParameter;
  module.removeParameter(`${name}_g`);
  module.removeParameter(`${name}_v`);
  (module as unknown as Registrar).registerParameter(name, new Parameter(w.detach().clone()));
  states!.delete(name);
  return module;
}
