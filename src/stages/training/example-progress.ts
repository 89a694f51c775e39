/**
 * Progress inside a pass over a dataset (an epoch, a teacher-logit pass, an
 * evaluation pass): examples done / total, examples per second and the ETA of
 * the pass, reported through `ctx.progress` at most every `intervalMs`.
 *
 * Time-based, so it costs one `performance.now()` per batch and nothing else:
 * no tensor readback, no message per step. Without it a long epoch is
 * silent: one epoch over 96 images on the cpu backend ran more than 16
 * minutes with no line at all, because progress was reported per epoch.
 *
 * The interval is `MODELPRESS_PROGRESS_MS` (milliseconds) when set, else
 * DEFAULT_PROGRESS_INTERVAL_MS. It is an environment variable, not a stage
 * option, because how often a stage talks must not enter its cache key; the
 * worker threads inherit it from the CLI.
 */
import type { StageProgress } from '../../plugin.js';

/** The environment variable that sets the interval, in milliseconds. */
export const PROGRESS_INTERVAL_ENV = 'MODELPRESS_PROGRESS_MS';

/** One report a second: the CLI's plain lines (every 4 s at most) then come at least every 5 s. */
export const DEFAULT_PROGRESS_INTERVAL_MS = 1000;

/** The interval `env` asks for, or the default. @throws TypeError naming the variable when it is not a number >= 0. */
export function progressIntervalMs(env: Record<string, string | undefined> = process.env): number {
  const raw = env[PROGRESS_INTERVAL_ENV];
  if (raw === undefined || raw === '') return DEFAULT_PROGRESS_INTERVAL_MS;
  const ms = Number(raw);
  if (!Number.isFinite(ms) || ms < 0) throw new TypeError(`Expected ${PROGRESS_INTERVAL_ENV} to be a number of milliseconds >= 0, got ${JSON.stringify(raw)}`);
  return ms;
}

export interface ExampleProgressOptions {
  /** Examples in the pass. */
  total: number;
  /** What the pass is, e.g. `epoch 2/5` or `accuracy and agreement of prune`; the report's message. */
  label: string;
  /** Default: progressIntervalMs(). */
  intervalMs?: number;
  /** Default: performance.now (tests pass a clock). */
  now?: () => number;
}

/** Counts the examples of one pass and reports at most every `intervalMs`; make one per pass. */
export class ExampleProgress {
  private done = 0;
  private readonly start: number;
  private last: number;
  private readonly intervalMs: number;
  private readonly now: () => number;

  constructor(
    private readonly report: (p: StageProgress) => void,
    private readonly options: ExampleProgressOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
    this.intervalMs = options.intervalMs ?? progressIntervalMs();
    this.start = this.now();
    this.last = this.start;
  }

  /** `n` more examples are done; reports when the interval has passed since the last report. */
  add(n: number): void {
    this.done += n;
    const t = this.now();
    if (t - this.last < this.intervalMs) return;
    this.last = t;
    const seconds = (t - this.start) / 1000;
    const rate = seconds > 0 ? this.done / seconds : 0;
    const left = Math.max(0, this.options.total - this.done);
    this.report({
      done: this.done,
      total: this.options.total,
      unit: 'examples',
      message: this.options.label,
      rate: round(rate, 1),
      ...(rate > 0 ? { etaSeconds: round(left / rate, 1) } : {}),
    });
  }
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
