/**
 * Run records (run.json) built in memory for report tests: the fields every
 * record needs, so a test states only the nodes and metrics it is about.
 */
import type { Json } from '../../src/plugin.js';
import type { RunRecord, RunRecordNode } from '../../src/run/run-record.js';

/** A node that ran in 1.5 s with `metrics`; its stage is the id without the matrix part. */
export function fakeNode(id: string, uses: string, metrics: Record<string, Json>, extra: Partial<RunRecordNode> = {}): RunRecordNode {
  return {
    id, stage: id.replace(/\[.*$/, ''), uses, plugin: 'builtin', matrix: {}, inputs: [], config: {}, key: `k-${id}`, keyRecord: null,
    status: 'ran', cacheHit: false, durationMs: 1500, reasons: [], metrics, outputs: {}, error: null, ...extra,
  };
}

/** A succeeded one-minute run of recipe `name` on `backend` holding `nodes`. */
export function fakeRunRecord(name: string, nodes: RunRecordNode[], opts: { backend?: string; durationMs?: number } = {}): RunRecord {
  const durationMs = opts.durationMs ?? 60_000;
  return {
    runRecordVersion: 1, status: 'succeeded', startedAt: '2026-01-01T00:00:00.000Z', finishedAt: new Date(Date.parse('2026-01-01T00:00:00.000Z') + durationMs).toISOString(), durationMs,
    recipe: { file: '/r.yaml', name, sources: ['/r.yaml'], overrides: [], resolved: {} },
    versions: { modelpress: '0.1.0', node: 'v20', tfjs: '4.22.0', backend: opts.backend ?? 'wasm' },
    cacheDir: '/c', jobs: 1,
    nodes,
    artifacts: {},
  };
}
