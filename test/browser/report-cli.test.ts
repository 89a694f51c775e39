/**
 * The browser check through the real CLI (built dist/, child process):
 * `modelpress report <run-dir> --screenshot`, the report.png written after a
 * run that targets a browser, and what a machine without Chromium gets.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { RunRecord } from '../../src/run/run-record.js';
import { runCli } from '../cli/run-cli.js';
import { describeWithBrowser } from '../helpers/browser.js';
import { WORK_PLUGIN } from '../run/helpers.js';
import { fakeNode, fakeRunRecord } from '../helpers/run-record.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const NO_BROWSER = { MODELPRESS_CHROMIUM: '/nonexistent/chromium' };

/** A one-node run record with an accuracy: the stages chart has one point. */
function runRecord(): RunRecord {
  return fakeRunRecord('cli-demo', [fakeNode('train', 'train', { accuracy: 97.5 }, { durationMs: 9000 })], { durationMs: 10_000 });
}

/** A recipe of one fast fixture stage with a `runtime: browser` device. */
function browserRecipe(): string {
  return stringify({
    version: 1, name: 'browser-target', plugins: [WORK_PLUGIN],
    devices: { web: { runtime: 'browser', threads: 1, batch: 1 } },
    stages: [{ id: 'hash', uses: 'test/hash-chain', with: { label: 'x', rounds: 10 } }],
  });
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mp-report-cli-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function runDirWithRecord(name: string): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir);
  await writeFile(join(dir, 'run.json'), JSON.stringify(runRecord()));
  return dir;
}

describeWithBrowser('modelpress report --screenshot (Chromium present)', () => {
  test('checks the report, writes report.png, one summary line, exit 0', async () => {
    const dir = await runDirWithRecord('ok');
    const r = await runCli(['report', dir, '--screenshot'], { cwd: root });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `wrote ${join(dir, 'report.md')} and ${join(dir, 'report.html')}\n` +
        `browser check ok: 1/1 chart(s) rendered (1 marks), 0 console error(s), 0 external request(s); screenshot ${join(dir, 'report.png')}\n`,
    );
    expect((await readFile(join(dir, 'report.png'))).subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  });

  test('a run whose recipe targets a browser also writes report.png', async () => {
    const dir = join(root, 'hook');
    await mkdir(dir);
    await writeFile(join(dir, 'recipe.yaml'), browserRecipe());
    const out = join(dir, 'run');
    const r = await runCli(['run', join(dir, 'recipe.yaml'), '--out', out, '--cache-dir', join(dir, 'cache')], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`report: browser check ok: 0/0 chart(s) rendered (0 marks), 0 console error(s), 0 external request(s); screenshot ${join(out, 'report.png')}`);
    expect((await readFile(join(out, 'report.png'))).subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  });
});

describe('without Chromium', () => {
  test('report --screenshot prints the install hint, exits 2, no stack trace; the reports are still written', async () => {
    const dir = await runDirWithRecord('no-browser');
    const r = await runCli(['report', dir, '--screenshot'], { cwd: root, env: NO_BROWSER });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'modelpress report: cannot check report.html in a browser: Chromium not found at /nonexistent/chromium: install it with ' +
        '`apt-get install chromium` (Debian/Ubuntu; as root or with sudo), or point MODELPRESS_CHROMIUM at a Chromium or Chrome executable\n',
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, 'report.html'))).toBe(true);
    expect(existsSync(join(dir, 'report.png'))).toBe(false);
  });

  test('a browser-target run still succeeds: a warning, every result kept, no report.png', async () => {
    const dir = join(root, 'hook-no-browser');
    await mkdir(dir);
    await writeFile(join(dir, 'recipe.yaml'), browserRecipe());
    const out = join(dir, 'run');
    const r = await runCli(['run', join(dir, 'recipe.yaml'), '--out', out, '--cache-dir', join(dir, 'cache')], { cwd: dir, env: NO_BROWSER });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('report: report.png not written: Chromium not found at /nonexistent/chromium: install it with `apt-get install chromium`');
    for (const f of ['run.json', 'report.md', 'report.html']) expect(existsSync(join(out, f))).toBe(true);
    expect(existsSync(join(out, 'report.png'))).toBe(false);
  });
});
