// The `optim` namespace.
export { Optimizer, type OptimizerState, type ParamGroup, type GroupSpec } from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { RMSprop, type RMSpropOptions } from './rmsprop.js';
export { CosineAnnealingLR, StepLR, ConstantLR, type Scheduler } from './scheduler.js';
export { paramGroups, describeParamGroups, type ParamGroupRules, type ParamGroupSpec } from './paramGroups.js';
export { l1Penalty, l2Penalty } from './penalty.js';
