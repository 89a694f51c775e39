/** Durations as a stage's `timeout:` takes them. */
import { formatDuration, parseDuration } from '../../src/recipe/duration.js';

test.each([
  [90, 90_000],
  [0.5, 500],
  ['500ms', 500],
  ['90s', 90_000],
  ['30m', 1_800_000],
  ['2h', 7_200_000],
  ['1.5s', 1500],
  ['0s', undefined],
  [0, undefined],
  [-3, undefined],
  ['10 minutes', undefined],
  ['5', undefined],
  [null, undefined],
])('parseDuration(%p) = %p', (value, ms) => {
  expect(parseDuration(value)).toBe(ms);
});

test.each([
  [500, '500 ms'],
  [1500, '1.5 s'],
  [90_000, '90 s'],
  [1_800_000, '30 min'],
  [7_200_000, '2 h'],
])('formatDuration(%p) = %p', (ms, text) => {
  expect(formatDuration(ms)).toBe(text);
});
