/**
 * A stage's failure as the user sees it: which stage, which plugin, which
 * phase, and the original error kept as `cause` (rollup's PluginDriver does
 * the same for its hooks).
 */
import type { FailurePhase } from './events.js';

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  cause?: SerializedError;
  /** StageConfigError: the offending key, relative to the stage's `with:`. */
  configPath?: (string | number)[];
  hints?: string[];
}

export class StageFailure extends Error {
  constructor(
    readonly node: string,
    readonly plugin: string,
    readonly uses: string,
    readonly phase: FailurePhase,
    cause: SerializedError | Error,
  ) {
    super(`stage ${node} (${uses} from ${plugin}) failed during ${phase}: ${cause.message}`, { cause });
    this.name = 'StageFailure';
  }
}

/** Errors cross the worker boundary as plain data; keep the chain of causes. */
export function serializeError(err: unknown, depth = 0): SerializedError {
  if (err instanceof Error) {
    const out: SerializedError = { name: err.name, message: err.message };
    if (err.stack) out.stack = err.stack;
    if (err.cause !== undefined && depth < 5) out.cause = serializeError(err.cause, depth + 1);
    const extra = err as Error & { path?: unknown; hints?: unknown };
    if (err.name === 'StageConfigError' && Array.isArray(extra.path)) {
      out.configPath = extra.path as (string | number)[];
      if (Array.isArray(extra.hints)) out.hints = extra.hints as string[];
    }
    return out;
  }
  return { name: 'Error', message: String(err) };
}
