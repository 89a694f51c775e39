/**
 * What `modelpress inspect model.onnx` shows: the graph (every node, its op
 * and whether modelpress supports it), the tfjs mapping chosen for each
 * node, and the comparison with ONNX Runtime on seeded random inputs. A file
 * the importer refuses is still inspected: the graph is listed and the
 * refusal is part of the result, not an exception.
 */
import type { Tf } from '../../engine/tf.js';
import type { OutputComparison } from './compare-runtimes.js';
import { RELATIVE_TOLERANCE, compareWithOnnxRuntime } from './compare-runtimes.js';
import type { NodeMapping } from './import-context.js';
import { importOnnxModel } from './import-onnx.js';
import { OnnxError } from './onnx-error.js';
import { isSupportedOp } from './op-table.js';
import type { OnnxModel } from './read-model.js';
import { readOnnxModel } from './read-model.js';

export interface OnnxInspection {
  file: string;
  opset: number;
  producer: string;
  inputs: { name: string; dims: (number | string | undefined)[] }[];
  outputs: { name: string; dims: (number | string | undefined)[] }[];
  nodes: { index: number; name: string; opType: string; inputs: string[]; outputs: string[]; supported: boolean; mapping?: string }[];
  params: number;
  /** Set when the import worked. */
  comparison?: OutputComparison[];
  /** Set when the importer refused the file. */
  error?: OnnxError;
}

export interface InspectOnnxOptions {
  /** Seed of the random inputs. Default: 1. */
  seed?: number;
  /** Batch of the random inputs. Default: the file's batch when fixed, else 4. */
  batch?: number;
}

/**
 * Inspects `bytes`. Throws OnnxError only when the file cannot be read at
 * all (not ONNX, truncated, unsupported opset): there is no graph to show.
 */
export async function inspectOnnx(tf: Tf, bytes: Uint8Array, file: string, options: InspectOnnxOptions = {}): Promise<OnnxInspection> {
  const model: OnnxModel = readOnnxModel(bytes, file);
  const base: OnnxInspection = {
    file,
    opset: model.opset,
    producer: model.producer,
    inputs: model.inputs.map((i) => ({ name: i.name, dims: i.dims ?? [] })),
    outputs: model.outputs.map((o) => ({ name: o.name, dims: o.dims ?? [] })),
    nodes: model.nodes.map((n) => ({ index: n.index, name: n.name, opType: n.opType, inputs: n.inputs, outputs: n.outputs, supported: isSupportedOp(n.opType, n.domain) })),
    params: [...model.initializers.values()].filter((t) => t.kind === 'float32').reduce((s, t) => s + t.data.length, 0),
  };
  let mappings: NodeMapping[];
  try {
    const imported = importOnnxModel(tf, model);
    mappings = imported.mappings;
    base.comparison = await compareWithOnnxRuntime(tf, bytes, imported, { seed: options.seed ?? 1, batch: options.batch });
    imported.model.dispose();
  } catch (err) {
    if (!(err instanceof OnnxError)) throw err;
    return { ...base, error: err };
  }
  const byIndex = new Map(mappings.map((m) => [m.index, m.mapping]));
  return { ...base, nodes: base.nodes.map((n) => ({ ...n, mapping: byIndex.get(n.index) })) };
}

const dims = (d: (number | string | undefined)[]): string => `[${d.map((x) => x ?? '?').join(', ')}]`;

/** The human rendering `inspect` prints. */
export function formatOnnxInspection(r: OnnxInspection): string {
  const lines = [
    `${r.file}: ONNX, opset ${r.opset}${r.producer ? `, from ${r.producer}` : ''}, ${r.nodes.length} nodes, ${r.params} parameters`,
    `inputs:  ${r.inputs.map((i) => `${i.name} ${dims(i.dims)}`).join(', ')}`,
    `outputs: ${r.outputs.map((o) => `${o.name} ${dims(o.dims)}`).join(', ')}`,
    '',
    'graph -> tfjs:',
  ];
  const width = Math.max(...r.nodes.map((n) => `${n.index} ${n.opType}`.length));
  for (const n of r.nodes) {
    const head = `${n.index} ${n.opType}`.padEnd(width);
    const what = n.mapping ?? (n.supported ? (r.error ? '(not reached)' : '') : 'NOT SUPPORTED');
    lines.push(`  ${head}  ${n.name ? `${n.name}: ` : ''}${what}`);
  }
  lines.push('');
  if (r.error) {
    lines.push(`import refused: ${r.error.message}`, ...r.error.hints.map((h) => `  = ${h}`));
  } else {
    for (const c of r.comparison ?? []) {
      lines.push(
        `vs ONNX Runtime (random inputs), output ${c.name} ${dims(c.dims)}: max |difference| ${c.maxAbsDiff.toExponential(2)}, ` +
          `${c.relDiff.toExponential(2)} of the output scale (allowed ${RELATIVE_TOLERANCE}), argmax mismatches ${c.argmaxMismatches}: ${c.ok ? 'ok' : 'MISMATCH'}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
