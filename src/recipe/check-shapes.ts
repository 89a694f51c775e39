/**
 * Shapes and classes come from the model and the data, and must agree.
 *
 * Without this, a recipe on one's own 16-feature CSV trained the default
 * 784-input MLP and failed inside tfjs ("expected axis -1 of input shape to
 * have value 784") after the run started; one-hot labels of the 3 classes
 * present in the data met a 5-output model as a broadcast error; and labels
 * beyond the model's outputs silently lowered evaluated accuracy. Here, after
 * the schema checks and before anything runs:
 *
 * 1. Every model the recipe makes is traced along the graph: the recipe's
 *    `model:` (and `uses: model` stages), `train`'s own `build:`, `distill`'s
 *    `student` (`build:` or `from:`). Every other stage keeps its upstream's
 *    input and output shape (compression changes weights, not I/O).
 * 2. A `build:` without `inputShape` / `classes` gets them from the dataset
 *    the model is trained on (the building stage's `data`; for the recipe's
 *    model, the first `train` stage fed by it, else the first stage that
 *    fine-tunes it, else the dataset `train`). The values are written into
 *    the validated recipe, so `validate --print` and run.json show them and
 *    they enter the cache key (they change the bytes).
 * 3. A labelled dataset whose loader has a `classes` option and none set gets
 *    the model's output count: one-hot width matches the model, and a label
 *    the model cannot output is the loader's DataError, with file and row.
 * 4. Every dataset a stage feeds to a model (`StageDefinition.datasets`) is
 *    compared with that model: example shape with input shape, classes with
 *    output units. A mismatch is a located error saying what each side has
 *    and what to set.
 *
 * Matrix stages are not checked (their `with:` holds `${matrix.*}`), and a
 * model whose shapes cannot be read (a custom topology) is not checked
 * against: this check only refuses what would certainly fail.
 */
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { DatasetDescription } from '../data/describe.js';
import { describeDataset } from '../data/describe.js';
import { isDataError } from '../data/errors.js';
import type { LoaderCatalog } from '../data/loader.js';
import { checkBuildSpec, defaultInputShape } from '../engine/builders.js';
import type { BuildSpec } from '../engine/builders.js';
import { parseKerasTopology } from '../measure/keras-topology.js';
import type { LayerCall } from '../measure/keras-topology.js';
import type { StageCatalog } from '../plugin-registry.js';
import type { Json } from '../plugin.js';
import type { Diagnostic, PathSegment } from './diagnostic.js';
import { formatPath } from './diagnostic.js';
import { locate, nodeAt } from './tree.js';
import type { StageSpec, ValidatedRecipe } from './types.js';

/** Where a model (its input and output shape) comes from. */
interface Origin {
  /** The spec that makes it. */
  spec: StageSpec;
  kind: 'build' | 'from';
  /** Recipe path of the `build:` object, or of the `from:` value. */
  path: PathSegment[];
  /** `build:` objects to fill with inferred values (the spec's config and the resolved recipe's copy). */
  builds: Record<string, Json>[];
  /** `from:`: the model directory or model.json, relative to the recipe. */
  from?: string;
  /** Set once shapes are known. */
  io?: ModelIO;
  /** Which dataset inferred values came from. */
  inferredFrom?: { inputShape?: string; classes?: string };
}

interface ModelIO {
  /** Input shape without the batch dimension; null dims are free. Undefined: unknown (not checked). */
  input: (number | null)[] | undefined;
  /** Units of the output layer. Undefined: unknown (not checked). */
  outputs: number | undefined;
}

/** One dataset a stage feeds to a model. */
interface Feed {
  spec: StageSpec;
  /** Key path of the dataset name under `with:`. */
  rel: readonly PathSegment[];
  name: string;
  origin: Origin;
}

const DEFAULT_CLASSES = 10;

/**
 * Infers missing `inputShape`/`classes`, fills datasets' `classes` from the
 * model, and returns a diagnostic per mismatch. Mutates `recipe` (its stage
 * configs, `model`, `data` and `resolved` value) to hold the inferred values.
 */
