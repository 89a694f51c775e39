/**
 * docs/architecture.md's "Allowed imports", checked: dependency-cruiser runs
 * the rules of .dependency-cruiser.cjs over src/ (scripts/check-architecture.mjs)
 * and must find no violation and no import it could not resolve; and, so that
 * a green run means something, the same rules run over a tiny project with
 * forbidden imports and must name those rules and imports.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const ROOT = resolve(import.meta.dirname, '..');
const CHECK = join(ROOT, 'scripts', 'check-architecture.mjs');

interface CheckResult {
  cruised: number;
  violations: { rule: string; from: string; to: string }[];
  unresolved: { from: string; to: string }[];
}

/** The project's rules over `dir`/src (the script exits 1 when it finds violations; its JSON says which). */
async function cruise(dir: string): Promise<CheckResult> {
  const out = await promisify(execFile)(process.execPath, [CHECK, dir, '--json'], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 }).catch(
    (err: { code?: number; stdout?: string; stderr?: string }) => {
      if (err.code !== 1 || !err.stdout) throw new Error(`check-architecture failed: ${err.stderr ?? String(err)}`);
      return { stdout: err.stdout };
    },
  );
  return JSON.parse(out.stdout) as CheckResult;
}

const lines = (r: CheckResult): string[] => r.violations.map((v) => `${v.rule}: ${v.from} -> ${v.to}`).sort();

describe('architecture', () => {
  test('src/ keeps the allowed imports of docs/architecture.md', async () => {
    const r = await cruise(ROOT);
    expect(r.cruised).toBeGreaterThan(150);
    expect(lines(r)).toEqual([]);
    expect(r.unresolved).toEqual([]);
  }, 120_000);

  test('the rules fire: src/run importing src/report, and a contract importing a stage, are violations', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mp-arch-'));
    try {
      for (const d of ['src/run', 'src/report', 'src/contracts', 'src/stages/evaluate']) await mkdir(join(dir, d), { recursive: true });
      await copyFile(join(ROOT, 'tsconfig.json'), join(dir, 'tsconfig.json'));
      await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
      await writeFile(join(dir, 'src/report/render.ts'), 'export const render = (s: string): string => s;\n');
      await writeFile(join(dir, 'src/run/run-recipe.ts'), "import { render } from '../report/render.js';\nexport const run = (): string => render('x');\n");
      await writeFile(join(dir, 'src/stages/evaluate/evaluate.ts'), 'export const version = 5;\n');
      await writeFile(join(dir, 'src/contracts/evaluation.ts'), "import { version } from '../stages/evaluate/evaluate.js';\nexport const v = version;\n");
      const r = await cruise(dir);
      expect(r.cruised).toBe(4);
      expect(lines(r)).toEqual([
        'contracts-stand-alone: src/contracts/evaluation.ts -> src/stages/evaluate/evaluate.ts',
        'run-does-not-render: src/run/run-recipe.ts -> src/report/render.ts',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
