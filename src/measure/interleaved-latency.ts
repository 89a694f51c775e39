/**
 * Latency of several models measured side by side in one Node child process
 * (interleaved-latency-child.ts: round-robin turns, so every model sees the
 * same machine load). For comparisons between nearly equal models, such as
 * a per-layer latency table; a single model's absolute latency against a
 * budget is `measureLatency` (latency.ts), with its stopping rule and
 * confidence intervals.
 *
 * Errors are LatencyError (latency.ts) with the same codes: a missing
 * model directory, the child not built, a crash, a timeout.
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MODEL_JSON_FILENAME } from '../engine/model-io.js';
import { PACKAGE_ROOT } from '../package-info.js';
import { LatencyError } from './latency.js';
import { LATENCY_RUNTIMES } from './latency-protocol.js';
import type { LatencyRuntime } from './latency-protocol.js';
import type { InterleavedChildMessage, InterleavedParentMessage, InterleavedReport, InterleavedTask } from './interleaved-latency-protocol.js';
import { integer, nonNegativeInt, positiveInt, positiveNumber, show } from './stopping-rule.js';

export type { InterleavedModelStats, InterleavedReport } from './interleaved-latency-protocol.js';

export const INTERLEAVED_CHILD = join(PACKAGE_ROOT, 'dist', 'measure', 'interleaved-latency-child.js');

export interface InterleavedOptions {
  runtime: LatencyRuntime;
  /** Default: 1. */
  threads?: number;
  /** Default: 1. */
  batch?: number;
  /** Untimed runs per model first. Default: 5. */
  warmup?: number;
  /** Default: 15. */
  minRuns?: number;
  /** Default: 2000. */
  maxRuns?: number;
  /** Timed rounds last about this long per model, seconds. Default: 0.5. */
  secondsPerModel?: number;
  /** Seed of the random inputs. Default: 0. */
  seed?: number;
  /** Extra seconds for start-up, loading and reporting before the child is killed. Default: 30 + 1 per model. */
  graceSeconds?: number;
  signal?: AbortSignal;
}

/** Times `modelDirs` together; the result's `models` are in the same order. */
export async function measureInterleaved(modelDirs: readonly string[], o: InterleavedOptions): Promise<InterleavedReport> {
  if (!Array.isArray(modelDirs) || modelDirs.length === 0) throw new TypeError(`Expected modelDirs to be a non-empty list of paths, got ${show(modelDirs)}`);
  if (!LATENCY_RUNTIMES.includes(o.runtime)) throw new TypeError(`Expected runtime to be one of ${LATENCY_RUNTIMES.join(', ')}, got ${show(o.runtime)}`);
  const task: InterleavedTask = {
    modelDirs: modelDirs.map((d) => resolve(d)),
    runtime: o.runtime,
    threads: positiveInt('threads', o.threads ?? 1),
    batch: positiveInt('batch', o.batch ?? 1),
    warmup: nonNegativeInt('warmup', o.warmup ?? 5),
    minRuns: positiveInt('minRuns', o.minRuns ?? 15),
    maxRuns: positiveInt('maxRuns', o.maxRuns ?? 2000),
    secondsPerModel: positiveNumber('secondsPerModel', o.secondsPerModel ?? 0.5),
    seed: integer('seed', o.seed ?? 0),
  };
  if (task.maxRuns < task.minRuns) throw new TypeError(`Expected maxRuns to be >= minRuns (${task.minRuns}), got ${task.maxRuns}`);
  for (const dir of task.modelDirs) {
    const json = await stat(join(dir, MODEL_JSON_FILENAME)).catch(() => undefined);
    if (!json?.isFile()) throw new LatencyError('model', `${dir}: no model.json (not a tfjs model directory)`);
  }
  if (!existsSync(INTERLEAVED_CHILD)) throw new LatencyError('not-built', `${INTERLEAVED_CHILD} is missing: build modelpress first (npm run build)`);
  o.signal?.throwIfAborted();
  const graceSeconds = o.graceSeconds ?? 30 + task.modelDirs.length;
  const limitMs = (task.secondsPerModel * task.modelDirs.length + graceSeconds) * 1000;

  return new Promise((resolvePromise, reject) => {
    // A clean Node: no inherited execArgv (Jest's --experimental-vm-modules).
    const child = fork(INTERLEAVED_CHILD, [], { execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'json' });
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
    let settled = false;
    const timer = setTimeout(() => fail(new LatencyError('timeout', `interleaved latency of ${task.modelDirs.length} models did not finish within ${Math.round(limitMs / 1000)} s and was killed`)), limitMs);
    const onAbort = () => fail(Object.assign(new Error('aborted'), { name: 'AbortError' }));
    o.signal?.addEventListener('abort', onAbort, { once: true });
    function fail(error: Error): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      child.kill('SIGKILL');
      reject(error);
    }
    child.on('message', (m: InterleavedChildMessage) => {
      if (settled) return;
      if (m.type === 'ready') child.send({ type: 'task', task } satisfies InterleavedParentMessage);
      else if (m.type === 'error') fail(new LatencyError('failed', `latency on ${task.runtime}: ${m.message}`));
      else {
        settled = true;
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        resolvePromise(m.report);
      }
    });
    child.on('error', (e) => fail(new LatencyError('crashed', `interleaved latency child failed to start: ${e.message}`, { cause: e })));
    child.on('close', (code, signal) => {
      const tail = stderr.trim().split('\n').slice(-3).join(' | ');
      fail(new LatencyError('crashed', `interleaved latency child ${signal ? `was killed by ${signal}` : `exited with code ${code}`} before reporting${tail ? `: ${tail}` : ''}`));
    });
  });
}
