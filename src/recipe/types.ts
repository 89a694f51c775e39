/**
 * The validated recipe: what the planner and runner consume. Every field has
 * passed the schema, defaults are filled in, stage references are checked.
 */
import type { Json } from '../plugin.js';
import type { PathSegment, SourceLoc } from './diagnostic.js';
import type { MatrixValue } from './matrix.js';
import type { MapNode, TreeNode } from './tree.js';

export interface BudgetSpec {
  size_kb?: number;
  size_gzip_kb?: number;
  size_brotli_kb?: number;
  size_packed_kb?: number;
  size_tflite_kb?: number;
  size_tflite_gzip_kb?: number;
  latency_ms_p50?: number;
  latency_ms_p95?: number;
  accuracy_min?: number;
  accuracy_drop_pp?: number;
  agreement_min?: number;
}

export interface DeviceSpec {
  runtime: 'wasm' | 'cpu' | 'tfjs-node' | 'browser' | 'tflite';
  backend?: 'wasm' | 'webgl' | 'cpu';
  threads: number;
  batch: number;
  description?: string;
  budget?: BudgetSpec;
}

export interface DatasetSpec {
  uses: string;
  [option: string]: Json;
}

export interface ModelSpec {
  from?: string;
  build?: { arch: 'mlp' | 'lenet5' | 'cnn'; [option: string]: Json };
}

export interface StageSpec {
  id: string;
  uses: string;
  description?: string;
  /** `timeout:` in ms: the stage is stopped and fails after this long. Unset: no limit. */
  timeoutMs?: number;
  /** `with:` after vars and defaults; may still hold `${matrix.*}` when `matrix` is set. */
  with: Record<string, Json>;
  /** The same, as a located tree, for matrix substitution and error locations. */
  withTree: TreeNode;
  /** Upstream stage ids: as written, or the previous stage by default. */
  needs: string[];
  needsExplicit: boolean;
  matrix?: Record<string, MatrixValue[]>;
  /** Where the stage is written (its `id`), for planner diagnostics. */
  loc: SourceLoc;
  /** Index in `stages:`, for key paths; -1 for the recipe's `model:` source. */
  index: number;
  /** Where `with:` is in the recipe (`['stages', index, 'with']`, or `['model']`), for error locations. */
  withPath: PathSegment[];
  /** true for the node the recipe's `model:` becomes (not listed under `stages:`). */
  source?: boolean;
}

export interface ValidatedRecipe {
  file: string;
  dir: string;
  sources: string[];
  overrides: string[];
  version: 1;
  name: string;
  description?: string;
  seed: number;
  vars: Record<string, Json>;
  model?: ModelSpec;
  data: Record<string, DatasetSpec>;
  devices: Record<string, DeviceSpec>;
  plugins: string[];
  stages: StageSpec[];
  /** The resolved recipe as plain data with defaults: what `validate --print` shows and run.json records. */
  resolved: Record<string, Json>;
  tree: MapNode;
}
