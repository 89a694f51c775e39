/**
 * One Chromium page with tfjs set up on one backend and thread count
 * (a backend cannot be switched back and forth cleanly inside a page, and
 * wasm's thread pool is sized once), driven through page.evaluate.
 *
 * Every request the page makes is checked: anything that is not our
 * 127.0.0.1 origin (or data:/blob:) is aborted and makes the next call fail,
 * so a measurement can never depend on the network, and a script that tried
 * to reach it is reported instead of silently hanging.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { BrowserRuntimeError, pageErrorMessage } from './browser-error.js';
import { PAGE_GLOBAL } from './page-protocol.js';
import type { PageApi, PageInfo, PageSetup } from './page-protocol.js';

type Method = keyof PageApi;
type Result<M extends Method> = Awaited<ReturnType<PageApi[M]>>;

export class MeasurementPage {
  private readonly blocked: string[] = [];
  private readonly errors: string[] = [];
  /** What tfjs runs on in this page (set by open()). */
  info!: PageInfo;

  private constructor(
    private readonly page: Page,
    readonly origin: string,
    readonly setup: PageSetup,
  ) {}

  /** Opens `origin`/ in a new page of `context` and sets tfjs up; throws BrowserRuntimeError. */
  static async open(context: BrowserContext, origin: string, setup: PageSetup, timeoutMs = 60_000): Promise<MeasurementPage> {
    const page = await context.newPage();
    const mp = new MeasurementPage(page, origin, setup);
    page.setDefaultTimeout(timeoutMs);
    try {
      await page.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith(`${origin}/`)) return route.continue();
        mp.blocked.push(url);
        return route.abort('blockedbyclient');
      });
      page.on('pageerror', (e) => mp.errors.push(e.message.split('\n')[0] ?? e.message));
      const response = await page.goto(`${origin}/`, { waitUntil: 'load' });
      if (!response?.ok()) throw new BrowserRuntimeError('page', `the measurement page did not load from ${origin}/ (HTTP ${response?.status() ?? 'no response'})`);
      mp.info = await mp.call('setup', setup).catch((error: unknown) => {
        const msg = error instanceof BrowserRuntimeError ? error.message : pageErrorMessage(error);
        throw new BrowserRuntimeError(/not available/.test(msg) ? 'backend' : 'page', msg, { cause: error });
      });
      return mp;
    } catch (error) {
      await page.close().catch(() => undefined);
      if (error instanceof BrowserRuntimeError) throw error;
      throw new BrowserRuntimeError('page', `the measurement page failed: ${pageErrorMessage(error)}`, { cause: error });
    }
  }

  /** Calls `window.__modelpress[method](...args)` in the page. */
  async call<M extends Method>(method: M, ...args: Parameters<PageApi[M]>): Promise<Result<M>> {
    let result: Result<M>;
    try {
      result = (await this.page.evaluate(
        ({ g, m, a }) => {
          const api = (globalThis as unknown as Record<string, Record<string, (...x: unknown[]) => unknown>>)[g];
          if (!api) throw new Error('the measurement page script did not run');
          return api[m]!(...a);
        },
        { g: PAGE_GLOBAL, m: method as string, a: args as unknown[] },
      )) as Result<M>;
    } catch (error) {
      throw new BrowserRuntimeError('page', `${method} in the page failed: ${pageErrorMessage(error)}${this.problems()}`, { cause: error });
    }
    if (this.blocked.length > 0) {
      throw new BrowserRuntimeError('page', `the page tried to load from outside ${this.origin}: ${this.blocked.slice(0, 3).join(', ')}`);
    }
    return result;
  }

  async close(): Promise<void> {
    await this.page.close().catch(() => undefined);
  }

  private problems(): string {
    const all = [...this.errors, ...this.blocked.map((u) => `blocked ${u}`)];
    return all.length > 0 ? ` (${all.slice(-3).join('; ')})` : '';
  }
}
