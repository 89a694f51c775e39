/**
 * The CLI's only channel to the terminal. Commands write through an Io so
 * tests can capture output, and so nothing below cli/ ever touches stdout.
 */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Whether stdout is an interactive terminal (live progress lines, colour). */
  isTTY: boolean;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/**
 * stdout closed early (`modelpress run recipe.yaml | head`) is not a reason to
 * abandon a run: output stops, the command goes on, its exit code stays its own.
 */
export function processIo(): Io {
  let stdoutClosed = false;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    stdoutClosed = true;
  });
  return {
    out: (t) => {
      if (!stdoutClosed) process.stdout.write(t);
    },
    err: (t) => process.stderr.write(t),
    isTTY: Boolean(process.stdout.isTTY),
    cwd: process.cwd(),
    env: process.env,
  };
}

/** Exit codes, documented in the README. */
export const EXIT = {
  ok: 0,
  stageFailed: 1,
  invalid: 2,
  budgetMissed: 3,
  interrupted: 130,
  /** SIGTERM: 128 + 15, what a shell reports for a process killed by it. */
  terminated: 143,
} as const;
