import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { StageRegistry } from '../../src/plugin-registry.js';
import { defineStage } from '../../src/plugin.js';
import type { StageDefinition } from '../../src/plugin.js';
import type { Diagnostic } from '../../src/recipe/diagnostic.js';

/** Writes `files` (name -> text) into a fresh temp dir; returns the dir. */
export async function writeTree(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mp-recipe-'));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

export async function removeTree(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** One line per diagnostic: `file:line:col code: message`, the form tests assert on. */
export function lines(ds: readonly Diagnostic[]): string[] {
  return ds.map((d) => `${d.loc ? `${d.loc.file}:${d.loc.line}:${d.loc.column} ` : ''}${d.code}: ${d.message}`);
}

/**
 * A `prune` stage whose schema has defaults and limits (sparsity, method,
 * epochs): what validation and planning tests check configs against. `run`
 * throws: these tests never run stages.
 */
export function schemaOnlyPrune(): StageDefinition<any> {
  return defineStage({
    name: 'prune',
    version: '1',
    outputs: ['model'],
    schema: {
      type: 'object',
      additionalProperties: false,
      properties: {
        sparsity: { type: 'number', minimum: 0, maximum: 1, default: 0.5 },
        method: { enum: ['magnitude', 'l1', 'l2'], default: 'magnitude' },
        epochs: { type: 'integer', minimum: 0, default: 0 },
      },
    },
    async run() {
      throw new Error('stages are not run by validation and planning tests');
    },
  });
}

/**
 * A registry with two stages whose `with` schemas exercise validation:
 * the stages themselves are not run by these tests.
 */
export function testRegistry(): StageRegistry {
  const registry = new StageRegistry();
  registry.register(schemaOnlyPrune());
  registry.register(
    defineStage({
      name: 'quantize',
      version: '1',
      outputs: ['model'],
      schema: {
        type: 'object',
        additionalProperties: false,
        properties: { weights: { enum: ['uint8', 'uint16', 'float16'], default: 'uint8' } },
      },
      async run() {
        throw new Error('not run in validation tests');
      },
    }),
  );
  return registry;
}
