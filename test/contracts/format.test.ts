/** How contract numbers are written: hundredths for accuracy, 3 significant digits otherwise. */
import { fmt, fmtHundredths, fmtKb, fmtPercent, fmtSignedPp } from '../../src/contracts/format.js';

describe('format', () => {
  const cases: [string, string, string][] = [
    ['fmt(31.04)', fmt(31.04), '31'],
    ['fmt(0.91234)', fmt(0.91234), '0.912'],
    ['fmtHundredths(98.3)', fmtHundredths(98.3), '98.30'],
    ['fmtHundredths(-0.001)', fmtHundredths(-0.001), '0.00'],
    ['fmtPercent(98.345)', fmtPercent(98.346), '98.35%'],
    ['fmtSignedPp(0.25)', fmtSignedPp(0.25), '+0.25 pp'],
    ['fmtSignedPp(-1.2)', fmtSignedPp(-1.2), '-1.20 pp'],
    ['fmtSignedPp(0.001)', fmtSignedPp(0.001), '±0.00 pp'],
    ['fmtKb(31948)', fmtKb(31948), '31.2 KB'],
  ];
  test.each(cases)('%s = %s', (_, got, want) => {
    expect(got).toBe(want);
  });
});
