/**
 * Finding the file an `extends` entry names.
 *
 * Three forms, told apart by their prefix so that no name is ambiguous:
 *   modelpress:<path>      a preset shipped in this package's `pipelines/`
 *   ./x.yaml, ../x, /abs   a file relative to the file that names it
 *   <pkg>[/<path>]         an npm package installed next to the recipe
 *                          (`@team/presets`, `@team/presets/phone.yaml`);
 *                          without a path, the package's `modelpress.preset`
 *                          field or its `preset.yaml`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { PACKAGE_ROOT } from '../package-info.js';

export const SHIPPED_PREFIX = 'modelpress:';

export const SHIPPED_PRESETS_DIR = join(PACKAGE_ROOT, 'pipelines');

export type PresetLookup = { found: true; path: string } | { found: false; tried: string[]; reason: string };

const EXTENSIONS = ['', '.yaml', '.yml'];

function firstFile(candidates: string[]): string | undefined {
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

function withExtensions(base: string): string[] {
  return EXTENSIONS.map((ext) => base + ext);
}

/** Resolves `ref` as written in a file at `fromFile`. */
export function findPreset(ref: string, fromFile: string): PresetLookup {
  if (ref.startsWith(SHIPPED_PREFIX)) {
    const rel = ref.slice(SHIPPED_PREFIX.length);
    const tried = withExtensions(join(SHIPPED_PRESETS_DIR, rel));
    const hit = rel.includes('..') ? undefined : firstFile(tried);
    return hit
      ? { found: true, path: hit }
      : { found: false, tried, reason: `no shipped preset \`${rel}\` in modelpress's pipelines/` };
  }
  if (ref.startsWith('./') || ref.startsWith('../') || isAbsolute(ref)) {
    const tried = withExtensions(resolve(dirname(fromFile), ref));
    const hit = firstFile(tried);
    return hit ? { found: true, path: hit } : { found: false, tried, reason: `no file \`${ref}\`` };
  }
  return findPackagePreset(ref, fromFile);
}

function splitPackageRef(ref: string): { pkg: string; sub: string } {
  const parts = ref.split('/');
  const n = ref.startsWith('@') ? 2 : 1;
  return { pkg: parts.slice(0, n).join('/'), sub: parts.slice(n).join('/') };
}

function findPackagePreset(ref: string, fromFile: string): PresetLookup {
  const { pkg, sub } = splitPackageRef(ref);
  const tried: string[] = [];
  // Walk up node_modules like Node does, without going through the package's
  // `exports` map: presets are data files, rarely listed there.
  for (let dir = dirname(resolve(fromFile)); ; dir = dirname(dir)) {
    const root = join(dir, 'node_modules', pkg);
    if (existsSync(join(root, 'package.json'))) {
      const candidates = sub ? withExtensions(join(root, sub)) : packageEntry(root);
      tried.push(...candidates);
      const hit = firstFile(candidates);
      if (hit) return { found: true, path: hit };
      return {
        found: false,
        tried,
        reason: sub
          ? `package \`${pkg}\` has no preset \`${sub}\``
          : `package \`${pkg}\` names no preset (set "modelpress": {"preset": "file.yaml"} in its package.json, or ship preset.yaml)`,
      };
    }
    tried.push(root);
    if (dirname(dir) === dir) break;
  }
  return {
    found: false,
    tried,
    reason: `no npm package \`${pkg}\` installed (presets that are files start with ./ or ../; shipped ones with ${SHIPPED_PREFIX})`,
  };
}

function packageEntry(root: string): string[] {
  try {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { modelpress?: { preset?: unknown } };
    const preset = manifest.modelpress?.preset;
    if (typeof preset === 'string') return [join(root, preset)];
  } catch {
    // An unreadable package.json falls through to the conventional file name.
  }
  return withExtensions(join(root, 'preset'));
}
