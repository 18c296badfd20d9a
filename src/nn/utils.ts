// nn.utils: weight reparameterizations under PyTorch's torch.nn.utils names.
export { spectralNorm, removeSpectralNorm, weightNorm, removeWeightNorm } from './norm/index.js';
