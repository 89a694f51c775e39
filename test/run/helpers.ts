/**
 * Shared helpers for the runner's end-to-end tests: each test writes a real
 * recipe into a temp dir, points it at the fixture plugin
 * (test/fixtures/plugins/work.mjs, by absolute path so `modelpress/plugin`
 * resolves through the repo's self-reference), and runs the real CLI in a
 * child process, which runs stages in real worker threads.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { RunRecord, RunRecordNode } from '../../src/run/run-record.js';
import { BIN, runCli } from '../cli/run-cli.js';
import type { CliResult } from '../cli/run-cli.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const WORK_PLUGIN = join(REPO_ROOT, 'test', 'fixtures', 'plugins', 'work.mjs');

export interface StageSpec {
  id: string;
  uses: 'test/hash-chain' | 'test/fail' | 'test/oom' | 'test/slow';
  with?: Record<string, unknown>;
  needs?: string[];
  matrix?: Record<string, unknown[]>;
}

/** A recipe using the fixture plugin, as YAML text. */
export function recipeYaml(name: string, stages: StageSpec[]): string {
  return stringify({ version: 1, name, plugins: [WORK_PLUGIN], stages });
}

export interface Workspace {
  dir: string;
  recipe: string;
  cache: string;
  /** A run directory inside the workspace (not created). */
  out(name: string): string;
  remove(): Promise<void>;
}

/** A temp dir with `recipe.yaml`; its cache lives in `<dir>/cache`. */
export async function workspace(name: string, stages: StageSpec[]): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), 'mp-run-'));
  const recipe = join(dir, 'recipe.yaml');
  await writeFile(recipe, recipeYaml(name, stages));
  return {
    dir,
    recipe,
    cache: join(dir, 'cache'),
    out: (n) => join(dir, 'runs', n),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface RunOutcome {
  cli: CliResult;
  record: RunRecord;
  log: LogEvent[];
  /** Wall time around the CLI child process, ms. */
  wallMs: number;
  outDir: string;
}

export interface LogEvent {
  event: string;
  node?: string;
  [k: string]: unknown;
}

/** `modelpress run` with `--out <ws>/runs/<outName> --cache-dir <ws>/cache` (or `opts.cacheDir`), plus `args`. */
export async function runRecipe(ws: Workspace, outName: string, args: string[] = [], opts: { cacheDir?: string; timeoutMs?: number } = {}): Promise<RunOutcome> {
  const outDir = ws.out(outName);
  const t0 = performance.now();
  const cli = await runCli(['run', ws.recipe, '--out', outDir, '--cache-dir', opts.cacheDir ?? ws.cache, ...args], { cwd: ws.dir, timeoutMs: opts.timeoutMs ?? 60_000 });
  const wallMs = performance.now() - t0;
  if (!existsSync(join(outDir, 'run.json'))) {
    throw new Error(`no run.json after \`run\` (exit ${cli.code}, signal ${cli.signal}):\n${cli.stdout}\n${cli.stderr}`);
  }
  return { cli, record: await readRecord(outDir), log: await readLog(outDir), wallMs, outDir };
}

export async function readRecord(outDir: string): Promise<RunRecord> {
  return JSON.parse(await readFile(join(outDir, 'run.json'), 'utf8')) as RunRecord;
}

export async function readLog(outDir: string): Promise<LogEvent[]> {
  const text = await readFile(join(outDir, 'run.log.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as LogEvent);
}

export function node(record: RunRecord, id: string): RunRecordNode {
  const n = record.nodes.find((x) => x.id === id);
  if (!n) throw new Error(`no node ${id} in run.json; nodes: ${record.nodes.map((x) => x.id).join(', ')}`);
  return n;
}

/** node id -> status. */
export function statuses(record: RunRecord): Record<string, string> {
  return Object.fromEntries(record.nodes.map((n) => [n.id, n.status]));
}

/** Sorted ids of nodes with `status`. */
export function idsWith(record: RunRecord, status: string): string[] {
  return record.nodes.filter((n) => n.status === status).map((n) => n.id).sort();
}

/** Sorted ids of nodes that have an event of `type` in the log. */
export function loggedNodes(log: LogEvent[], type: string): string[] {
  return [...new Set(log.filter((e) => e.event === type).map((e) => String(e.node)))].sort();
}

/** A CLI child process the test controls (to kill or interrupt it). */
export interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited, with the time from start to exit. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>;
}

export function startCli(args: string[], cwd: string): Running {
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  // Never leave a child behind if a test fails before it ends it.
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, atMs: performance.now() - t0 });
    });
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Kills a CLI child a failed test left running (no-op once it has exited). */
export function stopIfRunning(run: Running | undefined): void {
  if (run && run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
}

/** Polls until `path` exists; fails with `describe()` after `timeoutMs`. */
export async function waitForFile(path: string, timeoutMs: number, describe: () => string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > until) throw new Error(`${path} did not appear within ${timeoutMs} ms\n${describe()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Rounds of `test/hash-chain` that take about `ms` of CPU on this machine,
 * measured here with the same hashing the stage does (sha256 over 32 bytes
 * of state + a 16 KiB block per round), so timing tests stay meaningful on
 * fast and slow machines alike.
 */
export function roundsFor(ms: number): number {
  const block = Buffer.alloc(16 * 1024, 7);
  let state = createHash('sha256').update('calibrate').digest();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < 150) {
    for (let i = 0; i < 200; i++) state = createHash('sha256').update(state).update(block).digest();
    n += 200;
  }
  const perMs = n / (performance.now() - t0);
  return Math.max(1000, Math.round(perMs * ms));
}

/** Short digest as run.json reasons show it: the first 8 hex digits. */
export function short8(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 8);
}

/**
 * Measurements worth keeping (timings), appended as JSON lines to the file
 * named by MODELPRESS_TEST_REPORT when it is set; tests print nothing.
 */
export async function report(name: string, data: Record<string, unknown>): Promise<void> {
  const file = process.env.MODELPRESS_TEST_REPORT;
  if (file) await appendFile(file, `${JSON.stringify({ test: name, ...data })}\n`);
}
