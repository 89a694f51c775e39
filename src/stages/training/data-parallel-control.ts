/**
 * The shared control words of one data-parallel helper (data-parallel.ts):
 * how rank 0 starts a step and the helper answers, without messages.
 */
/**
 * Indices and values of the Int32Array over a helper's `control` buffer: rank 0
 * writes the shard size, bumps STEP and notifies; the helper computes, sets
 * STATUS and bumps DONE to the same number and notifies. STEP = CLOSE tells
 * the helper to stop.
 */
export const Control = { STEP: 0, COUNT: 1, DONE: 2, STATUS: 3, WORDS: 4, CLOSE: -1, OK: 0, FAILED: 1 } as const;
