/**
 * Inference latency of a tfjs model on a device's runtime, measured in a
 * separate Node process (dist/measure/latency-child.js; see there for what
 * one timed run is and why a process).
 *
 * The parent's job: validate options ("Expected X, got Y"), fail fast and
 * clearly on what it can check itself (a missing model directory, tfjs-node
 * not installed, the child not built), start the child with a clean Node
 * (no inherited execArgv such as Jest's --experimental-vm-modules), hand it
 * the task, and turn every way the child can end into either a result or a
 * LatencyError with a one-line message: the child's own error, a crash (exit
 * code or signal, with the tail of its stderr), or a timeout (killed after
 * maxSeconds + graceSeconds).
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isInstalled } from '../engine/backend.js';
import { MODEL_JSON_FILENAME } from '../engine/model-io.js';
import { PACKAGE_ROOT } from '../package-info.js';
import {
  LATENCY_RUNTIMES,
  type ChildMessage,
  type LatencyChildReport,
  type LatencyRuntime,
  type LatencyTask,
  type ParentMessage,
} from './latency-protocol.js';
import type { LatencyMeasurement, LatencyRunOptions } from './latency-stats.js';
import { positiveInt, resolveStoppingRule, show } from './stopping-rule.js';

export type { LatencyRuntime, StopReason } from './latency-protocol.js';
export { LATENCY_RUNTIMES } from './latency-protocol.js';

/** The compiled child entry: child processes run dist/ code, never TypeScript. */
export const LATENCY_CHILD = join(PACKAGE_ROOT, 'dist', 'measure', 'latency-child.js');

/** The shared run options (batch, warm-up, runs, time, seed, samples, signal: aborting kills the child) plus the Node child's own. */
export interface LatencyOptions extends LatencyRunOptions {
  /** tfjs backend to measure on. Example: 'wasm'. */
  runtime: LatencyRuntime;
  /**
   * Threads requested (wasm: XNNPACK's pool via setThreadsCount). Default: 1.
   * tfjs-backend-wasm 4.22 is single-threaded in Node whatever is asked, and
   * the cpu backend always is; `threadsActual` in the result says what ran.
   */
  threads?: number;
  /**
   * Extra time for the child to start, load tfjs and the model, and report,
   * in seconds; the child is killed after maxSeconds + graceSeconds. Default: 30.
   */
  graceSeconds?: number;
  /** Node flags for the child, e.g. ['--max-old-space-size=512']. Default: none. */
  execArgv?: readonly string[];
}

/** A latency measurement in a Node child process. Times in milliseconds per inference of `batch` examples. */
export interface LatencyResult extends LatencyMeasurement {
  runtime: LatencyRuntime;
  /** The child process (never this process). */
  pid: number;
  nodeVersion: string;
}

export type LatencyErrorCode =
  /** The model directory or model.json is missing, or the child could not load the model. */
  | 'model'
  /** The runtime is not installed or failed to initialise. */
  | 'runtime'
  /** dist/measure/latency-child.js is missing (not built). */
  | 'not-built'
  /** The child exited or was killed without reporting. */
  | 'crashed'
  /** The child did not report within maxSeconds + graceSeconds and was killed. */
  | 'timeout'
  /** The child reported a failure while measuring. */
  | 'failed';

/** An expected failure of a latency measurement; `message` is one line meant for users. */
export class LatencyError extends Error {
  override readonly name = 'LatencyError';
  /** The child process, when one was started. */
  readonly pid: number | undefined;

  constructor(
    readonly code: LatencyErrorCode,
    message: string,
    options?: ErrorOptions & { pid?: number | undefined },
  ) {
    super(message, options);
    this.pid = options?.pid;
  }
}

const DEFAULTS = {
  threads: 1,
  graceSeconds: 30,
} as const;

/** Bytes of the child's stderr kept for a crash message. */
const STDERR_TAIL = 2000;

/**
 * Measures the latency of the model in `modelDir` on `options.runtime`.
 *
 * @throws TypeError "Expected X, got Y" for invalid options.
 * @throws LatencyError (see LatencyErrorCode) for everything else expected.
 */
export async function measureLatency(modelDir: string, options: LatencyOptions): Promise<LatencyResult> {
  const task = checkOptions(modelDir, options);
  const graceSeconds = nonNegative('graceSeconds', options.graceSeconds ?? DEFAULTS.graceSeconds);
  const execArgv = options.execArgv ?? [];
  if (!Array.isArray(execArgv) || !execArgv.every((a) => typeof a === 'string')) {
    throw new TypeError(`Expected execArgv to be a list of strings, got ${show(execArgv)}`);
  }
  options.signal?.throwIfAborted();

  await checkModelDir(task.modelDir);
  if (task.runtime === 'tfjs-node' && !isInstalled('@tensorflow/tfjs-node')) {
    throw new LatencyError(
      'runtime',
      'runtime tfjs-node is not installed (npm install @tensorflow/tfjs-node; it downloads libtensorflow, ' +
        'so it needs internet at install time); measure on wasm or cpu instead',
    );
  }
  if (!existsSync(LATENCY_CHILD)) {
    throw new LatencyError('not-built', `${LATENCY_CHILD} is missing: build modelpress first (npm run build)`);
  }

  const report = await runChild(task, { graceSeconds, execArgv: [...execArgv], signal: options.signal });
  const { pid, nodeVersion, tfjsVersion, backendActual, threadsActual, notes, inputShapes, loadMs, warmupRuns, ...timing } = report;
  return {
    runtime: task.runtime,
    backendActual,
    threadsRequested: task.threads,
    threadsActual,
    batch: task.batch,
    warmup: warmupRuns,
    ...timing,
    inputShapes,
    loadMs,
    notes,
    pid,
    nodeVersion,
    tfjsVersion,
  };
}

