/**
 * The ModelReport of any model that reaches us as tfjs LayersModel
 * artifacts (a Keras topology + weights): the tfjs directory and the packed
 * file both end here, each after reading its own container. A format
 * without a Keras topology (ONNX, later) writes its own builder instead.
 *
 * Numbers come from src/measure (params, non-zeros, MACs, shapes: the same
 * code the evaluate stage reports with), stage applicability from
 * stage-checks.ts (the stages' own targeting code), on the model as tfjs
 * instantiates it.
 */
import type { LayersModel, io } from '@tensorflow/tfjs';
import type { Tf } from '../engine/tf.js';
import { ModelIOError } from '../engine/model-io.js';
import { parseKerasTopology, type KerasTopology } from '../measure/keras-topology.js';
import { statsFromArtifacts, type WeightStats } from '../measure/model-stats.js';
import type { CompressedSizes } from '../measure/size.js';
import { MODEL_REPORT_VERSION } from './model-report.js';
import type { FileReport, LayerReport, ModelReport, StageCheck, TensorEndpoint, WeightReport } from './model-report.js';
import { STAGE_RULES } from './stage-checks.js';
import { fixedPointFormatOf, formatName } from '../stages/quantize/quantize-fixed-point.js';

export interface KerasReportInput {
  format: string;
  path: string;
  artifacts: io.ModelArtifacts;
  /** The shipped files and their sizes; a promise, so compression can overlap the rest of the work. */
  files: Promise<FileReport[]>;
  /** Storage per weight name when the container decides it (packed); else from the manifest. */
  storage?: ReadonlyMap<string, string>;
  /** tfjs to instantiate the model with, for the stage checks. */
  tf: () => Promise<Tf>;
}

export async function kerasReport(input: KerasReportInput): Promise<ModelReport> {
  const { artifacts } = input;
  let topology: KerasTopology;
  try {
    topology = parseKerasTopology(artifacts.modelTopology);
  } catch (error) {
    // The parser's TypeErrors describe the user's file, not a bug here.
    if (!(error instanceof TypeError)) throw error;
    throw new ModelIOError(`${input.path}: not a Keras model topology (${error.message})`, input.path, { cause: error });
  }
  const stats = statsFromArtifacts(artifacts);

  const inbound = new Map<string, string[]>();
  for (const call of topology.calls) {
    const list = inbound.get(call.name) ?? [];
    for (const key of call.inbound) {
      const from = key.slice(0, key.lastIndexOf('#'));
      if (!list.includes(from)) list.push(from);
    }
    inbound.set(call.name, list);
  }
  const inputs: TensorEndpoint[] = topology.calls
    .filter((c) => c.inbound.length === 0)
    .map((c) => ({ name: c.name, shape: c.declaredInput ?? null }));
  const shapeOf = new Map(stats.layers.map((l) => [l.name, l.outputShape]));
  const outputs: TensorEndpoint[] = outputLayers(artifacts.modelTopology, topology.calls.map((c) => c.name)).map((name) => ({ name, shape: shapeOf.get(name) ?? null }));

  const checks = await stageChecks(input, artifacts);
  // Fixed-point tensors are stored as affine entries (quantize-fixed-point.ts): name their Qm.n.
  const fixedPoint = new Map<string, string>();
  for (const spec of artifacts.weightSpecs ?? []) {
    const f = fixedPointFormatOf(spec.quantization);
    if (f) fixedPoint.set(spec.name, formatName(f));
  }
  const layers: LayerReport[] = stats.layers.map((l) => ({
    name: l.name,
    className: l.className,
    outputShape: l.outputShape,
    inbound: inbound.get(l.name) ?? [],
    params: l.params,
    nonZeros: l.nonZeros,
    macs: l.macs,
    ...(l.macsPerStep !== null ? { macsPerStep: l.macsPerStep } : {}),
    ...(l.macsNote !== undefined ? { macsNote: l.macsNote } : {}),
    weights: l.weights.map((w) => weightReport(w, input.storage, checks.weights.get(w.name), fixedPoint.get(w.name))),
    stages: Object.fromEntries(STAGE_RULES.map((r) => [r.id, checks.layer(r.id, l.name)])),
  }));

  const files = await input.files;
  const size: CompressedSizes = { raw: 0, gzip: 0, brotli: 0 };
  for (const f of files) {
    size.raw += f.raw;
    size.gzip += f.gzip;
    size.brotli += f.brotli;
  }
  return {
    version: MODEL_REPORT_VERSION,
    format: input.format,
    path: input.path,
    topology: topology.kind,
    files,
    size,
    inputs,
    outputs,
    layers,
    stages: STAGE_RULES.map((r) => ({ id: r.id, label: r.label })),
    ...(checks.unknown !== undefined ? { stagesUnknown: checks.unknown } : {}),
    summary: {
      layers: layers.length,
      params: stats.params,
      nonZeros: stats.nonZeros,
      sparsity: stats.sparsity,
      macs: stats.macs,
      macsComplete: stats.macsComplete,
    },
  };
}

