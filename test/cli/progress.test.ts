/**
 * The CLI's rendering of progress inside a stage: without a terminal, plain
 * lines with done/total, rate and ETA, at most one per node every
 * PLAIN_PROGRESS_EVERY_MS; on a terminal, the live status line.
 */
import { jest } from '@jest/globals';
import { formatEta, PLAIN_PROGRESS_EVERY_MS, ProgressRenderer, progressText } from '../../src/cli/progress.js';
import type { Io } from '../../src/cli/io.js';

function io(isTTY: boolean): Io & { text: string[] } {
  const text: string[] = [];
  return { text, out: (t) => text.push(t), err: () => undefined, isTTY, cwd: '/', env: {} };
}

const report = (done: number) => ({ type: 'node-progress' as const, node: 'train', progress: { done, total: 2000, unit: 'examples', message: 'epoch 1/5', rate: 85.2, etaSeconds: 69 } });

describe('progress rendering', () => {
  test.each([
    [0.4, '0 s'],
    [12, '12 s'],
    [69, '1 min 09 s'],
    [3725, '1 h 02 min'],
  ])('formatEta(%p) is %p', (s, text) => {
    expect(formatEta(s)).toBe(text);
  });

  test('a report in words', () => {
    expect(progressText(report(120).progress)).toBe('120/2000 examples epoch 1/5, 85.2 examples/s, ETA 1 min 09 s');
    expect(progressText({ done: 2, total: 5, unit: 'epochs' })).toBe('2/5 epochs');
  });

  test('without a terminal: plain lines, at most one per node per interval, and at least every 5 s with reports every second', () => {
    jest.useFakeTimers({ now: 1_000_000 });
    try {
      const out = io(false);
      const r = new ProgressRenderer(out, 'info');
      // A report every second for 10 s.
      for (let s = 0; s <= 10; s++) {
        r.handle(report(100 * (s + 1)));
        jest.advanceTimersByTime(1000);
      }
      expect(out.text).toEqual([
        '         train: 100/2000 examples epoch 1/5, 85.2 examples/s, ETA 1 min 09 s\n',
        '         train: 500/2000 examples epoch 1/5, 85.2 examples/s, ETA 1 min 09 s\n',
        '         train: 900/2000 examples epoch 1/5, 85.2 examples/s, ETA 1 min 09 s\n',
      ]);
      expect(PLAIN_PROGRESS_EVERY_MS + 1000).toBeLessThanOrEqual(5000);
    } finally {
      jest.useRealTimers();
    }
  });

  test('on a terminal: the live line carries the same words', () => {
    const out = io(true);
    new ProgressRenderer(out, 'info').handle(report(100));
    expect(out.text.join('')).toContain('> train 100/2000 examples epoch 1/5, 85.2 examples/s, ETA 1 min 09 s');
  });
});
