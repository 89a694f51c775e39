/**
 * The child side of a one-task measurement process (latency-child.ts,
 * interleaved-latency-child.ts). Measurements run in a forked process so a
 * model's kernels, threads and memory cannot disturb the caller, and so a
 * timeout can kill them. The exchange is always the same: the child says
 * `ready`, the parent sends one `{ type: 'task' }`, the child answers with
 * one `result` or `error` and exits once the message is flushed.
 */

/**
 * Serves one task over the IPC channel. `who` names the child and the
 * function that forks it, for someone who runs the file by hand; `toError`
 * turns a failure (of `measure`, or an unexpected message) into the
 * protocol's error message.
 */
export function serveOneTask<Task, Report, ErrorMessage extends { type: 'error' }>(
  who: { child: string; parent: string },
  measure: (task: Task) => Promise<Report>,
  toError: (error: unknown) => ErrorMessage,
): void {
  if (!process.send) {
    process.stderr.write(`${who.child}: run by ${who.parent} over an IPC channel, not by hand\n`);
    process.exit(2);
  }
  const send = (message: { type: 'ready' } | { type: 'result'; report: Report } | ErrorMessage, exitCode?: number): void => {
    process.send!(message, () => {
      if (exitCode !== undefined) process.exit(exitCode);
    });
  };
  // The parent may die or give up (timeout): never outlive it.
  process.on('disconnect', () => process.exit(1));
  process.once('message', (message: { type?: unknown; task?: Task } | null) => {
    if (message?.type !== 'task') {
      send(toError(new Error(`unexpected message ${JSON.stringify(message)}`)), 1);
      return;
    }
    measure(message.task as Task).then(
      (report) => send({ type: 'result', report }, 0),
      (error: unknown) => send(toError(error), 1),
    );
  });
  send({ type: 'ready' });
}

/** An error's message, or the thrown value as text. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
