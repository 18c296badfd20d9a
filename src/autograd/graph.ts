// Define-by-run autograd. Every differentiable op records a Node on its output: the inputs it
// read and a closure that maps the output gradient to input gradients (one rule per op, written
// next to the op). `backward()` walks the recorded graph once in reverse topological order and
// then frees it: the closures and their saved buffers are dropped, so a second backward through
// the same graph is an error, as in PyTorch (without retain_graph).
import type { Tensor } from '../tensor/tensor.js';
import { backendOn, type Backend, type Storage } from '../backend/index.js';

/** Maps the gradient of an op's output to the gradients of its inputs (null: no gradient). */
export type BackwardFn = (gradOutput: Storage) => (Storage | null)[];

export interface Node {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  /** Null once the graph has been freed by a backward pass. */
  backward: BackwardFn | null;
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn with gradient recording off (as torch.no_grad()); restores the previous mode. */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Runs fn with gradient recording on (inside a noGrad region, for instance). */
export function enableGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = true;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** True when an op over these inputs must record a node. */
export function needsGrad(...inputs: (Tensor | null | undefined)[]): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) if (t != null && t.requiresGrad) return true;
  return false;
}

/**
 * Records `backward` as the gradient rule of `out` when any input requires grad.
 * The rule must return one entry per input, in order (null where no gradient is needed).
 */
export function record(out: Tensor, name: string, inputs: Tensor[], backward: BackwardFn): Tensor {
  if (!needsGrad(...inputs)) return out;
  out.requiresGrad = true;
  out.gradFn = { name, inputs, backward };
  return out;
}

/**
 * Backpropagates `grad` (d loss / d root) through the graph under `root`. Leaf tensors that
 * require grad get their `.grad` accumulated (added to, as PyTorch does).
 *
 * Gradient storage is handed over, not copied, where that is safe. Storage is *owned* by this
 * pass when a gradient rule returned it and its allocation (`block`) had not been seen before in
 * the pass (rules return either fresh allocations or views of their incoming gradient, such as
 * reshape's and add's identity rules). Owned storage is added into in place and becomes a leaf's
 * `.grad` without a copy; everything else (the caller's `grad`, views, storage returned for two
 * inputs) is copied before it is written.
 *
 * Owned storage that its rule has consumed, or that was added into another, is dead: nothing
 * outside this pass ever saw it. It goes back to the backend (release) for the next rule or step
 * to reuse, which keeps a backward pass from allocating a fresh buffer per activation gradient
 * (see backend/cpu/alloc.ts for why that matters to V8's collector).
 */
export function runBackward(root: Tensor, grad: Storage): void {
  const be = backendOn(root.device, 'backward');
  be.withReuse(() => backwardPass(be, root, grad));
}

function backwardPass(be: Backend, root: Tensor, grad: Storage): void {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  // Iterative DFS post-order: a tensor comes after every tensor that depends on it when reversed.
  const stack: [Tensor, number][] = [[root, 0]];
  visited.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const node = t.gradFn;
    if (node !== null && i < node.inputs.length) {
      top[1] = i + 1;
      const child = node.inputs[i];
      if (child.requiresGrad && !visited.has(child)) {
        visited.add(child);
        stack.push([child, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  const grads = new Map<Tensor, Storage>();
  const seen = new Set<object>([grad.block]);
  const owned = new Set<object>();
  const isOwned = (g: Storage): boolean => owned.has(g.block) && g.whole;
  // Released memory may come back from the backend later in this pass as a rule's fresh result:
  // it is forgotten here, so that it counts as unseen (owned) again.
  const release = (g: Storage): void => {
    owned.delete(g.block);
    seen.delete(g.block);
    be.release(g);
  };
  grads.set(root, grad);
  for (let k = order.length - 1; k >= 0; k--) {
    const t = order[k];
    const g = grads.get(t);
    grads.delete(t);
    if (g === undefined) continue;
    const node = t.gradFn;
    if (node === null) {
      t.accumulateGrad(g, isOwned(g));
      continue;
    }
    if (node.backward === null) {
      throw new Error(
        `backward: the graph through '${node.name}' was already freed by an earlier backward(); ` +
          'recompute the forward pass before calling backward() again',
      );
    }
    const inputGrads = node.backward(g);
    node.backward = null;
    // Ownership first, for all of this rule's results: a buffer returned for two inputs is
    // owned by neither, and must not be written while the second still refers to it.
    for (let j = 0; j < node.inputs.length; j++) {
      const gi = inputGrads[j];
      if (gi === null || gi === undefined || !node.inputs[j].requiresGrad) continue;
      if (seen.has(gi.block)) {
        owned.delete(gi.block);
      } else {
        seen.add(gi.block);
        owned.add(gi.block);
      }
    }
    // An owned g is dead unless a result is a view of it (ownership was then withdrawn just above).
    if (isOwned(g)) release(g);
    for (let j = 0; j < node.inputs.length; j++) {
      const input = node.inputs[j];
      const gi = inputGrads[j];
      if (gi === null || gi === undefined || !input.requiresGrad) continue;
      if (gi.length !== input.size) {
        throw new Error(
          `backward: gradient rule of '${node.name}' returned ${gi.length} values for input ${j} of shape [${input.shape.join(', ')}]`,
        );
      }
      const prev = grads.get(input);
      if (prev === undefined) {
        grads.set(input, gi);
      } else if (isOwned(prev)) {
        be.accumulate(prev, gi);
        if (isOwned(gi)) release(gi);
      } else if (isOwned(gi)) {
        be.accumulate(gi, prev);
        grads.set(input, gi);
      } else {
        const sum = be.empty(prev.length);
        be.copy(prev, sum);
        be.accumulate(sum, gi);
        seen.add(sum.block);
        owned.add(sum.block);
        grads.set(input, sum);
      }
    }
  }
}
