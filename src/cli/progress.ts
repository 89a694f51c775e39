/**
 * Human-readable run output. On a terminal, one live status line lists the
 * running stages and their progress, redrawn in place; elsewhere (CI logs,
 * pipes) every event is a plain line.
 */
import type { RunEvent } from '../run/events.js';
import type { StageProgress } from '../plugin.js';
import { formatDiagnostic } from './print-diagnostics.js';
import type { Io } from './io.js';
import type { LogLevel } from './logger.js';
import { eventLevel, LOG_LEVELS } from './logger.js';

/**
 * Plain (non-TTY) output prints a node's progress at most this often. Stages
 * report passes over examples every second (example-progress.ts), so a long
 * pass shows a plain line at least every 5 s.
 */
export const PLAIN_PROGRESS_EVERY_MS = 4000;

/** `12 s`, `3 min 05 s`, `1 h 02 min`: an ETA to the second is noise past a minute. */
export function formatEta(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** A progress report in words: `120/6000 examples epoch 1/5, 85.2 examples/s, ETA 1 min 09 s`. */
export function progressText(p: StageProgress): string {
  const rate = p.rate !== undefined ? `, ${p.rate} ${p.unit ?? 'units'}/s` : '';
  const eta = p.etaSeconds !== undefined ? `, ETA ${formatEta(p.etaSeconds)}` : '';
  return `${p.done}${p.total !== undefined ? `/${p.total}` : ''}${p.unit ? ` ${p.unit}` : ''}${p.message ? ` ${p.message}` : ''}${rate}${eta}`;
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export class ProgressRenderer {
  private readonly running = new Map<string, string>();
  private readonly lastPlain = new Map<string, number>();
  private statusShown = false;

  constructor(
    private readonly io: Io,
    private readonly level: LogLevel,
  ) {}

  handle(e: RunEvent): void {
    const line = this.lineFor(e);
    if (e.type === 'node-started') this.running.set(e.node, 'starting');
    if (e.type === 'node-progress') {
      const p = e.progress;
      const text = progressText(p);
      this.running.set(e.node, text);
      if (this.io.isTTY) return this.redraw();
      // Without a live line (CI logs, pipes), long stages still show signs of
      // life: one progress line per node every few seconds at most.
      const now = Date.now();
      if (now - (this.lastPlain.get(e.node) ?? 0) >= PLAIN_PROGRESS_EVERY_MS && LOG_LEVELS.indexOf(this.level) >= LOG_LEVELS.indexOf('info')) {
        this.lastPlain.set(e.node, now);
        this.io.out(`         ${e.node}: ${text}\n`);
      }
      return;
    }
    if (e.type === 'node-finished' || e.type === 'node-failed') this.running.delete(e.node);
    if (line !== undefined && LOG_LEVELS.indexOf(eventLevel(e)) <= LOG_LEVELS.indexOf(this.level)) {
      this.clearStatus();
      this.io.out(`${line}\n`);
    }
    if (this.io.isTTY) this.redraw();
  }

  finish(): void {
    this.clearStatus();
  }

  private lineFor(e: RunEvent): string | undefined {
    switch (e.type) {
      case 'run-started':
        return `running ${e.nodes.length} node${e.nodes.length === 1 ? '' : 's'} with up to ${e.jobs} at once`;
      case 'node-started':
        return `  run    ${e.node}  (${e.reasons.join('; ')})`;
      case 'node-cached':
        return `  cached ${e.node}`;
      case 'cache-corrupt':
        return `  warn   ${e.node}: cache entry is corrupt, recomputing (${e.reason})`;
      case 'node-finished':
        return `  done   ${e.node}  ${formatMs(e.durationMs)}`;
      case 'node-failed': {
        // The message already ends with the thrown error's message; show the rest of its cause chain.
        const causes: string[] = [];
        for (let c = e.cause?.cause; c && causes.length < 5; c = c.cause) causes.push(`\n         caused by: ${c.name}: ${c.message}`);
        // A config error found while running is shown like a validation error.
        if (e.diagnostic) return `  FAILED ${e.node}\n${formatDiagnostic(e.diagnostic)}`;
        return `  FAILED ${e.message}${causes.join('')}`;
      }
      case 'node-skipped':
        return `  skip   ${e.node}  (${e.because})`;
      case 'node-log':
        return `         ${e.node}: ${e.message}`;
      case 'node-progress':
        return `         ${e.node}: ${e.progress.done}${e.progress.total !== undefined ? `/${e.progress.total}` : ''} ${e.progress.unit ?? ''}`.trimEnd();
      case 'run-finished': {
        const c = e.counts;
        return `${e.status}: ${c.ran} ran, ${c.cached} cached, ${c.failed} failed, ${c.skipped} skipped${c.cancelled ? `, ${c.cancelled} cancelled` : ''} in ${formatMs(e.durationMs)}`;
      }
    }
  }

  private redraw(): void {
    this.clearStatus();
    if (this.running.size === 0) return;
    const parts = [...this.running].map(([n, p]) => `${n} ${p}`);
    this.io.out(`\x1b[2m> ${parts.join(' | ')}\x1b[0m`);
    this.statusShown = true;
  }

  private clearStatus(): void {
    if (this.statusShown) this.io.out('\r\x1b[2K');
    this.statusShown = false;
  }
}
