/**
 * `cache explain` says when the code or tfjs behind an entry is no longer
 * what is installed (src/plan/code-drift.ts), on a real copy of dist/.
 */
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { codeDriftSince } from '../../src/plan/code-drift.js';
import type { KeyRecord } from '../../src/plan/key-record.js';
import { stageCode } from '../../src/plan/stage-code.js';
import { tfjsVersions } from '../../src/plan/tfjs-versions.js';
import { PACKAGE_ROOT } from '../../src/package-info.js';
import { useTempDirs } from './helpers.js';

const tempDir = useTempDirs();

async function recordFor(name: string, dir: string): Promise<KeyRecord> {
  const code = await stageCode({ def: { name }, source: 'builtin' }, dir, { dir });
  return {
    modelpress: '0.1.0',
    stage: { name, version: '1', code: code.digest, files: Object.keys(code.files).length },
    tfjs: tfjsVersions('wasm'),
    config: {},
    inputs: [],
    data: {},
    seed: 0,
    backend: 'wasm',
  };
}

describe('codeDriftSince', () => {
  test('nothing while code and tfjs are as installed; then the stage code change, and a tfjs upgrade', async () => {
    const root = await tempDir();
    await cp(join(PACKAGE_ROOT, 'dist'), join(root, 'dist'), { recursive: true });
    const dir = join(root, 'dist');
    const record = await recordFor('quantize', dir);
    expect(await codeDriftSince(record, { dir })).toEqual([]);

    const file = join(dir, 'stages/quantize/quantize.js');
    await writeFile(file, (await readFile(file, 'utf8')).replace('weightBytesBefore / info.weightBytes', 'weightBytesBefore / info.weightBytes / 2'));
    expect(await codeDriftSince(record, { dir })).toEqual(['stage code changed']);

    const installed = (JSON.parse(await readFile(join(PACKAGE_ROOT, 'node_modules/@tensorflow/tfjs-core/package.json'), 'utf8')) as { version: string }).version;
    const old = { ...(await recordFor('train', dir)), tfjs: { ...tfjsVersions('wasm'), core: '4.0.0' } };
    expect(await codeDriftSince(old, { dir })).toEqual([`tfjs 4.0.0 -> ${installed}`]);
  });

  test('a plugin stage: its code is not compared (the record does not name its file), tfjs is', async () => {
    const dir = join(PACKAGE_ROOT, 'dist');
    const record = { ...(await recordFor('train', dir)), stage: { name: 'my/stage', version: '1', code: `sha256:${'0'.repeat(64)}`, files: 1 } };
    expect(await codeDriftSince(record, { dir })).toEqual([]);
    expect(await codeDriftSince({ ...record, tfjs: undefined } as unknown as KeyRecord, { dir })).toEqual([
      `tfjs unrecorded -> ${tfjsVersions('wasm').core}`,
      `tfjs backend unrecorded -> ${tfjsVersions('wasm').backend}`,
    ]);
  });
});
