/**
 * Messages between the runner and a stage's worker thread. Only plain data
 * crosses: artifact paths and digests, never live tensors.
 */
import type { Json, StageInputs, StageProgress, StageResult } from '../plugin.js';
import type { SerializedError } from './stage-failure.js';

export interface WorkerTask {
  /** Plugin specs to load (as the recipe lists them), resolved from recipeDir. */
  plugins: string[];
  recipeDir: string;
  uses: string;
  /**
   * What this node's cache key says computes it: the stage's version and
   * code digest (src/plan/stage-code.ts; the planner's view, taken when the
   * run started). The worker loads the code afresh from disk and refuses to
   * run code that differs, since its result would be cached under a key that
   * does not describe it.
   */
  expect: { version: string; code: string };
  /** The tfjs backend the stage computes on (part of its cache key). */
  backend: 'tfjs-node' | 'wasm' | 'cpu';
  node: string;
  stageId: string;
  seed: number;
  config: Record<string, Json>;
  inputs: StageInputs;
  scratchDir: string;
  recipe: { model?: Json; data: Record<string, Json>; devices: Record<string, Json> };
}

export type WorkerMessage =
  | { type: 'log'; level: 'debug' | 'info' | 'warn'; message: string; fields?: Record<string, Json> }
  | { type: 'progress'; progress: StageProgress }
  | { type: 'done'; result: StageResult }
  | { type: 'error'; phase: 'load' | 'run'; error: SerializedError };

/** `abort`: stop the stage; `reason` says why (Ctrl-C, or the stage's `timeout:`). */
export type ParentMessage = { type: 'abort'; reason?: 'interrupted' | 'timeout' };
