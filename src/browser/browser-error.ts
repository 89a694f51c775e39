/**
 * Expected failures of a browser measurement, each a one-line message meant
 * for users. (A browser that is not installed or does not start is
 * chromium.ts's BrowserUnavailableError: that one fails the stage.)
 */
export type BrowserErrorCode =
  /** dist/browser/modelpress-loader.js (or a tfjs asset) is missing: build or install first. */
  | 'not-built'
  /** The tfjs backend asked for cannot start in this browser (e.g. webgl without a GPU). */
  | 'backend'
  /** The page could not load the model. */
  | 'model'
  /** Anything else the page reported (a script error, a blocked request, a timeout). */
  | 'page';

export class BrowserRuntimeError extends Error {
  override readonly name = 'BrowserRuntimeError';

  constructor(
    readonly code: BrowserErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The first line of a Playwright error, without its `page.evaluate: Error: ` prefixes. */
export function pageErrorMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const first = text.split('\n').find((l) => l.trim() !== '') ?? text;
  return first.replace(/^[a-zA-Z.]+: /, '').replace(/^(Uncaught )?(Error|TypeError|RangeError): /, '').trim();
}