export async function checkShapes(recipe: ValidatedRecipe, stages: StageCatalog, loaders: LoaderCatalog): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  const ctx = { baseDir: recipe.dir };
  const data = recipe.data as Record<string, Record<string, Json>>;
  const described = new Map<string, Promise<DatasetDescription | undefined>>();
  const failed = new Set<string>();
  const describe = (name: string): Promise<DatasetDescription | undefined> => {
    // Keyed by the options too: `classes` may be filled in between two calls.
    const key = `${name}\0${JSON.stringify(data[name])}`;
    let p = described.get(key);
    if (!p) {
      p = describeEntry(name);
      described.set(key, p);
    }
    return p;
  };
  const describeEntry = async (name: string, feed?: Feed): Promise<DatasetDescription | undefined> => {
    const entry = data[name];
    const loader = entry && typeof entry.uses === 'string' ? loaders.get(entry.uses) : undefined;
    if (!entry || !loader || failed.has(name)) return undefined;
    const { uses: _u, ...options } = entry;
    try {
      return await describeDataset(loader, options, { ...ctx, name });
    } catch (err) {
      if (!isDataError(err)) throw err;
      failed.add(name);
      out.push(dataErrorDiagnostic(recipe, name, err, feed));
      return undefined;
    }
  };

  const origins = traceOrigins(recipe);
  const feeds = collectFeeds(recipe, stages, origins);

  // 2. Infer what a build leaves out, from the data it is trained on.
  for (const origin of new Set(origins.values())) {
    if (origin === undefined) continue;
    if (origin.kind === 'build') {
      const build = origin.builds[0]!;
      if (build.inputShape === undefined || build.classes === undefined) {
        const name = trainingDataset(origin, feeds, data);
        const d = name !== undefined ? await describe(name) : undefined;
        if (d && name !== undefined) {
          origin.inferredFrom = {};
          if (build.inputShape === undefined) origin.inferredFrom.inputShape = name;
          if (build.classes === undefined && d.labelled) origin.inferredFrom.classes = name;
          for (const b of origin.builds) {
            if (origin.inferredFrom.inputShape !== undefined) b.inputShape = [...d.shape];
            if (origin.inferredFrom.classes !== undefined) b.classes = d.classes;
          }
        }
      }
      origin.io = buildIO(origin.builds[0] as unknown as BuildSpec);
      const invalid = buildProblem(recipe, origin);
      if (invalid) out.push(invalid);
    } else {
      origin.io = await fromIO(resolve(recipe.dir, origin.from!));
    }
  }
  // 3. A dataset's `classes` defaults to the outputs of the model it is fed to.
  const filled = new Set<string>();
  for (const f of feeds) {
    const outputs = f.origin.io?.outputs;
    const entry = data[f.name];
    const loader = entry && typeof entry.uses === 'string' ? loaders.get(entry.uses) : undefined;
    if (outputs === undefined || !entry || !loader || !hasOption(loader.schema, 'classes')) continue;
    if (entry.classes === undefined) {
      entry.classes = outputs;
      filled.add(f.name);
    }
  }

  // 4. Compare each fed dataset with its model.
  const reported = new Set<string>();
  for (const f of feeds) {
    const io = f.origin.io;
    if (!io) continue;
    const d = failed.has(f.name) ? undefined : await describeFor(f);
    if (!d) continue;
    const key = `${f.name}\0${f.origin.spec.id}`;
    if (reported.has(key)) continue;
    const shape = io.input && !shapeFits(d.shape, io.input) ? shapeDiagnostic(recipe, f, d, io.input) : undefined;
    const classes =
      d.labelled && io.outputs !== undefined && d.classes !== io.outputs ? classesDiagnostic(recipe, f, d.classes, io.outputs, filled.has(f.name)) : undefined;
    for (const diag of [shape, classes]) if (diag) out.push(diag);
    if (shape || classes) reported.add(key);
  }
  return out;

  async function describeFor(f: Feed): Promise<DatasetDescription | undefined> {
    const key = `${f.name}\0${JSON.stringify(data[f.name])}`;
    if (!described.has(key)) described.set(key, describeEntry(f.name, f));
    return described.get(key);
  }
}

