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
  async loadPlugin(spec: string, fromDir: string): Promise<string[]> {
    const url = resolvePluginUrl(spec, fromDir);
    let mod: Record<string, unknown>;
    try {
      mod = (await import(url)) as Record<string, unknown>;
    } catch (err) {
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

