/**
 * The stage registry: an instance (never a module-level singleton) that maps
 * `uses:` names to stage definitions. The CLI builds one per run, registers
 * the built-in stages, then the plugins a recipe names.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import type { AnySchema } from 'ajv';
import { compileSchema } from './recipe/ajv.js';
import type { StageDefinition } from './plugin.js';
import { defineStage } from './stage-definition.js';

/** A registered stage plus where it came from, for error messages and run records. */
export interface RegisteredStage {
  def: StageDefinition<any>;
  /** `builtin`, a plugin file path, or an npm package name. */
  source: string;
}

/** Read-only view the validator and planner need. */
export interface StageCatalog {
  get(name: string): RegisteredStage | undefined;
  names(): string[];
}

/** A plugin problem: the plugin's fault, reported with its name. */
export class PluginError extends Error {
  constructor(
    readonly plugin: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`plugin ${plugin}: ${message}`, options);
    this.name = 'PluginError';
  }
}

/** How long a plugin's import (its top-level code) may take by default: 30 s. */
export const DEFAULT_IMPORT_TIMEOUT_MS = 30_000;

/** The environment variable that overrides it, in seconds (`MODELPRESS_PLUGIN_IMPORT_TIMEOUT=120`). */
export const IMPORT_TIMEOUT_ENV = 'MODELPRESS_PLUGIN_IMPORT_TIMEOUT';

/**
 * The import time limit from the environment, in ms. An environment
 * variable rather than a recipe key because it must hold before the recipe's
 * plugins are loaded, in `validate` and in every worker thread alike (which
 * share the process environment). A value that is not a positive number is
 * an error, so a typo is never silently the default.
 */
export function importTimeoutFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[IMPORT_TIMEOUT_ENV];
  if (raw === undefined || raw === '') return DEFAULT_IMPORT_TIMEOUT_MS;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new TypeError(`Expected ${IMPORT_TIMEOUT_ENV} to be a positive number of seconds, got ${JSON.stringify(raw)}`);
  return Math.round(seconds * 1000);
}

export interface LoadPluginOptions {
  /**
   * Longest wait for the plugin module (its top-level code) to import, in
   * ms. Default: `MODELPRESS_PLUGIN_IMPORT_TIMEOUT` seconds, else 30 000.
   * A module that awaits something that never settles would otherwise hang
   * the command forever, or let Node exit 13 with nothing printed.
   */
  importTimeoutMs?: number;
}

export class StageRegistry implements StageCatalog {
  private readonly stages = new Map<string, RegisteredStage>();

  /** Registers a stage; a duplicate name or a schema ajv cannot compile is an error naming both sources. */
  register(def: StageDefinition<any>, source = 'builtin'): void {
    try {
      defineStage(def);
    } catch (err) {
      throw new PluginError(source, (err as Error).message, { cause: err });
    }
    const prev = this.stages.get(def.name);
    if (prev) {
      throw new PluginError(source, `registers stage \`${def.name}\`, which ${prev.source === 'builtin' ? 'is built in' : `is already registered by ${prev.source}`}; stage names must be unique`);
    }
    if (def.schema !== undefined) {
      try {
        compileSchema(def.schema as AnySchema);
      } catch (err) {
        throw new PluginError(source, `the \`with\` schema of stage \`${def.name}\` does not compile: ${(err as Error).message}`, { cause: err });
      }
    }
    this.stages.set(def.name, { def, source });
  }

  get(name: string): RegisteredStage | undefined {
    return this.stages.get(name);
  }

  names(): string[] {
    return [...this.stages.keys()].sort();
  }

  /**
   * Imports a plugin and registers every stage it exports. `spec` is a file
   * path (relative to `fromDir` when it starts with . or /) or an npm package
   * name resolved from `fromDir`. Returns the names registered.
   */
  async loadPlugin(spec: string, fromDir: string, options: LoadPluginOptions = {}): Promise<string[]> {
    const timeoutMs = options.importTimeoutMs ?? importTimeoutFromEnv();
    if (!(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs > 0)) {
      throw new TypeError(`Expected importTimeoutMs to be a positive number of milliseconds, got ${String(timeoutMs)}`);
    }
    const url = resolvePluginUrl(spec, fromDir);
    let mod: Record<string, unknown>;
    try {
      mod = await importWithin(url, timeoutMs, spec);
    } catch (err) {
      if (err instanceof PluginError) throw err;
      throw new PluginError(spec, `cannot be loaded: ${(err as Error).message}`, { cause: err });
    }
    const defs = stagesExportedBy(mod);
    if (defs.length === 0) {
      throw new PluginError(
        spec,
        'exports no stage: export a stage made with defineStage() as the default export, or an array of them as `stages`',
      );
    }
    const names: string[] = [];
    for (const def of defs) {
      this.register(def, spec);
      names.push(def.name);
    }
    return names;
  }
}

/**
 * `import(url)`, or a PluginError after `ms`. The pending timer also keeps
 * the event loop alive, so a top-level await on a promise nothing settles
 * reaches this message instead of Node's silent exit 13. The import itself
 * cannot be cancelled; it stays pending, and the command ends anyway.
 */
async function importWithin(url: string, ms: number, spec: string): Promise<Record<string, unknown>> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new PluginError(
          spec,
          `did not finish importing within ${formatSeconds(ms)}: its top-level code awaits something that never settles (or is very slow); ` +
            `raise the limit with ${IMPORT_TIMEOUT_ENV}=<seconds> if it is only slow`,
        ),
      );
    }, ms);
  });
  try {
    return (await Promise.race([import(url), limit])) as Record<string, unknown>;
  } finally {
    clearTimeout(timer);
  }
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

function resolvePluginUrl(spec: string, fromDir: string): string {
  if (spec.startsWith('.') || isAbsolute(spec)) {
    const path = resolve(fromDir, spec);
    if (!existsSync(path)) throw new PluginError(spec, `no such file: ${path}`);
    return pathToFileURL(path).href;
  }
  try {
    // Resolve from the recipe's directory so a team's own node_modules is used.
    const req = createRequire(join(fromDir, 'noop.js'));
    return pathToFileURL(req.resolve(spec)).href;
  } catch (err) {
    throw new PluginError(spec, `is not installed (looked from ${fromDir}); install it with \`npm install ${spec}\``, { cause: err });
  }
}

/**
 * An export meant as a stage: an object with a `name` or a `run`. Fix: this
 * used to require a string name and a function run, so a stage with a typo
 * (`run: 'go'`, `name: 3`) was dropped and the plugin reported as "exports no
 * stage"; now register() checks it and says what is wrong ("Expected ...").
 */
function isStageLike(v: unknown): v is StageDefinition<any> {
  return typeof v === 'object' && v !== null && ('name' in v || 'run' in v);
}

function stagesExportedBy(mod: Record<string, unknown>): StageDefinition<any>[] {
  const found: unknown[] = [];
  const add = (v: unknown) => {
    if (Array.isArray(v)) found.push(...v);
    else if (v !== undefined) found.push(v);
  };
  add(mod.default);
  add(mod.stages);
  // A default export that is neither a stage nor a list is reported like "no stage".
  const unique = [...new Set(found)];
  return unique.filter(isStageLike);
}