/** The model each spec outputs (or passes on), by spec id. */
function traceOrigins(recipe: ValidatedRecipe): Map<string, Origin | undefined> {
  const byId = new Map(recipe.stages.map((s) => [s.id, s]));
  const memo = new Map<string, Origin | undefined>();
  const resolvedStages = (recipe.resolved as Record<string, Json>).stages as Record<string, Json>[] | undefined;
  const visit = (spec: StageSpec, seen: Set<string>): Origin | undefined => {
    if (memo.has(spec.id)) return memo.get(spec.id);
    if (seen.has(spec.id)) return undefined; // a cycle: reported by the planner
    seen.add(spec.id);
    const own = spec.matrix ? undefined : ownModel(recipe, spec, resolvedStages);
    let origin = own;
    if (!origin) {
      for (const need of spec.needs) {
        const up = byId.get(need);
        origin = up ? visit(up, seen) : undefined;
        if (origin) break;
      }
    }
    memo.set(spec.id, origin);
    return origin;
  };
  for (const spec of recipe.stages) visit(spec, new Set());
  return memo;
}

/** The model a spec makes itself, if it makes one: `model` (`from`/`build`), train's `build`, distill's `student`. */
function ownModel(recipe: ValidatedRecipe, spec: StageSpec, resolvedStages: Record<string, Json>[] | undefined): Origin | undefined {
  const w = spec.with as Record<string, any>;
  const base = spec.withPath;
  const make = (at: PathSegment[], value: Record<string, any> | undefined): Origin | undefined => {
    if (!value || typeof value !== 'object') return undefined;
    if (typeof value.from === 'string') return { spec, kind: 'from', path: [...base, ...at, 'from'], builds: [], from: value.from };
    if (value.build && typeof value.build === 'object') {
      const builds: Record<string, Json>[] = [value.build];
      // The source's config is a copy of the recipe's `model:`: fill both.
      if (spec.source && recipe.model && typeof (recipe.model as any).build === 'object') builds.push((recipe.model as any).build);
      const listed = spec.index >= 0 ? (resolvedStages?.[spec.index]?.with as Record<string, any> | undefined) : undefined;
      const listedBuild = at.reduce<any>((o, k) => o?.[k], listed)?.build;
      if (listedBuild && !builds.includes(listedBuild)) builds.push(listedBuild);
      return { spec, kind: 'build', path: [...base, ...at, 'build'], builds };
    }
    return undefined;
  };
  if (spec.source || spec.uses === 'model') return make([], w);
  if (spec.uses === 'train' && w.build) return make([], { build: w.build });
  if (spec.uses === 'distill' && w.student) return make(['student'], w.student);
  return undefined;
}

/** Every (stage, dataset) pair where the stage feeds the dataset to a model. */
function collectFeeds(recipe: ValidatedRecipe, stages: StageCatalog, origins: Map<string, Origin | undefined>): Feed[] {
  const feeds: Feed[] = [];
  for (const spec of recipe.stages) {
    if (spec.matrix || spec.source) continue;
    const origin = origins.get(spec.id);
    const def = stages.get(spec.uses)?.def;
    if (!origin || !def?.datasets) continue;
    for (const rel of def.datasets(spec.with)) {
      const name = rel.reduce<any>((o, k) => o?.[k], spec.with);
      if (typeof name === 'string' && recipe.data[name] !== undefined) feeds.push({ spec, rel, name, origin });
    }
  }
  return feeds;
}

/** The dataset a build is trained on (see the module comment), or undefined. */
function trainingDataset(origin: Origin, feeds: Feed[], data: Record<string, Json>): string | undefined {
  const own = origin.spec.with as Record<string, Json>;
  if ((origin.spec.uses === 'train' || origin.spec.uses === 'distill') && typeof own.data === 'string') return own.data;
  const mine = feeds.filter((f) => f.origin === origin);
  const trained = mine.find((f) => f.spec.uses === 'train' && f.rel.length === 1 && f.rel[0] === 'data') ?? mine.find((f) => f.rel.at(-1) === 'data');
  if (trained) return trained.name;
  return data.train !== undefined ? 'train' : undefined;
}

/** A build spec's input shape and output units, with the builder's defaults. */
function buildIO(b: BuildSpec): ModelIO {
  return { input: [...(b.inputShape ?? defaultInputShape(b))], outputs: b.classes ?? DEFAULT_CLASSES };
}

/**
 * Input shape and output units from model.json's topology, without tfjs.
 * Unreadable or unusual topologies give unknowns: the `model` stage reports
 * a model that does not load, with its path, when it runs.
 */
