/**
 * Single (layer, option) measurements kept across runs, so a wider sweep
 * (more levels, more layers) measures only what is new. The node cache
 * cannot do this: its key covers the whole config, so any new level is a
 * miss for every point. One small JSON file per measurement under
 * `memo.dir`, keyed by a sha256 over what decides the number: the stage
 * version, the model's digest, the calibration examples' fingerprint, the
 * metric, the batch size, the layer and the setting. Files are written to a
 * temp name and renamed, so a file is whole or absent; an unreadable one is
 * a miss.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export function measurementKey(record: Record<string, string | number>): string {
  const canonical = JSON.stringify(Object.keys(record).sort().map((k) => [k, record[k]]));
  return createHash('sha256').update(canonical).digest('hex');
}

export class MeasurementMemo {
  constructor(readonly dir: string) {}

  async get(key: string): Promise<number | undefined> {
    try {
      const v = (JSON.parse(await readFile(join(this.dir, `${key}.json`), 'utf8')) as { value?: unknown }).value;
      return typeof v === 'number' ? v : undefined;
    } catch {
      return undefined;
    }
  }

  async put(key: string, value: number): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `.tmp-${key}-${process.pid}`);
    await writeFile(tmp, `${JSON.stringify({ value })}\n`);
    await rename(tmp, join(this.dir, `${key}.json`));
  }
}
