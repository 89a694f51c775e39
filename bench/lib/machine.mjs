/**
 * The machine a benchmark ran on, for the results files: CPU model and
 * cores, memory, OS, Node and tfjs versions, and the tfjs backend the
 * numbers come from. Shared by every script under bench/.
 */
import { createRequire } from 'node:module';
import { arch, cpus, platform, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(join(root, 'package.json'));

/** Version of an installed package as the project resolves it, or null. */
export function packageVersion(name) {
  try {
    return require(`${name}/package.json`).version;
  } catch {
    return null;
  }
}

/**
 * Facts about this machine. `backend` is the tfjs backend the measured
 * numbers come from (e.g. run.json's `versions.backend`); `versions`, when
 * given (run.json's `versions`), overrides the locally detected ones so a
 * results file describes the process that computed the numbers.
 */
export function machine({ backend = null, versions = {} } = {}) {
  const list = cpus();
  return {
    cpu: list[0]?.model?.trim() ?? 'unknown cpu',
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${platform()} ${release()} ${arch()}`,
    node: versions.node ?? process.version,
    tfjs: versions.tfjs ?? packageVersion('@tensorflow/tfjs'),
    modelpress: versions.modelpress ?? packageVersion('modelpress') ?? require('./package.json').version,
    backend: versions.backend ?? backend,
  };
}

/** One line: "2 x AMD EPYC, 23.5 GiB, linux 6.1 x64, Node v20.20.2, tfjs 4.22.0, backend wasm". */
export function describeMachine(m) {
  const backend = m.backend ? `, backend ${m.backend}` : '';
  return `${m.cores} x ${m.cpu}, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}, tfjs ${m.tfjs}${backend}`;
}

/** A markdown table of the machine, for the end of a results file. */
export function machineTable(m) {
  return [
    '| | |',
    '| --- | --- |',
    `| CPU | ${m.cores} x ${m.cpu} |`,
    `| memory | ${m.memoryGiB} GiB |`,
    `| OS | ${m.os} |`,
    `| Node | ${m.node} |`,
    `| tfjs | ${m.tfjs} |`,
    `| backend | ${m.backend ?? '-'} |`,
    `| modelpress | ${m.modelpress} |`,
  ];
}
