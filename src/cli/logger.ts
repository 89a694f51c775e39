/**
 * winston loggers for a run: a JSON-lines file in the run directory that
 * records every event (the full log, whatever the console shows), and with
 * `--json` the same JSON lines on stdout for machines.
 */
import { PassThrough } from 'node:stream';
import winston from 'winston';
import type { RunEvent } from '../run/events.js';
import type { Io } from './io.js';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function eventLevel(e: RunEvent): LogLevel {
  switch (e.type) {
    case 'node-failed':
      return 'error';
    case 'cache-corrupt':
    case 'node-skipped':
      return 'warn';
    case 'node-log':
      return e.level;
    case 'node-progress':
      return 'debug';
    default:
      return 'info';
  }
}

export interface RunLogger {
  log(e: RunEvent): void;
  close(): Promise<void>;
}

export function createRunLogger(opts: { file?: string; json: boolean; level: LogLevel; io: Io }): RunLogger {
  const transports: winston.transport[] = [];
  if (opts.file) {
    transports.push(new winston.transports.File({ filename: opts.file, level: 'debug', format: winston.format.combine(winston.format.timestamp(), winston.format.json()) }));
  }
  if (opts.json) {
    // Route through the Io so tests and the CLI share one stdout.
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => opts.io.out(chunk.toString()));
    transports.push(new winston.transports.Stream({ stream, level: opts.level, format: winston.format.combine(winston.format.timestamp(), winston.format.json()) }));
  }
  const logger = winston.createLogger({ levels: winston.config.npm.levels, transports, exitOnError: false });
  return {
    log(e) {
      if (transports.length === 0) return;
      const { type, ...rest } = e;
      logger.log({ level: eventLevel(e), message: type, event: type, ...rest });
    },
    close() {
      return new Promise((resolve) => {
        if (transports.length === 0) return resolve();
        logger.on('finish', () => resolve());
        logger.end();
      });
    },
  };
}
