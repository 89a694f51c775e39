/**
 * Reads the Keras topology JSON of a tfjs LayersModel (model.json
 * `modelTopology`) into a flat list of layer calls, without loading tfjs.
 *
 * Why parse the JSON instead of asking a loaded tfjs model for its layers:
 * the measurements that use this (parameters, MACs) must run anywhere, fast,
 * on any artifact in the cache, including ones whose layers tfjs cannot
 * instantiate (custom layers from plugins); and the JSON is the contract that
 * ships, so it is what should be measured.
 *
 * Shapes of the JSON this accepts (all seen in the wild):
 * - tfjs `model.save()`: `{class_name, config, keras_version, backend}`.
 * - the Python converter (tensorflowjs_converter --input_format keras):
 *   `{keras_version, backend, model_config: {class_name, config}}`.
 * - `Sequential`: `config.layers` (or, in old files, `config` itself) is the
 *   ordered list; the input shape is an `InputLayer` entry (Keras) or the
 *   first layer's `batch_input_shape` (tfjs).
 * - `Model` / `Functional`: every layer lists `inbound_nodes`, one node per
 *   call, each a list of `[layerName, nodeIndex, tensorIndex, kwargs]`
 *   (Keras 2 and tfjs). Keras 3's `{args: [{config: {keras_history}}]}` form
 *   is read too. Each call becomes its own `LayerCall`, so a layer shared by
 *   two branches is counted twice, as it is computed twice.
 */

/** A shape without the batch dimension; null for a dimension unknown until run time. */
export type Shape = (number | null)[];

/** One call of a layer. */
export interface LayerCall {
  /** The layer's name (unique in the model; weight names start with `${name}/`). */
  name: string;
  /** Keras class name, e.g. 'Dense', 'Conv2D'. */
  className: string;
  /** The layer's config as stored (snake_case keys). */
  config: Record<string, unknown>;
  /** Index of this call among the layer's calls (0 for all Sequential layers). */
  node: number;
  /** The calls feeding this one, as `${layerName}#${node}` keys; empty for an input. */
  inbound: string[];
  /** For input layers (and a Sequential's first layer): the declared input shape. */
  declaredInput?: Shape;
}

export interface KerasTopology {
  kind: 'Sequential' | 'Functional';
  /** The model's name from the topology, if any. */
  name: string | undefined;
  /** In execution order: every call's inbound calls come before it. */
  calls: LayerCall[];
}

/** The key a call is referenced by in `inbound`. */
export function callKey(name: string, node: number): string {
  return `${name}#${node}`;
}

/**
 * Parses `modelTopology`. @throws TypeError naming what is wrong when it is
 * not a Keras Sequential / Functional topology.
 */
export function parseKerasTopology(modelTopology: unknown): KerasTopology {
  let root = asRecord(modelTopology, 'modelTopology');
  if (root['model_config'] !== undefined) root = asRecord(root['model_config'], 'modelTopology.model_config');
  const className = root['class_name'];
  const config = root['config'];
  if (className === 'Sequential') return parseSequential(config);
  if (className === 'Model' || className === 'Functional') return parseFunctional(config);
  throw new TypeError(
    `Expected modelTopology to be a Keras Sequential or Functional model, got class_name ${JSON.stringify(className)}`,
  );
}

function parseSequential(config: unknown): KerasTopology {
  // Old tfjs/Keras files store the layer list as the whole config.
  const record = Array.isArray(config) ? { layers: config } : asRecord(config, 'Sequential config');
  const layers = asArray(record['layers'], 'Sequential config.layers');
  const calls: LayerCall[] = [];
  let previous: string | undefined;
  layers.forEach((raw, i) => {
    const layer = asRecord(raw, `layers[${i}]`);
    const cls = asString(layer['class_name'], `layers[${i}].class_name`);
    const cfg = asRecord(layer['config'] ?? {}, `layers[${i}].config`);
    const name = typeof cfg['name'] === 'string' ? cfg['name'] : `${cls}_${i}`;
    const call: LayerCall = { name, className: cls, config: cfg, node: 0, inbound: previous === undefined ? [] : [previous] };
    if (previous === undefined) {
      const shape = declaredShape(cfg);
      if (shape) call.declaredInput = shape;
    }
    calls.push(call);
    previous = callKey(name, 0);
  });
  return { kind: 'Sequential', name: typeof record['name'] === 'string' ? record['name'] : undefined, calls };
}

