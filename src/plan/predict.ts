/**
 * What `plan` shows and `run` then does: for each node, in order, whether
 * its cache entry exists (and so it will not run) or why it must run.
 *
 * A node's key depends on its inputs' output digests, which are known only
 * when every upstream node is cached; a node downstream of one that runs is
 * predicted to run ("upstream X runs"). If that upstream re-run produces
 * byte-identical outputs, `run` gets a cache hit anyway (early cut-off); the
 * prediction is then conservative, never wrong in the other direction.
 */
import type { CacheStore } from '../cache/index.js';
import type { PlanGraph, PlanNode } from './graph.js';
import { explainKeyChange, keyOf, keyRecord } from './key-record.js';
import type { KeyContext, KeyRecord } from './key-record.js';

export type Prediction =
  | { node: PlanNode; status: 'cached'; key: string; outputs: Record<string, string> }
  | { node: PlanNode; status: 'run'; key?: string; reasons: string[]; corrupt?: string };

export interface PredictOptions {
  store: CacheStore;
  /** Names this recipe in the store's node index (the recipe's absolute path). */
  scope: string;
  keys: KeyContext;
}

export async function predict(graph: PlanGraph, opts: PredictOptions): Promise<Prediction[]> {
  const known = new Map<string, Record<string, string>>();
  const out: Prediction[] = [];
  for (const node of graph.nodes) {
    const waiting = node.inputs.filter((id) => !known.has(id));
    if (waiting.length > 0) {
      out.push({ node, status: 'run', reasons: [`upstream ${waiting.join(', ')} runs`] });
      continue;
    }
    const record = keyRecord(node, node.inputs.map((id) => known.get(id)!), opts.keys);
    const key = keyOf(record);
    const lookup = await opts.store.get(key);
    if (lookup.status === 'hit') {
      const outputs = Object.fromEntries(Object.entries(lookup.entry.outputs).map(([k, v]) => [k, v.digest]));
      known.set(node.id, outputs);
      out.push({ node, status: 'cached', key, outputs });
      continue;
    }
    if (lookup.status === 'corrupt') {
      // Fix: the entry exists but fails verification. Diffing against the last
      // recorded key found no change and said "cache entry missing", which is
      // wrong; say what `run` says (scheduler.ts) so plan and run agree.
      out.push({ node, status: 'run', key, reasons: [`cache entry corrupt: ${lookup.reason}`], corrupt: lookup.reason });
      continue;
    }
    const reasons = await reasonsFor(opts, node.id, record);
    out.push({ node, status: 'run', key, reasons });
  }
  return out;
}

/** Why `record` has no entry: its difference from the last key recorded for the node. */
export async function reasonsFor(opts: Pick<PredictOptions, 'store' | 'scope'>, nodeId: string, record: KeyRecord): Promise<string[]> {
  const lastKey = await opts.store.lastKeyForNode(opts.scope, nodeId);
  const prev = lastKey ? ((await opts.store.readRecord(lastKey)) as KeyRecord | undefined) : undefined;
  if (lastKey && !prev) return ['previous cache entry was removed'];
  return explainKeyChange(prev, record);
}