async function fromIO(path: string): Promise<ModelIO | undefined> {
  try {
    const file = (await stat(path)).isDirectory() ? join(path, 'model.json') : path;
    const json = JSON.parse(await readFile(file, 'utf8')) as { modelTopology?: unknown };
    const topo = parseKerasTopology(json.modelTopology);
    const inputs = topo.calls.filter((c) => c.inbound.length === 0);
    const input = inputs.length === 1 ? inputs[0]!.declaredInput : undefined;
    return { input, outputs: outputUnits(topo.calls, outputLayer(json.modelTopology)) };
  } catch {
    return undefined;
  }
}

/** The name of a functional model's single output layer, from the raw topology. */
function outputLayer(topology: unknown): string | undefined {
  const root = (topology as any)?.model_config ?? topology;
  const outs = root?.config?.output_layers;
  return Array.isArray(outs) && outs.length === 1 && Array.isArray(outs[0]) && typeof outs[0][0] === 'string' ? outs[0][0] : undefined;
}

/** Units of the last layer that has them, walking back from the output through activation-like layers. */
function outputUnits(calls: LayerCall[], outputName: string | undefined): number | undefined {
  const byKey = new Map(calls.map((c) => [`${c.name}#${c.node}`, c]));
  let cur = outputName !== undefined ? calls.filter((c) => c.name === outputName).at(-1) : calls.at(-1);
  for (let guard = 0; cur && guard < calls.length; guard++) {
    const units = cur.config.units;
    if (typeof units === 'number') return units;
    if (cur.inbound.length !== 1) return undefined;
    cur = byKey.get(cur.inbound[0]!);
  }
  return undefined;
}

