/**
 * Where a stage's long loop lets an interrupt in.
 *
 * A stage runs in a worker thread, and the runner's abort reaches it as a
 * message: `ctx.signal` only turns aborted once the worker's event loop gets
 * to run. A loop that awaits only promises that resolve on the microtask
 * queue (tfjs wasm `data()`, synchronous typed-array work) never lets it
 * run, so `signal.throwIfAborted()` alone never fires and Ctrl-C waited for
 * the runner's grace kill (issue 14: training went on until the 3 s kill).
 *
 * `checkpoint` yields to the event loop (a macrotask turn, so pending
 * messages are delivered) and then throws the signal's reason if aborted.
 * Yielding costs a few microseconds; it happens at most every
 * `CHECKPOINT_EVERY_MS`, so a loop of sub-millisecond steps pays nothing
 * measurable while an interrupt is still seen within that many ms plus one
 * step.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Longest time between two yields to the event loop, in ms. */
export const CHECKPOINT_EVERY_MS = 20;

/** When each signal last yielded (per signal, so two loops in one worker do not share a clock). */
const lastYield = new WeakMap<AbortSignal, number>();

/**
 * Call between two steps of a long loop (batches, iterations, candidates).
 * Rejects with the signal's reason once the run was interrupted.
 */
export async function checkpoint(signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return;
  signal.throwIfAborted();
  const now = performance.now();
  if (now - (lastYield.get(signal) ?? 0) < CHECKPOINT_EVERY_MS) return;
  await nextTurn();
  lastYield.set(signal, performance.now());
  signal.throwIfAborted();
}
