// The input size each network needs. Every network takes the data's channel count (timm's
// `in_chans`: the first conv is built for it); the spatial size is fixed by the fully connected
// layer of the MNIST networks and bounded below by the pooling of the others. A run checks the
// data against this before training, so a mismatch is one message naming the network, what it
// needs and what the data has, instead of a shape error from inside the forward pass.

export interface InputNeed {
  /** The only size the network takes (its fc layer is sized for it). */
  exact?: number;
  /** The smallest size its strided convs and pools leave at least one pixel of. */
  min?: number;
  /** Why, for the message. */
  why: string;
}

export function inputNeed(network: string, o: { blocks?: number } = {}): InputNeed | null {
  switch (network) {
    case 'fbn-mnist': return { exact: 28, why: 'its fc1 takes 20×4×4 features' };
    case 'lenet5': return { exact: 28, why: 'its first fc layer takes 16×5×5 features' };
    case 'seed002': return { exact: 28, why: 'its final 6×6 average pool must leave 1×1' };
    case 'cifar-cnn': {
      const pools = (o.blocks ?? 5) - 1;
      return { min: 2 ** pools, why: `${pools} 2×2 max-pools` };
    }
    case 'alexnet': return { min: 63, why: 'a stride-4 11×11 conv and three 3×3 stride-2 max-pools' };
    case 'vgg11': case 'vgg13': case 'vgg16': case 'vgg19': return { min: 32, why: 'five 2×2 max-pools' };
    default: return null;
  }
}

/** Null when `size`×`size` inputs suit the network, else the message. `hint` says how to change the size. */
export function inputSizeProblem(network: string, size: number, hint = 'pass --image-size', o: { blocks?: number } = {}): string | null {
  const need = inputNeed(network, o);
  if (need === null) return null;
  if (need.exact !== undefined && size !== need.exact) {
    return `network ${network} takes ${need.exact}×${need.exact} images (${need.why}); the data is ${size}×${size}: ${hint} ${need.exact}`;
  }
  if (need.min !== undefined && size < need.min) {
    return `network ${network} needs images of at least ${need.min}×${need.min} (${need.why}); the data is ${size}×${size}: ${hint} ${need.min} or more`;
  }
  return null;
}
