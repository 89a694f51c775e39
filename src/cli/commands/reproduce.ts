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
import { CacheStore } from '../../cache/index.js';
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
  // The resolved recipe is self-contained (presets merged, vars substituted).
  // It is written into a private temp dir, so relative paths (plugins, model)
  // are made absolute against the original recipe's directory first.
  const work = await mkdtemp(join(tmpdir(), 'modelpress-reproduce-'));
  const cacheDir = join(work, 'cache');
  const recipeFile = join(work, `${original.recipe.name}.yaml`);
  await writeFile(recipeFile, stringify(absolutize(original.recipe.resolved, dirname(original.recipe.file)), { lineWidth: 0 }));
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
        const a = node.outputs[name]?.digest;
        const b = now?.outputs[name]?.digest;
        const same = a !== undefined && a === b;
        if (!same) mismatches++;
        io.out(`  ${same ? 'same   ' : 'DIFFERS'} ${node.id} ${name}  ${short(a)} ${same ? '==' : '!='} ${short(b)}\n`);
      }
    }
    io.out(mismatches === 0 ? 'all artifacts identical\n' : `${mismatches} artifact(s) differ\n`);
    if (record.status !== 'succeeded') return EXIT.stageFailed;
    return mismatches === 0 ? EXIT.ok : EXIT.stageFailed;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Relative plugin files and `model.from` made absolute against `base`. */
function absolutize(resolved: Record<string, unknown>, base: string): Record<string, unknown> {
  const out = structuredClone(resolved) as Record<string, any>;
  const abs = (p: string) => (p.startsWith('.') ? resolve(base, p) : p);
  if (Array.isArray(out.plugins)) out.plugins = out.plugins.map((p: unknown) => (typeof p === 'string' ? abs(p) : p));
  if (typeof out.model?.from === 'string') out.model.from = resolve(base, out.model.from);
  return out;
}

function short(d: string | undefined): string {
  return d === undefined ? '(none)' : d.replace(/^sha256:/, '').slice(0, 12);
}
