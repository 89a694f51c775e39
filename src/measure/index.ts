/**
 * The measurement layer: size as it ships, parameters / non-zeros / MACs,
 * and latency in a separate process. Explicit named exports only.
 */
export { BROTLI_QUALITY, BYTES_PER_KB, GZIP_LEVEL, compressedSizes, kb, measureArtifactSize } from './size.js';
export type { ArtifactSize, CompressedSizes, FileSize } from './size.js';
export { modelStats, statsFromArtifacts } from './model-stats.js';
export type { LayerStats, ModelStats, WeightStats } from './model-stats.js';
export { countMacs } from './macs.js';
export type { LayerMacs, TopologyMacs } from './macs.js';
export { callKey, parseKerasTopology } from './keras-topology.js';
export type { KerasTopology, LayerCall, Shape } from './keras-topology.js';
export { convLength, deconvLength, layerCost } from './layer-cost.js';
export type { LayerCost } from './layer-cost.js';
export { RECURRENT_GATES, UNKNOWN_LENGTH_NOTE } from './sequence-cost.js';
export { LATENCY_CHILD, LATENCY_RUNTIMES, LatencyError, measureLatency } from './latency.js';
export type { LatencyErrorCode, LatencyOptions, LatencyResult, LatencyRuntime, StopReason } from './latency.js';
export { percentile, quantileInterval, sortedCopy, stability, strideSamples, summarize, Z_95 } from './sample-stats.js';
export type { Interval, SampleSummary, Stability } from './sample-stats.js';
export { AgreementAccumulator, KL_EPSILON, TOP_K } from './agreement.js';
export type { AgreementResult } from './agreement.js';
