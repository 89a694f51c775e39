/**
 * Debian's Chromium, driven headless through playwright-core. modelpress never
 * downloads a browser: it uses the one the system package manager installed
 * (default `/usr/bin/chromium`, or MODELPRESS_CHROMIUM), with launch flags for
 * a closed network (no background requests, no updates, no sync, no QUIC) and
 * a fresh profile directory per launch, removed on close.
 */
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';

/** Where Debian's `chromium` package puts the browser. */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

/** How to get a browser on a machine that has none; printed in every "not installed" error. */
export const CHROMIUM_INSTALL_HINT =
  'install it with `apt-get install chromium` (Debian/Ubuntu; as root or with sudo), ' +
  'or point MODELPRESS_CHROMIUM at a Chromium or Chrome executable';

/** The flags of every launch: headless, no sandbox (containers), no network of its own. */
export const CHROMIUM_FLAGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

export class BrowserUnavailableError extends Error {
  override name = 'BrowserUnavailableError';
}

/** The executable to launch: MODELPRESS_CHROMIUM when set, else /usr/bin/chromium. */
export function chromiumPath(): string {
  const fromEnv = process.env.MODELPRESS_CHROMIUM;
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_CHROMIUM_PATH;
}

/** Why Chromium cannot be launched here, or null when the executable is present. */
export function chromiumProblem(executable: string = chromiumPath()): string | null {
  try {
    accessSync(executable, constants.X_OK);
    return null;
  } catch {
    return `Chromium not found at ${executable}: ${CHROMIUM_INSTALL_HINT}`;
  }
}

export interface LaunchedBrowser {
  /** The browser's one context (persistent, on the fresh profile); open pages with context.newPage(). */
  context: BrowserContext;
  /** Closes the browser and removes its profile directory; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Launches headless Chromium with a fresh --user-data-dir. Throws
 * BrowserUnavailableError (message says how to install it) when the
 * executable is missing or does not start.
 */
export async function launchChromium(options: { executable?: string } = {}): Promise<LaunchedBrowser> {
  const executable = options.executable ?? chromiumPath();
  const problem = chromiumProblem(executable);
  if (problem !== null) throw new BrowserUnavailableError(problem);
  const { chromium } = await import('playwright-core');
  const profile = await mkdtemp(join(tmpdir(), 'modelpress-chromium-'));
  let context: BrowserContext;
  try {
    // Playwright passes the profile as --user-data-dir itself (it refuses the
    // flag in args); a persistent context on a fresh temporary directory is
    // exactly "a fresh --user-data-dir" and is deleted on close.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: executable,
      headless: true,
      args: [...CHROMIUM_FLAGS],
    });
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new BrowserUnavailableError(`Chromium at ${executable} did not start (${reason}); ${CHROMIUM_INSTALL_HINT}`, {
      cause: error,
    });
  }
  let closed = false;
  return {
    context,
    async close() {
      if (closed) return;
      closed = true;
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}
