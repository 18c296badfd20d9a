// Fused optimizer updates (formulas in native/optim.cc and src/optim/*.ts).
export interface OptimKernels {
  sgdStep(p: Float32Array, g: Float32Array, buf: Float32Array, lr: number, momentum: number, dampening: number, weightDecay: number, nesterov: boolean, firstStep: boolean): void;
  adamStep(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number, decoupled: boolean): void;
  rmspropStep(p: Float32Array, g: Float32Array, sq: Float32Array, buf: Float32Array, gAvg: Float32Array, lr: number, alpha: number, eps: number, weightDecay: number, momentum: number, centered: boolean): void;
}
