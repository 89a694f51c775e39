/**
 * Stage `example/magnitude-prune`: one-shot magnitude pruning. In every
 * 2-D kernel (dense layers' weight matrices), the `sparsity` fraction of
 * weights with the smallest |w| is set to exactly 0. Biases and every other
 * tensor are copied unchanged.
 *
 * Why: zeros cost as much as any float32 in the raw file, but a run of zero
 * bytes compresses to almost nothing, so the gzip (what a web server sends)
 * shrinks with sparsity. Without fine-tuning accuracy drops; the built-in
 * `prune` stage prunes gradually while training instead.
 *
 * Works on the files only (node:fs + typed arrays, no tfjs): it reads the
 * tfjs weights manifest, rewrites the float32 little-endian values in place in
 * a copy, and writes model.json and shards with exactly the input's layout, so
 * the result loads with stock `tf.loadLayersModel`.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineStage } from 'modelpress/plugin';

export default defineStage({
  name: 'example/magnitude-prune',
  // Part of the cache key: bump it when the same config would prune differently.
  version: '1',
  description: 'Zeroes the smallest-magnitude fraction of every 2-D kernel (one shot, no fine-tuning).',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      sparsity: {
        type: 'number',
        minimum: 0,
        maximum: 1,
        default: 0.5,
        description: 'Fraction of each kernel to set to zero, 0..1 (0.9 keeps the largest 10% of weights). Set it explicitly; the default is only a starting point.',
      },
      minSize: {
        type: 'integer',
        minimum: 1,
        default: 1,
        description: 'Kernels with fewer weights than this are copied unpruned (small layers, e.g. the output layer, are often the most sensitive).',
      },
    },
  },
  outputs: ['model'],

  async run(ctx, config, inputs) {
    const { sparsity, minSize } = config;
    // `inputs.model` is the first upstream `model` output: a read-only cache
    // entry. Read from it, never write into it.
    if (!inputs.model) throw new Error('needs an upstream stage that outputs `model`');
    const src = inputs.model.dir;
    const modelJson = JSON.parse(await readFile(join(src, 'model.json'), 'utf8'));
    const manifest = modelJson.weightsManifest;
    if (!Array.isArray(manifest)) throw new Error(`${join(src, 'model.json')} has no weightsManifest`);

    // Load every group as one buffer (a group's shards are one byte stream, split at arbitrary points).
    const groups = [];
    for (const group of manifest) {
      const shards = await Promise.all(group.paths.map((p) => readFile(join(src, p))));
      const bytes = new Uint8Array(Buffer.concat(shards)); // a private copy: edits never reach the input
      const expected = group.weights.reduce((n, w) => n + byteSize(w), 0);
      if (bytes.byteLength !== expected) {
        throw new Error(`weights manifest describes ${expected} bytes but shards ${group.paths.join(', ')} hold ${bytes.byteLength}`);
      }
      groups.push({ group, bytes, shardSizes: shards.map((s) => s.byteLength) });
    }

    const kernels = [];
    for (const { group, bytes } of groups) {
      let offset = 0;
      for (const spec of group.weights) {
        if (spec.shape.length === 2) kernels.push({ spec, bytes, offset });
        offset += byteSize(spec);
      }
    }

    const perLayer = {};
    let total = 0;
    let zeros = 0;
    for (const [i, { spec, bytes, offset }] of kernels.entries()) {
      // Between units of work is where a stage notices an interrupted run.
      ctx.signal.throwIfAborted();
      const size = spec.shape[0] * spec.shape[1];
      if (spec.dtype !== 'float32' || spec.quantization) {
        ctx.logger.warn(`skipping ${spec.name}: only unquantized float32 kernels can be pruned`);
      } else if (size < minSize) {
        ctx.logger.debug(`skipping ${spec.name}: ${size} weights < minSize ${minSize}`);
      } else {
        const view = new DataView(bytes.buffer, bytes.byteOffset + offset, size * 4);
        const zeroed = pruneKernel(view, size, sparsity);
        perLayer[spec.name] = round(zeroed / size);
        total += size;
        zeros += zeroed;
      }
      ctx.progress({ done: i + 1, total: kernels.length, unit: 'layers', message: spec.name });
    }

    // Same model.json, same shard names and sizes: only weight values changed.
    const out = await ctx.outputDir('model');
    await mkdir(out, { recursive: true });
    for (const { group, bytes, shardSizes } of groups) {
      let at = 0;
      for (const [j, path] of group.paths.entries()) {
        await writeFile(join(out, path), bytes.subarray(at, at + shardSizes[j]));
        at += shardSizes[j];
      }
    }
    await writeFile(join(out, 'model.json'), JSON.stringify(modelJson));

    const totalSparsity = total === 0 ? 0 : round(zeros / total);
    ctx.logger.info(`pruned ${Object.keys(perLayer).length} kernels to ${totalSparsity} sparsity`);
    return {
      outputs: { model: out },
      metrics: { sparsity: perLayer, totalSparsity, nonzeros: total - zeros, prunedWeights: total },
    };
  },
});

/**
 * Zeroes the round(sparsity * size) smallest |w| in a float32 LE kernel and
 * returns how many weights are zero afterwards. Ties are broken by position
 * (lower index is pruned first), so the result never depends on sort
 * stability. NaN counts as largest: it is never hidden by pruning.
 */
function pruneKernel(view, size, sparsity) {
  const mag = new Float32Array(size);
  for (let k = 0; k < size; k++) {
    const a = Math.abs(view.getFloat32(k * 4, true));
    mag[k] = Number.isNaN(a) ? Infinity : a;
  }
  const order = new Uint32Array(size);
  for (let k = 0; k < size; k++) order[k] = k;
  order.sort((a, b) => mag[a] - mag[b] || a - b);
  const count = Math.min(size, Math.round(sparsity * size));
  for (let k = 0; k < count; k++) view.setFloat32(order[k] * 4, 0, true);
  let zeroed = 0;
  for (let k = 0; k < size; k++) if (view.getFloat32(k * 4, true) === 0) zeroed++;
  return zeroed;
}

/** Bytes one manifest entry occupies in the weight data (tfjs's own rules). */
function byteSize(spec) {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  if (spec.quantization) {
    const q = { uint8: 1, uint16: 2, float16: 2 }[spec.quantization.dtype];
    if (q === undefined) throw new Error(`${spec.name}: unknown quantization dtype ${spec.quantization.dtype}`);
    return n * q;
  }
  const b = { float32: 4, int32: 4, bool: 1, complex64: 8 }[spec.dtype];
  // string tensors have per-element lengths inside the data; this stage cannot skip over them.
  if (b === undefined) throw new Error(`${spec.name}: dtype ${spec.dtype} is not supported`);
  return n * b;
}

function round(x) {
  return Math.round(x * 1e6) / 1e6;
}