function parseFunctional(config: unknown): KerasTopology {
  const record = asRecord(config, 'Functional config');
  const layers = asArray(record['layers'], 'Functional config.layers');
  const pending: LayerCall[] = [];
  layers.forEach((raw, i) => {
    const layer = asRecord(raw, `layers[${i}]`);
    const cls = asString(layer['class_name'], `layers[${i}].class_name`);
    const cfg = asRecord(layer['config'] ?? {}, `layers[${i}].config`);
    const name = typeof layer['name'] === 'string' ? layer['name'] : asString(cfg['name'], `layers[${i}].config.name`);
    const nodes = Array.isArray(layer['inbound_nodes']) ? layer['inbound_nodes'] : [];
    if (nodes.length === 0) {
      const call: LayerCall = { name, className: cls, config: cfg, node: 0, inbound: [] };
      const shape = declaredShape(cfg);
      if (shape) call.declaredInput = shape;
      pending.push(call);
      return;
    }
    nodes.forEach((node, n) => {
      pending.push({ name, className: cls, config: cfg, node: n, inbound: inboundKeys(node, `${name}.inbound_nodes[${n}]`) });
    });
  });
  // Keras writes layers in creation order, which is already topological; the
  // sort below only guards against hand-edited files.
  return { kind: 'Functional', name: typeof record['name'] === 'string' ? record['name'] : undefined, calls: topoSort(pending) };
}

/** The inbound call keys of one node, in either the Keras 2 / tfjs or the Keras 3 form. */
function inboundKeys(node: unknown, where: string): string[] {
  if (Array.isArray(node)) {
    return node.map((entry, i) => {
      const e = asArray(entry, `${where}[${i}]`);
      return callKey(asString(e[0], `${where}[${i}][0]`), typeof e[1] === 'number' ? e[1] : 0);
    });
  }
  const args = asRecord(node, where)['args'];
  const keys: string[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (value === null || typeof value !== 'object') return;
    const history = ((value as Record<string, unknown>)['config'] as Record<string, unknown> | undefined)?.['keras_history'];
    if (Array.isArray(history) && typeof history[0] === 'string') {
      keys.push(callKey(history[0], typeof history[1] === 'number' ? history[1] : 0));
    }
  };
  visit(args);
  return keys;
}

function topoSort(calls: LayerCall[]): LayerCall[] {
  const done = new Set<string>();
  const out: LayerCall[] = [];
  let rest = calls;
  while (rest.length > 0) {
    const next: LayerCall[] = [];
    for (const call of rest) {
      if (call.inbound.every((k) => done.has(k))) {
        out.push(call);
        done.add(callKey(call.name, call.node));
      } else {
        next.push(call);
      }
    }
    if (next.length === rest.length) {
      const missing = next[0]!.inbound.find((k) => !done.has(k));
      throw new TypeError(`Functional topology: layer ${JSON.stringify(next[0]!.name)} takes ${missing}, which no layer produces`);
    }
    rest = next;
  }
  return out;
}

/** The input shape (without batch) a layer config declares, if any. */
function declaredShape(cfg: Record<string, unknown>): Shape | undefined {
  for (const key of ['batch_input_shape', 'batch_shape', 'batchInputShape']) {
    const v = cfg[key];
    if (Array.isArray(v) && v.length >= 1) return v.slice(1).map(dim);
  }
  for (const key of ['input_shape', 'inputShape']) {
    const v = cfg[key];
    if (Array.isArray(v)) return v.map(dim);
  }
  // Keras 1-era Dense/Conv configs: input_dim alone.
  const inputDim = cfg['input_dim'];
  if (typeof inputDim === 'number') return [inputDim];
  return undefined;
}

function dim(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : null;
}

function asRecord(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new TypeError(`Expected ${what} to be an object, got ${show(v)}`);
  return v as Record<string, unknown>;
}

function asArray(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new TypeError(`Expected ${what} to be a list, got ${show(v)}`);
  return v;
}

function asString(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new TypeError(`Expected ${what} to be a string, got ${show(v)}`);
  return v;
}

function show(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return 'a list';
  if (v !== null && typeof v === 'object') return 'an object';
  return JSON.stringify(v) ?? String(v);
}
