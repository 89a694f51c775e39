#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/cli/main.js (built by `npm run build`,
// which `npm install` runs through the `prepare` script).
import { main } from '../dist/cli/main.js';

// stdout closed early (`| head`) is handled in dist/cli/io.js: output stops,
// the command finishes and keeps its own exit code.
process.exitCode = await main(process.argv.slice(2));
// The command is done. A plugin may have left something that keeps the event
// loop alive (a timer in an import that timed out): exit anyway, after a
// moment for output to drain. unref(): a clean process exits at once.
setTimeout(() => process.exit(), 1000).unref();