function hasOption(schema: unknown, key: string): boolean {
  const props = (schema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return props !== undefined && Object.hasOwn(props, key);
}

/** Equal rank and equal dims, a model's null dim matching any size. */
function shapeFits(example: number[], input: (number | null)[]): boolean {
  return example.length === input.length && example.every((d, i) => input[i] === null || input[i] === d);
}

/** "16 features per example", "32x32x3 images", "examples of shape [4, 4]". */
function describeExamples(shape: readonly (number | null)[]): string {
  if (shape.length === 1) return `${shape[0]} features per example`;
  if (shape.length === 3) return `${shape.join('x')} images`;
  return `examples of shape [${shape.join(', ')}]`;
}

function describeInput(shape: readonly (number | null)[]): string {
  return shape.length === 3 ? `${shape.map((d) => d ?? '?').join('x')} images` : `[${shape.map((d) => d ?? '?').join(', ')}]`;
}

/** Where a feed is written: the stage's key naming the dataset, else (a default) the dataset's `uses:`. */
function feedPath(recipe: ValidatedRecipe, f: Feed): PathSegment[] {
  const written = [...f.spec.withPath, ...f.rel];
  return nodeAt(recipe.tree, written) !== undefined ? written : ['data', f.name, 'uses'];
}

function where(recipe: ValidatedRecipe, path: PathSegment[]): string {
  const l = locate(recipe.tree, path);
  return `${l.file}:${l.line}:${l.column}`;
}

/**
 * What the builder would refuse in a `build:` once inferred values are in
 * (the schema checked each key alone; this checks them together: an
 * inputShape of the wrong rank for the arch, heads that do not divide
 * dimensions, ...).
 */
function buildProblem(recipe: ValidatedRecipe, o: Origin): Diagnostic | undefined {
  try {
    checkBuildSpec(o.builds[0] as unknown as BuildSpec);
    return undefined;
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    const from = o.inferredFrom?.inputShape;
    const hints = from === undefined ? [] : [`inputShape was inferred from dataset \`${from}\`: give it examples of the shape the arch takes, or set \`${formatPath([...o.path, 'inputShape'])}\``];
    return {
      code: 'bad-value',
      message: `\`${formatPath(o.path)}\`: ${err.message}`,
      path: formatPath(o.path),
      loc: locate(recipe.tree, o.path),
      hints,
    };
  }
}

function shapeDiagnostic(recipe: ValidatedRecipe, f: Feed, d: DatasetDescription, input: (number | null)[]): Diagnostic {
  const o = f.origin;
  const wanted = `[${d.shape.join(', ')}]`;
  let fix: string;
  const hints: string[] = [];
  if (o.kind === 'build') {
    const p = formatPath([...o.path, 'inputShape']);
    const from = o.inferredFrom?.inputShape;
    fix =
      from === undefined
        ? `set \`${p}: ${wanted}\` or remove it to infer it from \`${f.name}\``
        : `the input shape was inferred from dataset \`${from}\`; give \`${f.name}\` the same example shape, or set \`${p}\``;
    hints.push(`the model is built at ${where(recipe, o.path)}`);
  } else {
    fix = `give \`${f.name}\` examples of shape [${input.join(', ')}], or use a model that takes ${wanted}`;
    hints.push(`the model is read from \`${o.from}\` (${where(recipe, o.path)})`);
    if (d.shape.length === 3 && input.length === 1) hints.push('for idx or mnist data, `flatten: true` gives one vector per image');
    if (d.shape.length === 1 && input.length === 3) hints.push('for idx or mnist data, `flatten: false` keeps the image shape');
  }
  const path = feedPath(recipe, f);
  return {
    code: 'shape-mismatch',
    message: `dataset \`${f.name}\` has ${describeExamples(d.shape)} but the model stage \`${f.spec.id}\` feeds it to takes ${describeInput(input)}: ${fix}`,
    path: formatPath(path),
    loc: locate(recipe.tree, path),
    hints,
  };
}

function classesDiagnostic(recipe: ValidatedRecipe, f: Feed, classes: number, outputs: number, filled: boolean): Diagnostic {
  const o = f.origin;
  const declaredPath: PathSegment[] = ['data', f.name, 'classes'];
  const declared = !filled && nodeAt(recipe.tree, declaredPath) !== undefined;
  let fix: string;
  if (declared) {
    fix = `set \`data.${f.name}.classes: ${outputs}\`, or remove it: it defaults to the model's outputs`;
  } else if (o.kind === 'build') {
    const p = formatPath([...o.path, 'classes']);
    fix =
      o.inferredFrom?.classes === undefined
        ? `set \`${p}: ${classes}\` or remove it to infer it from \`${f.name}\``
        : `the model's classes were inferred from dataset \`${o.inferredFrom.classes}\`; set \`${p}\` to the classes of both`;
  } else {
    fix = `use a model with ${classes} outputs, or data with ${outputs} classes`;
  }
  const path = declared ? declaredPath : feedPath(recipe, f);
  return {
    code: 'classes-mismatch',
    message: `dataset \`${f.name}\` ${declared ? 'declares' : 'has'} ${classes} classes but the model stage \`${f.spec.id}\` feeds it to has ${outputs} outputs: ${fix}`,
    path: formatPath(path),
    loc: locate(recipe.tree, path),
    hints: [o.kind === 'build' ? `the model is built at ${where(recipe, o.path)}` : `the model is read from \`${o.from}\` (${where(recipe, o.path)})`],
  };
}

function dataErrorDiagnostic(recipe: ValidatedRecipe, name: string, err: Error & { code: string; detail: string; option?: string; hint?: string }, feed: Feed | undefined): Diagnostic {
  // An option at fault (contradicting options, a folder with no images) is
  // located at its value, as planning does (src/plan/data-fingerprints.ts).
  const at = err.option === undefined ? undefined : ['data', name, err.option];
  if (at && nodeAt(recipe.tree, at)) {
    return { code: 'data-error', message: `dataset \`${name}\`: ${err.message}`, path: formatPath(at), loc: locate(recipe.tree, at), hints: err.hint ? [err.hint] : [] };
  }
  const path = feed ? feedPath(recipe, feed) : ['data', name, 'uses'];
  const outputs = feed?.origin.io?.outputs;
  const label = err.code === 'label-out-of-range' && outputs !== undefined;
  return {
    code: 'data-error',
    message: `dataset \`${name}\`: ${err.message}`,
    path: formatPath(path),
    loc: locate(recipe.tree, path),
    hints: label
      ? [
          `the model stage \`${feed!.spec.id}\` feeds it to has ${outputs} outputs, so labels must be 0..${outputs - 1}: fix the label, or give the model more outputs${feed!.origin.kind === 'build' ? ` (\`${formatPath([...feed!.origin.path, 'classes'])}\`)` : ''}`,
        ]
      : [],
  };
}