interface ChildOptions {
  graceSeconds: number;
  execArgv: string[];
  signal: AbortSignal | undefined;
}

function runChild(task: LatencyTask, opts: ChildOptions): Promise<LatencyChildReport> {
  return new Promise((resolvePromise, reject) => {
    const child = fork(LATENCY_CHILD, [], {
      execArgv: opts.execArgv,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
      // Keep libtensorflow's C++ logging (tfjs-node) off the captured stderr.
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env['TF_CPP_MIN_LOG_LEVEL'] ?? '2' },
    });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL);
    });
    child.stdout?.resume(); // drained, so a chatty child never blocks on a full pipe

    let settled = false;
    const limitMs = (task.maxSeconds + opts.graceSeconds) * 1000;
    const timer = setTimeout(() => {
      fail(
        new LatencyError(
          'timeout',
          `latency child (pid ${child.pid}) did not report within ${formatSeconds(limitMs / 1000)} ` +
            `(maxSeconds ${task.maxSeconds} + graceSeconds ${opts.graceSeconds}) and was killed`,
          { pid: child.pid },
        ),
      );
    }, limitMs);
    const onAbort = (): void => fail(opts.signal?.reason instanceof Error ? opts.signal.reason : new DOMException('aborted', 'AbortError'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    // An abort while the model directory was being checked (before this
    // listener existed) has already fired its event: act on it now.
    queueMicrotask(() => {
      if (opts.signal?.aborted) onAbort();
    });

    const cleanup = (): void => {
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    const fail = (error: Error): void => {
      if (settled) return;
      cleanup();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      reject(error);
    };

    child.on('message', (message: ChildMessage) => {
      if (settled) return;
      if (message.type === 'ready') {
        child.send({ type: 'task', task } satisfies ParentMessage, (error) => {
          if (error) fail(new LatencyError('crashed', `latency child did not accept the task: ${error.message}`, { cause: error, pid: child.pid }));
        });
      } else if (message.type === 'result') {
        cleanup();
        resolvePromise(message.report);
      } else if (message.type === 'error') {
        const code = message.failure === 'model' ? 'model' : message.failure === 'runtime' ? 'runtime' : 'failed';
        fail(new LatencyError(code, `latency on ${task.runtime}: ${message.message}`, { pid: child.pid }));
      }
    });
    child.on('error', (error) => fail(new LatencyError('crashed', `latency child failed to start: ${error.message}`, { cause: error })));
    // 'close', not 'exit': it comes after the IPC channel and stdio are drained,
    // so a result sent just before exiting is never mistaken for a crash.
    child.on('close', (code, signal) => {
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const tail = lastLines(stderr);
      fail(new LatencyError('crashed', `latency child (pid ${child.pid}) ${how} before reporting${tail ? `: ${tail}` : ''}`, { pid: child.pid }));
    });
  });
}

function checkOptions(modelDir: string, options: LatencyOptions): LatencyTask {
  if (typeof modelDir !== 'string' || modelDir === '') throw new TypeError(`Expected modelDir to be a path, got ${show(modelDir)}`);
  if (options === null || typeof options !== 'object') throw new TypeError(`Expected options to be an object, got ${show(options)}`);
  const { runtime } = options;
  if (!LATENCY_RUNTIMES.includes(runtime)) {
    throw new TypeError(`Expected runtime to be one of ${LATENCY_RUNTIMES.join(', ')}, got ${show(runtime)}`);
  }
  const rule = resolveStoppingRule(options);
  return {
    modelDir: resolve(modelDir),
    runtime,
    threads: positiveInt('threads', options.threads ?? DEFAULTS.threads),
    batch: rule.batch,
    warmup: rule.warmup,
    minRuns: rule.minRuns,
    maxRuns: rule.maxRuns,
    targetRelativeSpread: rule.targetRelativeSpread,
    maxSeconds: rule.maxSeconds,
    minSeconds: rule.minSeconds,
    seed: rule.seed,
    maxSamples: rule.maxSamples,
  };
}

/** The parent checks the directory itself: a clear error without paying for a process and tfjs. */
async function checkModelDir(dir: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (!info) throw new LatencyError('model', `${dir}: no such model directory`);
  if (info.isDirectory()) {
    const json = await stat(join(dir, MODEL_JSON_FILENAME)).catch(() => undefined);
    if (!json?.isFile()) throw new LatencyError('model', `${dir}: no model.json (not a tfjs model directory)`);
  }
}

function nonNegative(key: string, v: unknown): number {
  if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) throw new TypeError(`Expected ${key} to be a finite number >= 0, got ${show(v)}`);
  return v;
}

/** The last non-empty lines of the child's stderr, joined, for a one-line message. */
function lastLines(text: string, count = 3): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-count)
    .join(' | ');
}

function formatSeconds(s: number): string {
  return `${Number(s.toFixed(3))} s`;
}