/** How the manifest stores a weight, in the words docs/inspect.md uses. */
function manifestStorage(w: WeightStats, fixedPoint: string | undefined): string {
  if (w.storedAs !== 'uint8' && w.storedAs !== 'uint16') return w.storedAs;
  return fixedPoint === undefined ? `${w.storedAs} affine` : `${w.storedAs} affine (${fixedPoint})`;
}

function weightReport(w: WeightStats, storage: ReadonlyMap<string, string> | undefined, quantize: StageCheck | undefined, fixedPoint: string | undefined): WeightReport {
  return {
    name: w.name,
    shape: w.shape,
    dtype: w.dtype,
    storage: storage?.get(w.name) ?? manifestStorage(w, fixedPoint),
    params: w.params,
    nonZeros: w.nonZeros,
    ...(quantize ? { quantize } : {}),
  };
}

interface Checks {
  layer(stage: string, layer: string): StageCheck;
  weights: Map<string, StageCheck>;
  unknown?: string;
}

/**
 * Runs every stage rule on the model as tfjs builds it. A model tfjs cannot
 * instantiate (a custom layer class, say) still gets its numbers; only the
 * stage columns say unknown, with tfjs's reason.
 */
async function stageChecks(input: KerasReportInput, artifacts: io.ModelArtifacts): Promise<Checks> {
  let model: LayersModel;
  try {
    const tf = await input.tf();
    model = await tf.loadLayersModel({ load: async () => artifacts });
  } catch (error) {
    const unknown = `tfjs cannot instantiate the model: ${(error as Error).message}`;
    return { unknown, weights: new Map(), layer: () => ({ applies: null, reason: unknown }) };
  }
  try {
    const results = new Map(STAGE_RULES.map((r) => [r.id, r.check({ model, artifacts })]));
    const weights = new Map<string, StageCheck>();
    for (const r of results.values()) for (const [name, c] of r.weights ?? []) weights.set(name, c);
    return {
      weights,
      layer: (stage, layer) => results.get(stage)?.layers.get(layer) ?? { applies: null, reason: 'not a layer tfjs builds from the topology' },
    };
  } finally {
    model.dispose();
  }
}

/** The model's output layers: `output_layers` of a functional config, else the last layer. */
function outputLayers(modelTopology: unknown, names: readonly string[]): string[] {
  const root = modelTopology as Record<string, unknown>;
  const top = (root['model_config'] ?? root) as Record<string, unknown>;
  const config = top['config'] as Record<string, unknown> | undefined;
  const declared = config && !Array.isArray(config) ? config['output_layers'] : undefined;
  if (Array.isArray(declared)) {
    const out = declared.filter((o): o is unknown[] => Array.isArray(o) && typeof o[0] === 'string').map((o) => o[0] as string);
    if (out.length > 0) return [...new Set(out)];
  }
  const last = names[names.length - 1];
  return last === undefined ? [] : [last];
}
