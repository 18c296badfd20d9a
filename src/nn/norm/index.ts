// Every normalization layer (DESIGN.md, "Semantics"; docs/norm.md).
export { RunningStats, type RunningStatsOptions } from './running_stats.js';
export { BatchNorm1d, BatchNorm2d, BatchNorm3d, BatchNormBase, InputNorm, type BatchNormOptions, type InputNormOptions } from './batch_norm.js';
export { LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d } from './lazy_batch_norm.js';
export { FrozenBatchNorm2d, freezeBatchNorm, unfreezeBatchNorm } from './frozen_batch_norm.js';
export { replaceBatchNorm, swapModules } from './swap.js';
export { fbnMaxAbsZ, fbnCanFilter, fbnValuesPerStatistic, fbnNoFilterMessage, warnFbnNoFilter, nameFilteredBatchNorms } from './fbn_limit.js';
export { FilteredBatchNorm1d, FilteredBatchNorm2d, type FilteredBatchNormOptions } from './filtered_batch_norm.js';
export { BatchRenorm1d, BatchRenorm2d, type BatchRenormOptions } from './batch_renorm.js';
export { GroupNorm, LayerNorm, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, type GroupNormOptions, type LayerNormOptions, type InstanceNormOptions } from './group_norm.js';
export { RMSNorm, RmsNorm2d, type RMSNormOptions, type RmsNorm2dOptions } from './rms_norm.js';
export { LayerNorm2d, type LayerNorm2dOptions } from './layer_norm_2d.js';
export { LocalResponseNorm } from './local_response_norm.js';
export { FilterResponseNormTlu2d, type FilterResponseNormOptions } from './filter_response_norm.js';
export { EvoNorm2dB0, EvoNorm2dS0, type EvoNormB0Options, type EvoNormS0Options } from './evo_norm.js';
export { BatchNormAct2d, GroupNormAct, type NormActOptions } from './norm_act.js';
export { weightNorm, removeWeightNorm } from './weight_norm.js';
export { spectralNorm, removeSpectralNorm, type SpectralNormOptions } from './spectral_norm.js';
export { norm, NORM_KINDS, type NormKind, type NormFactoryOptions } from './factory.js';
