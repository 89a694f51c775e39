/**
 * `modelpress`: the library API (docs/api.md). A small, deliberate surface:
 * check a recipe, predict what a run will do, run it, read packed models.
 * The CLI is built on the same functions; it only adds the terminal.
 *
 *     import { validate, plan, run, formatDiagnostic } from 'modelpress';
 *     const result = await run('compress/phone.yaml', { jobs: 2 });
 *     if (!result.ok) throw new Error(result.diagnostics.map(formatDiagnostic).join('\n'));
 *
 * Expected failures (a bad recipe, unreadable data) come back as
 * `{ ok: false, diagnostics }`; a failed stage is a run record with status
 * `failed`; bad options throw a TypeError ("Expected X, got Y").
 */
export { validate } from './api/validate.js';
export type { ValidateOptions } from './api/validate.js';
export { plan } from './api/plan.js';
export type { PlanOptions, PlannedNode, RecipePlan } from './api/plan.js';
export { run } from './api/run.js';
export type { RunOptions, RunOutcome } from './api/run.js';
export { loadPacked } from './api/load-packed.js';
export type { LoadPackedOptions } from './api/load-packed.js';
export type { PrepareOptions } from './api/prepare.js';

// Diagnostics and results.
export { formatDiagnostic, formatDiagnostics } from './recipe/format-diagnostic.js';
export type { Diagnostic, DiagnosticCode, Result, SourceLoc } from './recipe/diagnostic.js';

// What the phases produce.
export type { BudgetSpec, DatasetSpec, DeviceSpec, ModelSpec, StageSpec, ValidatedRecipe } from './recipe/types.js';
export type { PlanGraph, PlanNode } from './plan/graph.js';
export type { KeyRecord } from './plan/key-record.js';
export { keyOf } from './plan/key-record.js';
export type { EventSink, FailurePhase, NodeStatus, RunEvent, RunStatus } from './run/events.js';
export type { RunRecord, RunRecordNode } from './run/run-record.js';
export { RUN_RECORD_VERSION } from './run/run-record.js';
export type { BackendName } from './engine/backend.js';
export { PACKAGE_VERSION } from './package-info.js';

// The packed format: write (Node) and read (also `modelpress/loader`, browser-safe).
export { packModel } from './formats/packed.js';
export type { PackedBreakdown, PackedModel } from './formats/packed.js';
export { packedIOHandler, PackedFormatError, readPacked, unpack } from './loader/index.js';
export type { PackedContents, PackedIOHandlerOptions, PackedSource } from './loader/index.js';
