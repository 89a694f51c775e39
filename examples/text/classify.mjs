/**
 * Classifies text with an exported fortunes model the way an app would:
 * stock @tensorflow/tfjs (no modelpress) and the two files the export stage
 * ships beside the model, preprocessing.json and vocabulary.txt, encoded
 * with the encoder of docs/data.md ("What ships with the exported model").
 *
 *   node examples/text/classify.mjs <exported model dir> "Beam me up, Scotty!" ["another text" ...]
 *
 * In Node without tfjs-node, `tf.loadLayersModel` has no file:// handler, so
 * the model is read from disk and handed over with `tf.io.fromMemory`; in a
 * browser, `tf.loadLayersModel(url)` does the same.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

tf.enableProdMode(); // no "install tfjs-node" banner: this is the plain cpu backend on purpose

const [dir, ...texts] = process.argv.slice(2);
if (!dir || texts.length === 0) {
  process.stderr.write('usage: node examples/text/classify.mjs <exported model dir> "text" ["text" ...]\n');
  process.exit(2);
}

const docs = readFileSync(new URL('../../docs/data.md', import.meta.url), 'utf8');
const encoderSource = /<!-- encoder:start -->\n```js\n([\s\S]*?)```/.exec(docs)[1];
const { makeEncoder } = await import(`data:text/javascript,${encodeURIComponent(encoderSource)}`);

const pre = JSON.parse(readFileSync(join(dir, 'preprocessing.json'), 'utf8'));
const encode = makeEncoder(pre, readFileSync(join(dir, pre.input.vocabulary.file), 'utf8'));
const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
const specs = json.weightsManifest.flatMap((g) => g.weights);
const bins = json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dir, p))));
const weights = Buffer.concat(bins);
const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength);
const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData }));

for (const text of texts) {
  const scores = tf.tidy(() => model.predict(tf.tensor2d([encode(text)])).dataSync());
  const order = [...scores.keys()].sort((a, b) => scores[b] - scores[a]);
  const top = order.slice(0, 2).map((i) => `${pre.classNames[i]} ${(100 * scores[i]).toFixed(1)}%`).join(', ');
  process.stdout.write(`${top}  <- ${JSON.stringify(text)}\n`);
}
