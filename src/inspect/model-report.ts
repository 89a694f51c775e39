/**
 * What `modelpress inspect` knows about a model: one typed record, the same
 * whatever the model's format, so the CLI renders it (table or `--json`)
 * without knowing where it came from. Each format's inspector
 * (src/inspect/inspectors.ts) fills it in; a format that cannot know a field
 * says so with null rather than guessing.
 *
 * `--json` prints this object as is: field names here are the JSON contract
 * (documented in docs/inspect.md); add fields, do not rename them.
 */
import type { CompressedSizes } from '../measure/size.js';
import type { Shape } from '../measure/keras-topology.js';

/** The report's version in `--json`; bumped when a field changes meaning. */
export const MODEL_REPORT_VERSION = 1;

/** One shipped file: bytes raw, gzip (level 9) and brotli (quality 11), as src/measure/size.ts counts them. */
export interface FileReport extends CompressedSizes {
  /** Relative to the model directory (or the file's own name for a single-file format). */
  name: string;
}

export interface TensorEndpoint {
  /** Layer name. */
  name: string;
  /** Shape without the batch dimension (null dimensions: unknown until run time); null when unknown. */
  shape: Shape | null;
}

/** How one stored tensor is kept on disk. */
export interface WeightReport {
  /** Manifest name, e.g. `conv1/kernel`. */
  name: string;
  shape: number[];
  /** The dtype it loads as (float32, int32, ...). */
  dtype: string;
  /**
   * How it is stored: `float32`, `uint8 affine`, `uint16 affine`, `float16`
   * for tfjs manifests; for a packed model `<source> <encoding>`, e.g.
   * `float32 sparse-shared`.
   */
  storage: string;
  params: number;
  /** Values that load as non-zero; null when the dtype has no notion of it here. */
  nonZeros: number | null;
  /** The quantize stage's decision for this tensor with its defaults (see `StageCheck`); absent when unknown. */
  quantize?: StageCheck;
}

/** Whether a built-in stage acts on a layer (or tensor), and why not when it does not. */
export interface StageCheck {
  /** true: the stage (with its defaults, no `layers:`/`exclude:`) acts on it; false: it does not; null: unknown (see reason). */
  applies: boolean | null;
  /** Why not (or why unknown), in the stage's own words; absent when it applies. */
  reason?: string;
}

export interface LayerReport {
  /** The name `layers:` and `exclude:` patterns match. */
  name: string;
  /** Keras class name ('?' for weights that match no layer of the topology). */
  className: string;
  /** Output shape without the batch dimension; null when unknown. */
  outputShape: Shape | null;
  /** Layers feeding this one (graph order); empty for inputs. */
  inbound: string[];
  params: number;
  nonZeros: number;
  /** Multiply-accumulates per example (per sequence for sequence models); null when unknown (src/measure/layer-cost.ts). */
  macs: number | null;
  /**
   * MACs of one time step for layers that repeat per step (recurrent cells,
   * TimeDistributed, Dense on [T, in], Conv1D: src/measure/sequence-cost.ts);
   * absent for the others. Known when the time dimension is not.
   */
  macsPerStep?: number;
  /** Why `macs` is null for a layer the measure layer has a rule for (e.g. an unknown time dimension); absent otherwise. */
  macsNote?: string;
  weights: WeightReport[];
  /** Per built-in stage id (see `STAGE_CHECK_IDS`). */
  stages: Record<string, StageCheck>;
}

export interface ModelReport {
  version: typeof MODEL_REPORT_VERSION;
  /** The inspector that read it: 'tfjs-layers' or 'packed'. */
  format: string;
  /** The path as given. */
  path: string;
  /** Keras topology kind: 'Sequential' or 'Functional'. */
  topology: string;
  files: FileReport[];
  /** Summed per file (each compressed on its own, as a web server sends them). */
  size: CompressedSizes;
  inputs: TensorEndpoint[];
  outputs: TensorEndpoint[];
  /** In graph order (every layer after the layers feeding it). */
  layers: LayerReport[];
  /** The stage checks in the order the columns are shown: id -> label. */
  stages: { id: string; label: string }[];
  /** Why stage applicability is unknown for the whole model (e.g. tfjs cannot instantiate a custom layer); absent when known. */
  stagesUnknown?: string;
  summary: {
    layers: number;
    params: number;
    nonZeros: number;
    /** (params - nonZeros) / params; 0 without parameters. */
    sparsity: number;
    /** Sum of known per-layer MACs per example. */
    macs: number;
    /** False when some layer's MACs are unknown (then `macs` is a lower bound). */
    macsComplete: boolean;
  };
}
