// Softmax and log-softmax along one dim. The kernel works on the last dim of an [rows, cols]
// view; any other dim is first permuted to the end (and the result permuted back), the
// permutes recording their own gradient rules.
import { backendFor } from '../backend/index.js';
import { needsGrad, record } from '../autograd/graph.js';
import { Tensor } from '../tensor/tensor.js';
import { normDim } from '../tensor/shape.js';
import { permute } from './shape.js';

/** Softmax over the last dim: y_i = exp(x_i - max) / sum_j exp(x_j - max). */
function lastDim(fn: string, x: Tensor, log: boolean): Tensor {
  const cols = x.ndim === 0 ? 1 : x.shape[x.ndim - 1];
  const rows = cols === 0 ? 0 : x.size / cols;
  const be = backendFor(fn, x);
  const y = be.empty(x.size);
  be.softmaxForward({ x: x.storage, rows, cols, y, log });
  const out = new Tensor(y, x.shape);
  if (!needsGrad(x)) return out;
  return record(out, fn, [x], (g) => {
    const gx = be.empty(x.size);
    be.softmaxBackward({ y, gy: g, rows, cols, gx, log });
    return [gx];
  });
}

function alongDim(fn: string, x: Tensor, dim: number, log: boolean): Tensor {
  const d = normDim(fn, dim, x.ndim);
  if (x.ndim === 0 || d === x.ndim - 1) return lastDim(fn, x, log);
  const perm = Array.from({ length: x.ndim }, (_, i) => i).filter((i) => i !== d);
  perm.push(d);
  const inv = new Array<number>(perm.length);
  perm.forEach((p, k) => (inv[p] = k));
  return permute(lastDim(fn, permute(x, perm), log), inv);
}

/** softmax(x, dim) as torch.softmax: non-negative values summing to 1 along `dim`. */
export function softmax(x: Tensor, dim: number): Tensor {
  return alongDim('softmax', x, dim, false);
}

/** logSoftmax(x, dim) = x - max - log(sum(exp(x - max))) along `dim` (as torch.log_softmax). */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return alongDim('logSoftmax', x, dim, true);
}
