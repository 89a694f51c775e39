/**
 * `modelpress reproduce <run.json>`: re-run the recorded resolved recipe
 * with an empty cache and compare, node by node, the artifact digests with
 * the record. Same backend and versions give identical bytes for
 * deterministic stages; docs/run-record.md says what is and is not
 * bit-reproducible.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { existsSync } from 'node:fs';
import { CacheStore } from '../../cache/index.js';
import { deterministicDigest } from '../../measure/measured-manifest.js';
import type { DeterministicDigest } from '../../measure/measured-manifest.js';
import type { RunRecord } from '../../run/run-record.js';
import type { Io } from '../io.js';
import { EXIT } from '../io.js';
import { execute } from './run.js';
import { parseJobs, prepareWithData } from './prepare.js';
import { availableParallelism } from 'node:os';

export interface ReproduceOptions {
  out?: string;
  jobs?: string;
  json: boolean;
  logLevel: string;
}

export async function reproduceCommand(recordPath: string, opts: ReproduceOptions, io: Io): Promise<number> {
  let original: RunRecord;
  try {
    original = JSON.parse(await readFile(resolve(io.cwd, recordPath), 'utf8')) as RunRecord;
    if (original.runRecordVersion !== 1) throw new Error(`unsupported runRecordVersion ${String(original.runRecordVersion)}`);
  } catch (err) {
    io.err(`modelpress reproduce: cannot read ${recordPath}: ${(err as Error).message}\n`);
    return EXIT.invalid;
  }
  const jobs = parseJobs(opts.jobs, availableParallelism());
  if (typeof jobs === 'string') {
    io.err(`modelpress reproduce: ${jobs}\n`);
    return EXIT.invalid;
  }
  // The resolved recipe is self-contained (presets merged, vars substituted),
  // but its relative paths (data files, models, teachers, plugins) are
  // relative to the original recipe's folder. Every stage and loader
  // resolves them from the recipe file's own folder, so the transient recipe
  // is written there (a hidden file, removed afterwards) rather than into a
  // temp dir, where `path: ./data/x.csv` would name nothing. The cache is
  // a fresh temp dir.
  const work = await mkdtemp(join(tmpdir(), 'modelpress-reproduce-'));
  const cacheDir = join(work, 'cache');
  const originalDir = dirname(resolve(dirname(resolve(io.cwd, recordPath)), original.recipe.file));
  const recipeFile = join(originalDir, `.${original.recipe.name}.reproduce-${process.pid}.yaml`);
  try {
    await writeFile(recipeFile, stringify(original.recipe.resolved, { lineWidth: 0 }));
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    io.err(`modelpress reproduce: cannot write the transient recipe into the original recipe's folder ${originalDir}: ${(err as Error).message}; its relative paths are resolved from there\n`);
    return EXIT.invalid;
  }
  try {
    const prepared = await prepareWithData(recipeFile, [], io, recordPath);
    if (!prepared) return EXIT.invalid;
    const runDir = resolve(io.cwd, opts.out ?? join(dirname(resolve(io.cwd, recordPath)), 'reproduce'));
    const record = await execute({
      recipe: prepared.recipe,
      graph: prepared.graph,
      store: new CacheStore({ dir: cacheDir }),
      runDir,
      jobs,
      dataFingerprints: prepared.dataFingerprints,
      opts: { json: opts.json, logLevel: opts.logLevel, backend: original.versions.backend },
      io,
    });
    let mismatches = 0;
    io.out(`reproducing ${recordPath} (backend ${original.versions.backend}):\n`);
    for (const node of original.nodes) {
      const now = record.nodes.find((n) => n.id === node.id);
      const names = new Set([...Object.keys(node.outputs), ...Object.keys(now?.outputs ?? {})]);
      for (const name of names) {
        const a = node.outputs[name];
        const b = now?.outputs[name];
        const c = await compareOutputs(a, b);
        if (!c.same) mismatches++;
        const note = c.excluded ? `  (measured, not compared: ${c.excluded.join(', ')})` : '';
        io.out(`  ${c.same ? 'same   ' : 'DIFFERS'} ${node.id} ${name}  ${short(c.left)} ${c.same ? '==' : '!='} ${short(c.right)}${note}\n`);
      }
    }
    io.out(mismatches === 0 ? 'all artifacts identical\n' : `${mismatches} artifact(s) differ\n`);
    if (record.status !== 'succeeded') return EXIT.stageFailed;
    return mismatches === 0 ? EXIT.ok : EXIT.stageFailed;
  } finally {
    await rm(recipeFile, { force: true });
    await rm(work, { recursive: true, force: true });
  }
}

type Output = { path: string; digest: string } | undefined;

/**
 * Same bytes, or, when the digests differ and both artifacts list their
 * measured values (measured.json: latency and what is decided from it), the
 * same deterministic part. Left/right are the digests shown: the full ones,
 * or the deterministic ones when those decided.
 */
async function compareOutputs(a: Output, b: Output): Promise<{ same: boolean; left?: string; right?: string; excluded?: string[] }> {
  if (a === undefined || b === undefined) return { same: false, ...(a ? { left: a.digest } : {}), ...(b ? { right: b.digest } : {}) };
  if (a.digest === b.digest) return { same: true, left: a.digest, right: b.digest };
  const [da, db] = await Promise.all([deterministicIfPresent(a.path), deterministicIfPresent(b.path)]);
  if (!da || !db) return { same: false, left: a.digest, right: b.digest };
  return { same: da.digest === db.digest, left: da.digest, right: db.digest, excluded: db.excluded };
}

async function deterministicIfPresent(dir: string): Promise<DeterministicDigest | undefined> {
  return existsSync(dir) ? deterministicDigest(dir) : undefined;
}

function short(d: string | undefined): string {
  return d === undefined ? '(none)' : d.replace(/^sha256:/, '').slice(0, 12);
}
