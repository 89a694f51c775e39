#!/usr/bin/env node
/**
 * Checks the allowed imports of docs/architecture.md (the rules in
 * .dependency-cruiser.cjs) over src/:
 *
 *     node scripts/check-architecture.mjs [project-dir] [--json]
 *
 * Through dependency-cruiser's API rather than its `depcruise` CLI, so the
 * result comes back as data: one line per violation, and unresolved imports
 * (which would escape every rule) count as failures. test/architecture.test.ts runs this, so
 * `npm test` checks it. Exit 0: no violation; 1: violations (one line each,
 * `rule: from -> to`); 2: the check itself failed.
 */
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const json = args.includes('--json');
const dir = resolve(args.find((a) => !a.startsWith('--')) ?? root);

try {
  const config = createRequire(import.meta.url)(join(root, '.dependency-cruiser.cjs'));
  process.chdir(dir);
  const tsConfig = extractTSConfig(join(dir, 'tsconfig.json'));
  const result = await cruise(['src'], { ...config.options, validate: true, ruleSet: { forbidden: config.forbidden } }, undefined, { tsConfig });
  const { summary, modules } = result.output;
  const violations = summary.violations.map((v) => ({ rule: v.rule.name, from: v.from, to: v.to }));
  // An import the resolver could not follow would silently escape every rule.
  const unresolved = modules.flatMap((m) => m.dependencies.filter((d) => d.couldNotResolve).map((d) => ({ from: m.source, to: d.module })));
  if (json) {
    process.stdout.write(`${JSON.stringify({ cruised: summary.totalCruised, violations, unresolved }, null, 2)}\n`);
  } else {
    for (const v of violations) process.stdout.write(`${v.rule}: ${v.from} -> ${v.to}\n`);
    for (const u of unresolved) process.stdout.write(`unresolved: ${u.from} -> ${u.to}\n`);
    process.stdout.write(`${summary.totalCruised} modules, ${violations.length} violation(s), ${unresolved.length} unresolved import(s)\n`);
  }
  process.exitCode = violations.length > 0 || unresolved.length > 0 ? 1 : 0;
} catch (err) {
  process.stderr.write(`check-architecture: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
}
