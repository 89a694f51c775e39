/**
 * Browser tests need Debian's Chromium. Without it they are skipped with a
 * visible message, except when MODELPRESS_REQUIRE_BROWSER=1 (set by .ci/run):
 * there a missing browser fails the suite instead of hiding it.
 */
import { describe } from '@jest/globals';
import { chromiumProblem } from '../../src/browser/chromium.js';

export const browserProblem = chromiumProblem();
export const browserRequired = process.env.MODELPRESS_REQUIRE_BROWSER === '1';

/** `describe` when Chromium is here (or required), `describe.skip` with a console warning otherwise. */
export function describeWithBrowser(name: string, body: () => void): void {
  if (browserProblem === null || browserRequired) {
    describe(name, body);
    return;
  }
  console.warn(`SKIPPED browser tests "${name}": ${browserProblem}`);
  describe.skip(name, body);
}
