/**
 * `modelpress/plugin`: what a stage author imports. The same pieces the
 * built-in stages are made of, so a plugin stage is not a second-class one:
 *
 * - the stage object: `defineStage`, `StageConfigError` and the types of
 *   `ctx`, `inputs` and the result (src/stage-definition.ts);
 * - `ctx.engine`'s types: tfjs on the run's backend, model IO, builders;
 * - the training loop (`runEpochs`), fine-tuning on a recipe dataset
 *   (`finetune` + the `finetune:` option's schema), accuracy evaluation;
 * - layer targeting (`layers:` / `exclude:` patterns);
 * - the stage test harness (`createStageHarness`).
 *
 * Every export is a thin re-export of the code the built-ins run; nothing
 * here is a copy. Built-in stages import src/stage-definition.ts directly.
 */
export { defineStage, StageConfigError } from './stage-definition.js';
export type {
  ArtifactRef,
  Json,
  StageContext,
  StageDefinition,
  StageInputs,
  StageLogger,
  StageProgress,
  StageResult,
  UpstreamOutputs,
  UpstreamProblem,
  UpstreamStage,
} from './stage-definition.js';

// ctx.engine and what it hands out.
export type { Engine } from './engine/engine.js';
export type { Tf } from './engine/tf.js';
export type { BackendName } from './engine/backend.js';
export type { BuildSpec } from './engine/builders.js';
export type { SavedModelInfo } from './engine/model-io.js';
export type { Dataset } from './data/dataset.js';

// The training loop every training stage runs.
export { evaluateAccuracy, runEpochs } from './stages/training/train-loop.js';
export type { EpochSummary, EpochsRun, RunEpochsOptions, TrainingHooks, TrainingSettings } from './stages/training/train-loop.js';
export { learningRateAt } from './stages/training/train-schedule.js';
export type { Schedule } from './stages/training/train-schedule.js';
export { finetune, finetuneSchema } from './stages/training/finetune.js';
export type { FinetuneConfig, FinetuneHooks, FinetuneResult } from './stages/training/finetune.js';

// Layer targeting: which layers a `layers:` / `exclude:` config selects.
export { compilePattern, selectLayers, targetingSchema } from './stages/training/layer-targeting.js';
export type { PatternMatcher, TargetingOptions } from './stages/training/layer-targeting.js';

// The stage test harness.
export { createStageHarness, modelInput, StageHarnessError } from './stage-harness.js';
export type { HarnessContext, HarnessLogEntry, StageHarness, StageHarnessOptions } from './stage-harness.js';
export type { Diagnostic, SourceLoc } from './recipe/diagnostic.js';
export { formatDiagnostic } from './recipe/format-diagnostic.js';
