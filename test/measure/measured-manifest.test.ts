/**
 * measured.json: pointers (with `*`) remove measured values before
 * `reproduce` compares an artifact; listed files are left out whole.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deterministicDigest, removePointer } from '../../src/measure/measured-manifest.js';

describe('removePointer', () => {
  test.each([
    ['/a', { a: 1, b: 2 }, { b: 2 }],
    ['/c/*/latency', { c: [{ latency: 1, size: 2 }, { latency: 3, size: 4 }] }, { c: [{ size: 2 }, { size: 4 }] }],
    ['/c/*', { c: { x: 1, y: 2 } }, { c: {} }],
    ['/a~1b', { 'a/b': 1, c: 2 }, { c: 2 }],
    ['/missing/x', { a: 1 }, { a: 1 }],
  ])('%s', (pointer, value, expected) => {
    removePointer(value, pointer);
    expect(value).toEqual(expected);
  });
});

describe('deterministicDigest', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mp-measured-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function artifact(name: string, report: unknown, md: string, manifest = true): Promise<string> {
    const d = join(dir, name);
    await rm(d, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(d, { recursive: true }));
    await writeFile(join(d, 'report.json'), JSON.stringify(report));
    await writeFile(join(d, 'report.md'), md);
    if (manifest) await writeFile(join(d, 'measured.json'), JSON.stringify({ version: 1, files: ['report.md'], json: { 'report.json': ['/candidates/*/latency'] } }));
    return d;
  }

  test('equal when only measured values differ, different when anything else does, undefined without a manifest', async () => {
    const a = await deterministicDigest(await artifact('a', { candidates: [{ accuracy: 90, latency: { p95Ms: 1.2 } }] }, 'p95 1.2 ms'));
    const b = await deterministicDigest(await artifact('b', { candidates: [{ accuracy: 90, latency: { p95Ms: 5.1 } }] }, 'p95 5.1 ms'));
    const c = await deterministicDigest(await artifact('c', { candidates: [{ accuracy: 91, latency: { p95Ms: 1.2 } }] }, 'p95 1.2 ms'));
    expect(a!.digest).toBe(b!.digest);
    expect(c!.digest).not.toBe(a!.digest);
    expect(a!.excluded).toEqual(['report.md', 'report.json /candidates/*/latency']);
    expect(await deterministicDigest(await artifact('d', {}, '', false))).toBeUndefined();
  });
});
