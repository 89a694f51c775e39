import { formatInt, formatKb, formatShape, renderInspectTable } from '../../src/cli/inspect-table.js';
import type { LayerReport, ModelReport } from '../../src/inspect/model-report.js';

test.each([
  [formatInt(1234567), '1,234,567'],
  [formatKb(1024), '1.0 KB'],
  [formatKb(1_300_000), '1,269.5 KB'],
  [formatShape([7, 7, 1280]), '[7,7,1280]'],
  [formatShape([null, 16]), '[?,16]'],
  [formatShape(null), '?'],
])('%s', (got, want) => {
  expect(got).toBe(want);
});

const stages = [
  { id: 'prune', label: 'prune' },
  { id: 'quantize', label: 'quantize' },
];

function layer(name: string, className: string, inbound: string[], params: number, more: Partial<LayerReport> = {}): LayerReport {
  return {
    name,
    className,
    outputShape: [14, 14, 32],
    inbound,
    params,
    nonZeros: params,
    macs: params * 196,
    weights: params > 0 ? [{ name: `${name}/kernel`, shape: [params], dtype: 'float32', storage: 'float32', params, nonZeros: params }] : [],
    stages: params > 0 ? { prune: { applies: true }, quantize: { applies: true } } : { prune: { applies: false, reason: 'no kernel to mask' }, quantize: { applies: false, reason: 'no float32 weights' } },
    ...more,
  };
}

test('a functional graph gets an inputs column; unknown MACs and stages show ?', () => {
  const report: ModelReport = {
    version: 1,
    format: 'tfjs-layers',
    path: 'm',
    topology: 'Functional',
    files: [{ name: 'model.json', raw: 2048, gzip: 512, brotli: 400 }],
    size: { raw: 2048, gzip: 512, brotli: 400 },
    inputs: [{ name: 'in', shape: [14, 14, 32] }],
    outputs: [{ name: 'add', shape: [14, 14, 32] }],
    layers: [
      layer('in', 'InputLayer', [], 0),
      layer('a', 'Conv2D', ['in'], 9248),
      layer('custom', 'MyLayer', ['in'], 12, { macs: null, stages: { prune: { applies: null, reason: 'x' }, quantize: { applies: false, reason: 'kernel below minSize (12 < 256)' } } }),
      layer('add', 'Add', ['a', 'custom'], 0),
    ],
    stages,
    summary: { layers: 4, params: 9260, nonZeros: 9260, sparsity: 0, macs: 1_812_608, macsComplete: false },
  };
  const lines = renderInspectTable(report).split('\n');
  expect(lines.slice(4, 9)).toEqual([
    '#  layer   class       output      inputs    params  non-zeros  weights       MACs  prune  quantize',
    '1  in      InputLayer  [14,14,32]  -              0          0  -                0  no     no',
    '2  a       Conv2D      [14,14,32]  in         9,248      9,248  float32  1,812,608  yes    yes',
    '3  custom  MyLayer     [14,14,32]  in            12         12  float32          ?  ?      no',
    '4  add     Add         [14,14,32]  a,custom       0          0  -                0  no     no',
  ]);
  expect(lines).toContain('  custom  prune: x');
  expect(lines).toContain('  custom  quantize: kernel below minSize (12 < 256)');
  expect(lines[lines.length - 2]).toBe('4 layers, 9,260 params, 9,260 non-zeros (0.0% sparse), 1,812,608+ (some layers unknown) MACs, 2.0 KB raw / 0.5 KB gzip / 0.4 KB brotli');
});
