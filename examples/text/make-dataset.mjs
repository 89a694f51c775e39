#!/usr/bin/env node
/**
 * Builds examples/text/fortunes.tsv: real English text with real labels,
 * from the fortune cookie files Debian ships (BSD licence, see LICENSE.fortunes
 * next to this script). Each fortune file is one topic, so "which file is
 * this fortune from" is a topic classifier on short, varied, human-written
 * text: jokes, quotes and aphorisms about computers, food, law, sports and
 * Star Trek.
 *
 *   apt-get install fortunes              # /usr/share/games/fortunes/
 *   node examples/text/make-dataset.mjs   # -> examples/text/fortunes.tsv
 *
 * Options: --dir [/usr/share/games/fortunes], --classes [computers,food,law,sports,startrek],
 * --per-class [200] (the first N fortunes of each file: balanced classes, so
 * accuracy is read against a 20% chance level, not a majority class),
 * --out [examples/text/fortunes.tsv], --sample N (N per class into
 * examples/text/sample/fortunes-sample.tsv, the committed test fixture).
 *
 * Format: `label<TAB>text` per line, the text's line breaks and runs of
 * spaces collapsed to one space (a fortune's layout is not its topic), in
 * file order: the recipe's seeded `split` picks train and test.
 */
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    dir: { type: 'string', default: '/usr/share/games/fortunes' },
    classes: { type: 'string', default: 'computers,food,law,sports,startrek' },
    'per-class': { type: 'string', default: '200' },
    out: { type: 'string', default: join(here, 'fortunes.tsv') },
    sample: { type: 'string' },
  },
});

/** The fortunes of one file: entries separated by lines holding only `%`. */
function fortunes(text) {
  return text
    .split(/^%$/m)
    .map((f) => f.replace(/\s+/g, ' ').trim())
    .filter((f) => f !== '');
}

const perClass = Number(args.sample ?? args['per-class']);
const lines = [];
for (const name of args.classes.split(',')) {
  let text;
  try {
    text = await readFile(join(args.dir, name), 'utf8');
  } catch (err) {
    console.error(`${join(args.dir, name)}: ${err.code === 'ENOENT' ? 'not found: install Debian\'s `fortunes` package (apt-get install fortunes), or pass --dir' : err.message}`);
    process.exit(1);
  }
  const all = fortunes(text);
  if (all.length < perClass) console.warn(`${name}: only ${all.length} fortunes (asked for ${perClass})`);
  // A sample takes fortunes spread over the file, not its first few (often one author's).
  const picked = args.sample ? all.filter((_, i) => i % Math.floor(all.length / perClass) === 0).slice(0, perClass) : all.slice(0, perClass);
  for (const f of picked) lines.push(`${name}\t${f}`);
  console.log(`${name}: ${picked.length} of ${all.length}`);
}
const out = args.sample ? join(here, 'sample', 'fortunes-sample.tsv') : resolve(args.out);
await mkdir(dirname(out), { recursive: true });
await writeFile(out, `${lines.join('\n')}\n`);
console.log(`${out}: ${lines.length} examples`);
