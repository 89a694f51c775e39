/**
 * Stage `example/weight-report`: a fan-in stage. It receives every upstream
 * candidate at once (e.g. all `prune[sparsity=...]` nodes of a matrix, plus
 * the unpruned model) and writes report.json + report.md comparing their
 * weight files: nonzero weights, raw shard bytes and gzip bytes.
 *
 * Why: pruning leaves the raw float32 file the same size (a zero is still
 * 4 bytes); the gain only shows after compression, which is how the model
 * travels over HTTP. This report makes that visible per candidate.
 *
 * Reads the files only (node:fs, node:zlib); no tfjs needed.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { defineStage } from 'modelpress/plugin';

export default defineStage({
  name: 'example/weight-report',
  version: '1',
  description: 'Compares the weight files of every upstream candidate: nonzeros, raw and gzip bytes.',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      level: {
        type: 'integer',
        minimum: 1,
        maximum: 9,
        default: 9,
        description: 'gzip level used to measure compressed size (9 = smallest, as for static files served pre-compressed).',
      },
    },
  },
  outputs: ['report'],
  // Without fanIn, a stage after a matrix stage would itself fan out: one
  // report per candidate. With it, this stage runs once and sees them all.
  fanIn: true,

  async run(ctx, config, inputs) {
    const rows = [];
    for (const up of inputs.upstream) {
      ctx.signal.throwIfAborted();
      const model = up.outputs.model;
      if (!model) {
        ctx.logger.debug(`${up.node} has no model output; skipped`);
        continue;
      }
      rows.push({ node: up.node, stage: up.stage, matrix: up.matrix, ...(await measure(model.dir, config.level)) });
      ctx.progress({ done: rows.length, total: inputs.upstream.length, unit: 'candidates' });
    }
    if (rows.length === 0) throw new Error('no upstream candidate has a `model` output');

    const baseline = rows[0];
    for (const r of rows) r.gzipVsFirst = round(r.gzipBytes / baseline.gzipBytes);
    const best = rows.reduce((a, b) => (b.gzipBytes < a.gzipBytes ? b : a));

    const dir = await ctx.outputDir('report');
    const report = { generatedBy: 'example/weight-report@1', gzipLevel: config.level, best: best.node, candidates: rows };
    await writeFile(join(dir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
    await writeFile(join(dir, 'report.md'), markdown(rows, best, config.level));
    ctx.logger.info(`best by gzip size: ${best.node} (${best.gzipBytes} bytes)`);
    return {
      outputs: { report: dir },
      metrics: { best: best.node, bestGzipBytes: best.gzipBytes, candidates: rows.length },
    };
  },
});

/** Sizes of one tfjs LayersModel directory's weight shards. */
async function measure(dir, level) {
  const modelJson = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
  let rawBytes = 0;
  let gzipBytes = 0;
  let weights = 0;
  let nonzeros = 0;
  for (const group of modelJson.weightsManifest ?? []) {
    const shards = await Promise.all(group.paths.map((p) => readFile(join(dir, p))));
    // Each shard is a separate HTTP response, so each is compressed on its own.
    for (const s of shards) {
      rawBytes += s.byteLength;
      gzipBytes += gzipSync(s, { level }).byteLength;
    }
    const bytes = Buffer.concat(shards);
    let offset = 0;
    for (const spec of group.weights) {
      const n = spec.shape.reduce((a, b) => a * b, 1);
      if (spec.dtype === 'float32' && !spec.quantization) {
        for (let k = 0; k < n; k++) if (bytes.readFloatLE(offset + k * 4) !== 0) nonzeros++;
        weights += n;
        offset += n * 4;
      } else {
        // The custom-stages example only produces float32; a report over quantized models would decode them here.
        throw new Error(`${dir}: ${spec.name} is ${spec.quantization ? `quantized (${spec.quantization.dtype})` : spec.dtype}; this report reads float32 only`);
      }
    }
  }
  return { weights, nonzeros, density: round(nonzeros / weights), rawBytes, gzipBytes, gzipRatio: round(gzipBytes / rawBytes) };
}

function markdown(rows, best, level) {
  const matrix = (m) => Object.entries(m).map(([k, v]) => `${k}=${v}`).join(', ') || '-';
  const lines = [
    '# Weight report',
    '',
    `Weight shards of ${rows.length} candidates; gzip level ${level}, each shard compressed on its own.`,
    '',
    '| node | matrix | nonzero weights | raw bytes | gzip bytes | gzip / raw | gzip vs first |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) =>
      `| \`${r.node}\` | ${matrix(r.matrix)} | ${r.nonzeros} / ${r.weights} (${(r.density * 100).toFixed(1)}%) | ${r.rawBytes} | ${r.gzipBytes} | ${r.gzipRatio.toFixed(3)} | ${r.gzipVsFirst.toFixed(3)} |`),
    '',
    `Smallest after gzip: \`${best.node}\` (${best.gzipBytes} bytes).`,
    '',
  ];
  return lines.join('\n');
}

function round(x) {
  return Math.round(x * 1e4) / 1e4;
}
