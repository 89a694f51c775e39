/**
 * Runs one stage in a fresh worker thread and resolves with its result.
 *
 * A fresh worker per stage (rather than a reused pool) costs tens of
 * milliseconds against stages that take seconds to minutes, and buys
 * isolation: a stage's global state, leaked timers or out-of-memory crash die
 * with its worker. The worker runs the compiled dist/ code, since worker
 * threads cannot load TypeScript.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { PACKAGE_ROOT } from '../package-info.js';
import type { Json, StageProgress, StageResult } from '../plugin.js';
import type { FailurePhase } from './events.js';
import type { SerializedError } from './stage-failure.js';
import type { ParentMessage, WorkerMessage, WorkerTask } from './worker-protocol.js';

export const WORKER_ENTRY = join(PACKAGE_ROOT, 'dist', 'run', 'worker-entry.js');

/** How long an interrupted stage gets to stop by itself before its worker is terminated. */
export const ABORT_GRACE_MS = 3000;

export interface WorkerTaskOptions {
  signal: AbortSignal;
  onLog(level: 'debug' | 'info' | 'warn', message: string, fields?: Record<string, Json>): void;
  onProgress(p: StageProgress): void;
  /** Heap limit for the worker (V8 old generation), in MB; default: Node's. */
  memoryMb?: number;
  /**
   * The stage's `timeout:` in ms; default: none. When it passes, the stage
   * is asked to stop like on Ctrl-C (and terminated after the grace period
   * if it does not), and the node fails with a message naming the limit.
   */
  timeoutMs?: number;
  /** The limit as the recipe wrote it (`30m`), for that message. */
  timeoutLabel?: string;
}

export type WorkerOutcome =
  | { ok: true; result: StageResult }
  | { ok: false; phase: FailurePhase; error: SerializedError };

export function runInWorker(task: WorkerTask, opts: WorkerTaskOptions): Promise<WorkerOutcome> {
  return new Promise((resolve) => {
    const worker = new Worker(WORKER_ENTRY, {
      workerData: task,
      ...(opts.memoryMb ? { resourceLimits: { maxOldGenerationSizeMb: opts.memoryMb } } : {}),
      stdout: false,
      stderr: false,
    });
    let settled = false;
    let graceTimer: NodeJS.Timeout | undefined;
    let timeoutTimer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const finish = (outcome: WorkerOutcome) => {
      if (settled) return;
      settled = true;
      if (graceTimer) clearTimeout(graceTimer);
      if (timeoutTimer) clearTimeout(timeoutTimer);
      opts.signal.removeEventListener('abort', onAbort);
      void worker.terminate();
      // After the time limit, whatever the stopped stage threw (its abort
      // reason, or nothing before the grace kill) is reported as the limit.
      if (timedOut && !outcome.ok && !opts.signal.aborted) {
        const limit = opts.timeoutLabel ?? `${opts.timeoutMs} ms`;
        outcome = { ok: false, phase: 'run', error: { name: 'TimeoutError', message: `timed out: still running after its \`timeout: ${limit}\`, so it was stopped; raise the stage's \`timeout\` if it needs longer` } };
      }
      resolve(outcome);
    };
    const stop = (reason: 'interrupted' | 'timeout') => {
      if (graceTimer) return; // already stopping
      worker.postMessage({ type: 'abort', reason } satisfies ParentMessage);
      graceTimer = setTimeout(() => {
        finish({ ok: false, phase: 'run', error: { name: 'AbortError', message: `${reason === 'timeout' ? 'timed out' : 'interrupted'} (worker stopped after ${ABORT_GRACE_MS} ms grace)` } });
      }, ABORT_GRACE_MS);
    };
    const onAbort = () => stop('interrupted');
    if (opts.timeoutMs !== undefined) {
      timeoutTimer = setTimeout(() => {
        timedOut = true;
        stop('timeout');
      }, opts.timeoutMs);
    }
    if (opts.signal.aborted) onAbort();
    else opts.signal.addEventListener('abort', onAbort, { once: true });

    worker.on('message', (m: WorkerMessage) => {
      switch (m.type) {
        case 'log':
          opts.onLog(m.level, m.message, m.fields);
          break;
        case 'progress':
          opts.onProgress(m.progress);
          break;
        case 'done':
          finish({ ok: true, result: m.result });
          break;
        case 'error':
          finish({ ok: false, phase: m.phase, error: m.error });
          break;
      }
    });
    worker.on('error', (err: Error & { code?: string }) => {
      const oom = err.code === 'ERR_WORKER_OUT_OF_MEMORY';
      finish({
        ok: false,
        phase: 'worker',
        error: { name: err.name, message: oom ? `worker ran out of memory${opts.memoryMb ? ` (limit ${opts.memoryMb} MB)` : ''}: ${err.message}` : `worker crashed: ${err.message}`, ...(err.stack ? { stack: err.stack } : {}) },
      });
    });
    worker.on('exit', (code) => {
      finish({ ok: false, phase: 'worker', error: { name: 'WorkerExit', message: `worker exited with code ${code} before the stage finished` } });
    });
  });
}
