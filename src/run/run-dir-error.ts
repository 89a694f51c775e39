/**
 * The run directory could not be written (full disk, read-only mount, no
 * permission): an expected failure of the environment, not a bug. Carries
 * what the run achieved so the CLI can say that the cache kept its work.
 */
import type { RunStatus } from './events.js';

/** Human words for the system error codes a full or protected disk produces. */
const CODE_WORDS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
};

export class RunDirError extends Error {
  override readonly name = 'RunDirError';
  /** The file or directory that could not be written. */
  readonly file: string;
  /** The system error code, e.g. `ENOSPC`. */
  readonly code: string;
  /** How the run itself ended, before its record could not be written. */
  readonly status: RunStatus;

  constructor(file: string, code: string, status: RunStatus, options?: ErrorOptions) {
    super(`cannot write ${file}: ${describeCode(code)}`, options);
    this.file = file;
    this.code = code;
    this.status = status;
  }
}

/** Whether `error` is a file-system failure of the environment (as opposed to a bug). */
export function environmentCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code in CODE_WORDS || code === 'ENOENT' || code === 'ENOTDIR') ? code : undefined;
}

/** "read-only file system (EROFS)": words a user understands, and the code to search for. */
export function describeCode(code: string): string {
  return `${CODE_WORDS[code] ?? 'error'} (${code})`;
}
