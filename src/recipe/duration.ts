/**
 * Durations as recipes write them: a number of seconds (`90`) or a number
 * with a unit (`500ms`, `90s`, `30m`, `2h`). Used by a stage's `timeout:`.
 * The schema's pattern (recipe.schema.json `$defs/duration`) admits exactly
 * what `parseDuration` accepts.
 */

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** The same pattern as the schema's `$defs/duration` string form. */
export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

/** Milliseconds for a duration value; undefined when it is not one (the schema reports it). */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? value * 1000 : undefined;
  if (typeof value !== 'string') return undefined;
  const m = DURATION_PATTERN.exec(value);
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  return ms > 0 ? ms : undefined;
}

/** `1500` -> `1.5 s`, `1800000` -> `30 min`: for messages. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${Number((ms / 1000).toFixed(3))} s`;
  if (ms < 7_200_000) return `${Number((ms / 60_000).toFixed(2))} min`;
  return `${Number((ms / 3_600_000).toFixed(2))} h`;
}
