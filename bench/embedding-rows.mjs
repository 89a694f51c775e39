#!/usr/bin/env node
/**
 * Per-row vs per-tensor quantization of an embedding table: reconstruction
 * error and packed bytes (what `export` writes) for a synthetic table whose
 * token rows differ 40x in scale (log-uniform 0.05 .. 2, as rare and
 * frequent tokens of a trained table do), seeded, so every run prints the
 * same numbers.
 *
 *   npm run build && node bench/embedding-rows.mjs [--rows N] [--dim D]
 */
import { dist, opt } from './lib/cli.mjs';

const rows = Number(opt('--rows', 1000));
const dim = Number(opt('--dim', 64));
const { quantizeRows, quantizeTensor, rowQuantizedWeight, quantizedWeight, withWeights } = await import(dist('formats/weight-quantization.js'));
const { packArtifacts } = await import(dist('formats/packed.js'));

const table = new Float32Array(rows * dim);
let s = 7;
const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
for (let r = 0; r < rows; r++) {
  const scale = 0.05 * 40 ** (r / Math.max(1, rows - 1));
  for (let c = 0; c < dim; c++) table[r * dim + c] = Math.fround((scale * (rand() + rand() + rand())) / 3);
}

function errors(d) {
  let se = 0;
  let rel = 0;
  let worst = 0;
  for (let r = 0; r < rows; r++) {
    let e = 0;
    let n = 0;
    for (let c = 0; c < dim; c++) {
      const i = r * dim + c;
      e += (table[i] - d[i]) ** 2;
      n += table[i] ** 2;
    }
    se += e;
    const x = Math.sqrt(e / n);
    rel += x;
    worst = Math.max(worst, x);
  }
  return { rmse: Math.sqrt(se / table.length), meanRowRel: rel / rows, worstRowRel: worst };
}
const packed = (w) => packArtifacts(withWeights({ modelTopology: {} }, [w])).breakdown.tensors[0].bytes;

const lines = [];
for (const dtype of ['uint8', 'uint16']) {
  const t = quantizeTensor(table, dtype);
  lines.push({ storage: `${dtype} per tensor`, ...errors(t.dequantized), packedBytes: packed(quantizedWeight('e/embeddings', [rows, dim], t)) });
  const r = quantizeRows(table, rows, dtype);
  lines.push({ storage: `${dtype} per row`, ...errors(r.dequantized), packedBytes: packed(rowQuantizedWeight('e/embeddings', [rows, dim], r)) });
}
console.log(`embedding ${rows} x ${dim}, float32 ${rows * dim * 4} bytes`);
console.log('| storage | RMSE | mean row rel. error | worst row rel. error | packed bytes |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const l of lines) console.log(`| ${l.storage} | ${l.rmse.toExponential(2)} | ${(100 * l.meanRowRel).toFixed(3)}% | ${(100 * l.worstRowRel).toFixed(3)}% | ${l.packedBytes} |`);
