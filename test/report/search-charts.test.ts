/**
 * The report's search charts on real stage outputs: a small MLP trained on
 * 2,000 MNIST images, a sensitivity sweep over all four families, and an
 * auto search for two devices with their own packed-size budgets (uniform
 * and random baselines on). report.html gets one well-formed SVG per
 * sensitivity family naming every layer, and one Pareto chart per device
 * naming every series and marking the chosen trial; hostile node ids are
 * escaped.
 */
import type { Json, StageInputs } from '../../src/plugin.js';
import { createStageHarness } from '../../src/plugin.js';
import { renderRunHtml } from '../../src/report/render-html.js';
import { renderRunMarkdown } from '../../src/report/render-markdown.js';
import { autoStage } from '../../src/stages/auto/auto.js';
import { sensitivityStage } from '../../src/stages/sensitivity/sensitivity.js';
import { trainStage } from '../../src/stages/train/train.js';
import { decodeSensitivity } from '../../src/contracts/sensitivity.js';
import { fakeNode, fakeRunRecord } from '../helpers/run-record.js';
import { SMALL_MNIST } from '../stages/harness.js';

/**
 * Checks that `svg` is well-formed XML as far as a report needs: every tag
 * closed in order, attributes quoted, no raw `<` or `&` in text. Returns the
 * problem, or null.
 */
function xmlProblem(svg: string): string | null {
  const stack: string[] = [];
  const tag = /<(\/?)([a-zA-Z][\w-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y;
  let i = 0;
  while (i < svg.length) {
    const lt = svg.indexOf('<', i);
    const text = svg.slice(i, lt === -1 ? svg.length : lt);
    if (/&(?!(amp|lt|gt|quot|#39);)/.test(text)) return `raw & in text: ${text.slice(0, 40)}`;
    if (lt === -1) break;
    tag.lastIndex = lt;
    const m = tag.exec(svg);
    if (!m) return `malformed tag at ${lt}: ${svg.slice(lt, lt + 60)}`;
    const [, close, name, , self] = m;
    if (close) {
      if (stack.pop() !== name) return `</${name}> closes nothing open at ${lt}`;
    } else if (!self) stack.push(name!);
    i = tag.lastIndex;
  }
  return stack.length === 0 ? null : `unclosed: ${stack.join(' > ')}`;
}

const svgs = (html: string) => html.match(/<svg\b[\s\S]*?<\/svg>/g) ?? [];
const texts = (svg: string) => [...svg.matchAll(/<text\b[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);

describe('search charts in report.html', () => {
  let html: string;
  let md: string;
  let trials: { trial: number; kind: string }[];
  let layers: string[];
  let best: number;
  const SENS = 'sens<&>"1';

  beforeAll(async () => {
    const h = await createStageHarness({
      backend: 'wasm',
      data: SMALL_MNIST,
      model: { build: { arch: 'mlp', units: [32, 16] } },
      devices: { phone: { runtime: 'wasm', budget: { size_packed_kb: 12 } }, watch: { runtime: 'wasm', budget: { size_packed_kb: 8 } } },
    });
    try {
      const trained = (await h.run(trainStage, { data: 'train', epochs: 1, learningRate: 0.003 })).outputs.model!;
      const model = await h.artifact(trained);
      const sens = await h.run(sensitivityStage, { fraction: 0.1, samples: 150, sparsity: [0.5, 0.9], bits: [4, 2], dtype: ['uint8'], structured: [0.5] }, { model, upstream: [] });
      const inputs: StageInputs = {
        model,
        upstream: [
          { node: 'model', stage: 'model', matrix: {}, outputs: { model }, metrics: {} },
          { node: 'sensitivity', stage: 'sensitivity', matrix: {}, outputs: { sensitivity: await h.artifact(sens.outputs.sensitivity!) }, metrics: {} },
        ],
      };
      const auto = await h.run(autoStage, { trials: 2, finetune: { epochs: 0 }, resume: { dir: `${h.dir}/trials` } }, inputs);
      const d = decodeSensitivity(sens.metrics as Json);
      if (!d.ok) throw new Error(d.error);
      layers = d.value.layers;
      best = (auto.metrics as Record<string, Json>).best as number;
      const record = fakeRunRecord('search', [fakeNode(SENS, 'sensitivity', sens.metrics as Record<string, Json>), fakeNode('auto', 'auto', auto.metrics as Record<string, Json>)]);
      html = renderRunHtml(record);
      md = renderRunMarkdown(record);
      trials = ((auto.metrics as Record<string, Json>).chart as { trials: { trial: number; kind: string }[] }).trials;
    } finally {
      await h.cleanup();
    }
  }, 120_000);

  test('every chart is well-formed', () => {
    // The stages chart (auto's accuracy), 4 sensitivity families, 2 devices.
    expect(svgs(html).length).toBe(1 + 4 + 2);
    for (const svg of svgs(html)) expect(xmlProblem(svg)).toBeNull();
    expect(html).not.toContain(SENS);
    expect(html).toContain('Sensitivity: sens&lt;&amp;&gt;&quot;1');
  });

  test('one sensitivity chart per family, each naming every layer', () => {
    const charts = svgs(html).filter((s) => s.includes('aria-label="Sensitivity of'));
    expect(charts.map((s) => s.match(/vs (\w+) level/)![1])).toEqual(['sparsity', 'bits', 'dtype', 'structured']);
    expect(layers).toEqual(['dense1', 'dense2', 'dense3']);
    for (const svg of charts.slice(0, 3)) {
      expect(texts(svg).filter((t) => layers.includes(t))).toEqual(layers);
      expect((svg.match(/<g class="series layer">/g) ?? []).length).toBe(3);
    }
    // The output layer cannot lose units: the structured chart has the two hidden layers.
    expect(texts(charts[3]!).filter((t) => layers.includes(t))).toEqual(['dense1', 'dense2']);
  });

  test('one Pareto chart per device, naming every series and the chosen trial, with its own budget', () => {
    const charts = svgs(html).filter((s) => s.includes('aria-label="Auto search of auto'));
    expect(charts.map((s) => s.match(/for device (\w+)/)![1])).toEqual(['phone', 'watch']);
    for (const [svg, kb] of [[charts[0]!, '12'], [charts[1]!, '8']] as const) {
      expect(texts(svg)).toEqual(expect.arrayContaining(['search (repairs, explored)', 'uniform baseline', 'random search', 'chosen model (ringed)', `budget ${kb} KB`, `chosen (trial ${best})`]));
      expect(svg).toContain('<line class="budget"');
      // One point per trial, search + uniform + random.
      expect((svg.match(/<circle cx="[\d.]+" cy="[\d.]+" r="4\.5"/g) ?? []).length).toBeGreaterThanOrEqual(3);
    }
  });

  test('report.md carries the same: the sensitivity table and every trial, the chosen one marked', () => {
    expect(md).toContain('## Sensitivity: sens\\<\\&>"1');
    const sensRows = md.split('\n').filter((l) => layers.some((name) => l.startsWith(`| ${name} |`)));
    expect(sensRows.map((l) => l.split('|')[1]!.trim())).toEqual(layers);
    expect(md).toContain('## Auto search: auto');
    const trialRows = md.split('\n').filter((l) => /^\| \d+ \| (search|uniform baseline|random search) \|/.test(l));
    expect(trialRows).toHaveLength(trials.length);
    expect(trialRows.filter((l) => l.trimEnd().endsWith('| **yes** |'))).toEqual([trialRows.find((l) => l.startsWith(`| ${best} |`))]);
  });
});
