/**
 * Every float32 weight of a tfjs model directory, read straight from its
 * shard files by the manifest: what a stage wrote, byte for byte, without
 * tfjs in between.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function weightsOf(dir: string): Promise<Map<string, Float32Array>> {
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as {
    weightsManifest: { paths: string[]; weights: { name: string; shape: number[] }[] }[];
  };
  const out = new Map<string, Float32Array>();
  for (const group of json.weightsManifest) {
    const bytes = Buffer.concat(await Promise.all(group.paths.map((p) => readFile(join(dir, p)))));
    let offset = 0;
    for (const w of group.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      out.set(w.name, new Float32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + 4 * n)));
      offset += 4 * n;
    }
  }
  return out;
}
