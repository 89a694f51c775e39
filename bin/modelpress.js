#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/cli/main.js (built by `npm run build`,
// which `npm install` runs through the `prepare` script).
import { main } from '../dist/cli/main.js';

// `modelpress cache ls | head` closes the pipe early; that is not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

process.exitCode = await main(process.argv.slice(2));
// The command is done. A plugin may have left something that keeps the event
// loop alive (a timer in an import that timed out): exit anyway, after a
// moment for output to drain. unref(): a clean process exits at once.
setTimeout(() => process.exit(), 1000).unref();
