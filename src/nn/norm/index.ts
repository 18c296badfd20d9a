// Every normalization layer (DESIGN.md, "Semantics").
export { RunningStats, type RunningStatsOptions } from './running_stats.js';
export { BatchNorm1d, BatchNorm2d, InputNorm, type BatchNormOptions, type InputNormOptions } from './batch_norm.js';
export { fbnMaxAbsZ, fbnCanFilter, fbnValuesPerStatistic, fbnNoFilterMessage, warnFbnNoFilter, nameFilteredBatchNorms } from './fbn_limit.js';
export { FilteredBatchNorm1d, FilteredBatchNorm2d, type FilteredBatchNormOptions } from './filtered_batch_norm.js';
export { BatchRenorm1d, BatchRenorm2d, type BatchRenormOptions } from './batch_renorm.js';
export { GroupNorm, LayerNorm, InstanceNorm1d, InstanceNorm2d, type GroupNormOptions, type LayerNormOptions, type InstanceNormOptions } from './group_norm.js';
export { weightNorm, removeWeightNorm } from './weight_norm.js';
export { norm, type NormKind, type NormFactoryOptions } from './factory.js';
