import { createHash } from 'node:crypto';
import { buildModel } from '../../../src/engine/builders.js';
import { loadTf, type Tf } from '../../../src/engine/tf.js';

/** sha256 of every initial weight: tfjs draws seeded initial values in JavaScript, whatever the backend. */
function digests(tf: Tf): string[] {
  const model = buildModel(tf, { arch: 'cnn' }, 5);
  const out = model.getWeights().map((w) => createHash('sha256').update(w.dataSync() as Float32Array).digest('hex'));
  model.dispose();
  return out;
}

it('builds the same initial weights on cpu and wasm', async () => {
  const cpu = digests(await loadTf('cpu'));
  const wasm = digests(await loadTf('wasm'));
  expect(cpu).toHaveLength(14); // conv1 2, bn1 4, conv2 2, bn2 4, dense1 2
  expect(wasm).toEqual(cpu);
});
