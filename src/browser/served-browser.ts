/**
 * One headless Chromium (launchChromium) beside one 127.0.0.1 static server
 * whose routes are a whitelist, with pages opened once per key and reused.
 * The tfjs measurement session (session.ts) and the TFLite interpreter
 * session (tflite-session.ts) are both built on it, so launching, the
 * server's lifetime and closing are written once.
 */
import { launchChromium } from './chromium.js';
import type { LaunchedBrowser } from './chromium.js';
import { startStaticServer } from './static-server.js';
import type { Route, StaticServer } from './static-server.js';

/** What a session keeps per key: anything it can close. */
export interface ClosablePage {
  close(): Promise<void>;
}

export class ServedBrowser<P extends ClosablePage> {
  private readonly pages = new Map<string, Promise<P>>();
  private closed = false;

  private constructor(
    readonly browser: LaunchedBrowser,
    readonly server: StaticServer,
    private readonly name: string,
  ) {}

  /**
   * Launches Chromium, then serves `routes`; Chromium is closed again when the server does not start.
   * @throws BrowserUnavailableError when Chromium is missing or does not start (with the install hint).
   */
  static async open<P extends ClosablePage>(name: string, routes: Record<string, Route>, options: { executable?: string } = {}): Promise<ServedBrowser<P>> {
    const browser = await launchChromium(options);
    try {
      return new ServedBrowser<P>(browser, await startStaticServer(routes), name);
    } catch (error) {
      await browser.close();
      throw error;
    }
  }

  /**
   * The page for `key`, opened by `open` on first use. A failed opening is
   * remembered: every caller asking for that key gets the same error, without
   * a new page each time.
   */
  page(key: string, open: () => Promise<P>): Promise<P> {
    if (this.closed) throw new Error(`${this.name} is closed`);
    let p = this.pages.get(key);
    if (!p) {
      p = open();
      this.pages.set(key, p);
    }
    return p;
  }

  /** The browser's version string (e.g. 156.0.8078.108). */
  version(): string {
    return this.browser.context.browser()?.version() ?? 'unknown';
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pages.values()) await p.then((page) => page.close()).catch(() => undefined);
    await this.browser.close();
    await this.server.close();
  }
}
