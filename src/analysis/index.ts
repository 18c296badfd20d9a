// Analysis: activation statistics and capture, outlier images, misclassified samples, t-tests.
export { pairedTTest, studentTSurvival, studentTQuantile, type PairedTTestResult, type PairedTTestOptions } from './ttest.js';
export { StreamingStats, LayerStats, type DistributionSummary, type Histogram, type StreamingStatsOptions, type SummaryOptions } from './stats.js';
export { captureLayerInputs, normLayers, selectModules, type LayerFilter, type InputBatch } from './capture.js';
export { findOutlierImages, type OutlierOptions, type OutlierImage, type IndexedBatch } from './outliers.js';
export { findMisclassified, type MisclassifiedSample, type LabelledBatch } from './misclassified.js';
export { preciseBn, trainEvalAccuracy, trainEvalAccuracyAsync, runningStatsLayers, type BatchesOf } from './preciseBn.js';
export { NormMonitor, normScalars, channelMoments, quantiles, type NormMonitorSummary, type NormMonitorOptions, type DriftPoint, type KeptPoint, type AffinePoint, type GapPoint, type Quantiles } from './normMonitor.js';
