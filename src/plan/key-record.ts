/**
 * The cache key of a node: sha256 of this record in canonical JSON. The
 * record is kept beside the cache entry, so when a key changes we can say
 * which part did (`explainKeyChange`), the way Nx keeps its per-input hash
 * breakdown.
 *
 * What is in it, and why:
 * - modelpress version: a new release may change any built-in stage;
 * - stage name, version, and the digest of the code that runs it (its import
 *   closure, see stage-code.ts) with the number of files hashed, so editing
 *   any line of a built-in stage, of what it imports, or of a plugin re-runs
 *   the stage and its descendants;
 * - the tfjs-core version and the backend package with its version
 *   (tfjs-versions.ts): new kernels may compute different bytes;
 * - the stage config after matrix substitution and defaults;
 * - the digest of every output of every upstream node, in `needs` order
 *   (content, not node ids: renaming a stage does not invalidate);
 * - for root nodes, the recipe's model (digest of `model.from`, or the
 *   `model.build` spec);
 * - the recipe's dataset declarations, the seed, and the compute backend.
 */
import { canonicalJson, computeCacheKey } from '../cache/index.js';
import type { Json } from '../plugin.js';
import type { PlanNode } from './graph.js';
import type { StageCode } from './stage-code.js';
import type { TfjsVersions } from './tfjs-versions.js';

export interface KeyRecord {
  modelpress: string;
  /** `code`: the stage's code digest; `files`: how many files it covers. */
  stage: { name: string; version: string; code: string; files: number };
  tfjs: TfjsVersions;
  config: Json;
  inputs: { outputs: Record<string, string> }[];
  model?: Json;
  /** Digests of the node's `fileInputs` (path relative to the recipe -> digest). */
  files?: Record<string, string>;
  /** The recipe sections the stage declares in `recipeInputs` (e.g. devices). */
  recipe?: Record<string, Json>;
  data: Json;
  seed: number;
  backend: string;
}

/** What is the same for every node of one run. */
export interface KeyContext {
  modelpressVersion: string;
  /** Stage name -> the digest of the code that runs it (every stage of the graph). */
  stageCode: Map<string, StageCode>;
  tfjs: TfjsVersions;
  /** `{ from: 'sha256:...' }` or `{ build: {...} }`, or undefined when the recipe has no model. */
  model?: Json;
  data: Json;
  seed: number;
  backend: string;
  /** Node id -> digests of its stage's `fileInputs`. */
  nodeFiles?: Map<string, Record<string, string>>;
  /** Recipe sections stages may declare in `recipeInputs`. */
  recipeSections?: { devices: Json; model: Json };
}

export function keyRecord(node: PlanNode, upstream: Record<string, string>[], ctx: KeyContext): KeyRecord {
  const code = ctx.stageCode.get(node.def.name);
  // A bug, not a user error: buildKeyContext digests every stage of the graph.
  if (!code) throw new Error(`no code digest for stage \`${node.def.name}\` in the key context`);
  return {
    modelpress: ctx.modelpressVersion,
    stage: { name: node.def.name, version: node.def.version, code: code.digest, files: Object.keys(code.files).length },
    tfjs: ctx.tfjs,
    config: node.config,
    inputs: upstream.map((outputs) => ({ outputs })),
    ...(node.inputs.length === 0 && ctx.model !== undefined ? { model: ctx.model } : {}),
    ...(ctx.nodeFiles?.get(node.id) ? { files: ctx.nodeFiles.get(node.id)! } : {}),
    ...(node.def.recipeInputs?.length && ctx.recipeSections
      ? { recipe: Object.fromEntries(node.def.recipeInputs.map((k) => [k, ctx.recipeSections![k]])) }
      : {}),
    data: ctx.data,
    seed: ctx.seed,
    backend: ctx.backend,
  };
}

export function keyOf(record: KeyRecord): string {
  return computeCacheKey(record);
}

