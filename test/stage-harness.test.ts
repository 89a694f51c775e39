/**
 * The public stage harness (src/stage-harness.ts, `modelpress/plugin`): the
 * runner's checks around a stage, with the runner's messages, and a real
 * context. The built-in stages' tests (test/stages/**) run on it too.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createStageHarness, defineStage, formatDiagnostic, StageHarnessError } from '../src/plugin.js';
import type { StageHarness, StageResult } from '../src/plugin.js';

const note = defineStage<{ text: string; skip: boolean }>({
  name: 'test/note',
  version: '1',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      text: { type: 'string', default: 'hi', description: 'What to write.' },
      skip: { type: 'boolean', default: false },
    },
  },
  outputs: ['note'],
  async run(ctx, config): Promise<StageResult> {
    if (config.skip) return { outputs: {} };
    const dir = await ctx.outputDir('note');
    await writeFile(join(dir, 'note.txt'), config.text);
    ctx.logger.info(`wrote ${config.text}`, { bytes: config.text.length });
    ctx.progress({ done: 1, total: 1, unit: 'notes' });
    const tf = await ctx.engine.tf();
    const rows = (await ctx.data('digits')).count;
    return { outputs: { note: dir }, metrics: { backend: tf.getBackend(), rows, seed: ctx.seed, stageId: ctx.stageId } };
  },
});

describe('createStageHarness', () => {
  let h: StageHarness;
  beforeAll(async () => {
    h = await createStageHarness({ backend: 'wasm', seed: 5, data: { digits: { uses: 'mnist', split: 'test', limit: 20, flatten: true } } });
  });
  afterAll(() => h.cleanup());

  test('validate fills in schema defaults', () => {
    expect(h.validate(note, {})).toEqual({ ok: true, config: { text: 'hi', skip: false } });
  });

  test('validate reports a bad config as located diagnostics with the schema description as hint', () => {
    const r = h.validate(note, { text: 3, colour: 'red' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      '<with of test/note>:1:1: error[unknown-key]: unknown key `colour` in `with`\n  = allowed keys: `text`, `skip`',
      '<with of test/note>:1:1: error[wrong-type]: `with.text` must be a string, got number 3\n  = What to write.',
    ]);
  });

  test('run: a real context (engine on the backend, recipe data, seed, logs, progress)', async () => {
    const ctx = h.context('note[text=yo]');
    const r = await h.runIn(ctx, note, { text: 'yo' });
    expect(r.metrics).toEqual({ backend: 'wasm', rows: 20, seed: 5, stageId: 'note' });
    expect(ctx.logs).toEqual([{ level: 'info', message: 'wrote yo', fields: { bytes: 2 } }]);
    expect(ctx.progressEvents).toEqual([{ done: 1, total: 1, unit: 'notes' }]);
  });

  test.each([
    [{ text: 5 }, 'stage test/note: invalid config:\n<with of test/note>:1:1: error[wrong-type]: `with.text` must be a string, got number 5\n  = What to write.'],
    [{ skip: true }, 'stage test/note: output `note` was declared but not returned'],
  ])('run throws StageHarnessError with the runner\'s message for %j', async (config, message) => {
    const err = await h.run(note, config).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(StageHarnessError);
    expect((err as Error).message).toBe(message);
  });

  test.each([
    [{ seed: 1.5 }, 'Expected `seed` to be an integer, got 1.5'],
    [{ backend: 'gpu' }, 'Expected `backend` to be one of tfjs-node, wasm, cpu, got "gpu"'],
    [{ data: [] }, 'Expected `data` to be an object of dataset declarations, got an array'],
  ])('bad options %j', async (options, message) => {
    await expect(createStageHarness(options as never)).rejects.toThrow(new TypeError(message));
  });
});