/**
 * Human reasons a key differs from the previous one for the same node,
 * most specific first: `config.sparsity: 0.9 -> 0.8`.
 */
export function explainKeyChange(prev: KeyRecord | undefined, next: KeyRecord): string[] {
  if (!prev) return ['never run before'];
  const reasons: string[] = [];
  if (prev.modelpress !== next.modelpress) reasons.push(`modelpress ${prev.modelpress} -> ${next.modelpress}`);
  if (prev.stage?.name !== next.stage.name) reasons.push(`stage type ${prev.stage?.name} -> ${next.stage.name}`);
  else if (prev.stage.version !== next.stage.version) reasons.push(`stage version ${prev.stage.version} -> ${next.stage.version}`);
  else if (prev.stage.code !== next.stage.code) reasons.push('stage code changed');
  if (prev.tfjs?.core !== next.tfjs.core) reasons.push(`tfjs ${prev.tfjs?.core ?? 'unrecorded'} -> ${next.tfjs.core}`);
  // A different backend already says so below (`backend wasm -> cpu`); only its package's upgrade is news.
  if (prev.tfjs?.backend !== next.tfjs.backend && prev.backend === next.backend) reasons.push(backendPackageChange(prev.tfjs?.backend, next.tfjs.backend));
  reasons.push(...diffJson('config', prev.config, next.config));
  const n = Math.max(prev.inputs?.length ?? 0, next.inputs.length);
  for (let i = 0; i < n; i++) {
    const a = prev.inputs?.[i]?.outputs ?? {};
    const b = next.inputs[i]?.outputs ?? {};
    for (const name of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (a[name] !== b[name]) reasons.push(`input ${i} \`${name}\` changed (${short(a[name])} -> ${short(b[name])})`);
    }
  }
  if (canonicalJson(prev.model ?? null) !== canonicalJson(next.model ?? null)) reasons.push('recipe model changed');
  reasons.push(...diffJson('recipe', prev.recipe, next.recipe));
  for (const f of new Set([...Object.keys(prev.files ?? {}), ...Object.keys(next.files ?? {})])) {
    if (prev.files?.[f] !== next.files?.[f]) reasons.push(`file ${f} changed`);
  }
  reasons.push(...diffJson('data', prev.data, next.data));
  if (prev.seed !== next.seed) reasons.push(`seed ${prev.seed} -> ${next.seed}`);
  if (prev.backend !== next.backend) reasons.push(`backend ${prev.backend} -> ${next.backend}`);
  return reasons.length > 0 ? reasons : ['cache entry missing (evicted, cleared or never stored)'];
}

/** `@tensorflow/tfjs-backend-wasm 4.22.0 -> 4.23.0` (the package named once when it is the same). */
function backendPackageChange(prev: string | undefined, next: string): string {
  const split = (s: string) => {
    const at = s.lastIndexOf('@');
    return at > 0 ? [s.slice(0, at), s.slice(at + 1)] : [s, ''];
  };
  const [a, av] = split(prev ?? 'unrecorded');
  const [b, bv] = split(next);
  return a === b ? `tfjs backend ${b} ${av} -> ${bv}` : `tfjs backend ${prev ?? 'unrecorded'} -> ${next}`;
}

function short(digest: string | undefined): string {
  if (digest === undefined) return 'none';
  return digest.replace(/^sha256:/, '').slice(0, 8);
}

function diffJson(path: string, a: unknown, b: unknown, out: string[] = []): string[] {
  if (canonicalJson(a ?? null) === canonicalJson(b ?? null)) return out;
  const isObj = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const ao = a as Record<string, unknown>;
    const bo = b as Record<string, unknown>;
    for (const k of [...new Set([...Object.keys(ao), ...Object.keys(bo)])].sort()) diffJson(`${path}.${k}`, ao[k], bo[k], out);
    return out;
  }
  const show = (v: unknown) => (v === undefined ? 'unset' : JSON.stringify(v));
  out.push(`${path}: ${show(a)} -> ${show(b)}`);
  return out;
}
