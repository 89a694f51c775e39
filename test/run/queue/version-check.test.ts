/** A worker refuses keys computed for another modelpress or tfjs (the stage code is checked by the stage thread). */
import { PACKAGE_VERSION } from '../../../src/package-info.js';
import type { KeyRecord } from '../../../src/plan/key-record.js';
import { tfjsVersions } from '../../../src/plan/tfjs-versions.js';
import { versionRefusal } from '../../../src/run/queue/version-check.js';

const mine = tfjsVersions('cpu');
const record = (patch: Partial<KeyRecord>): KeyRecord =>
  ({ modelpress: PACKAGE_VERSION, stage: { name: 's', version: '1', code: 'sha256:x', files: 1 }, tfjs: mine, config: {}, inputs: [], data: {}, seed: 1, backend: 'cpu', ...patch }) as KeyRecord;

test.each([
  ['the same versions', {}, undefined],
  ['another modelpress', { modelpress: '0.0.1-other' }, `modelpress ${PACKAGE_VERSION} here, 0.0.1-other in the submitter's cache key`],
  ['another tfjs-core', { tfjs: { ...mine, core: '9.9.9' } }, `tfjs ${mine.core} here, 9.9.9 in the submitter's cache key`],
  ['another backend package', { tfjs: { ...mine, backend: '@tensorflow/tfjs-backend-cpu@9.9.9' } }, `${mine.backend} here, @tensorflow/tfjs-backend-cpu@9.9.9 in the submitter's cache key`],
  ['an unknown backend', { backend: 'webgpu' }, 'backend "webgpu" is unknown here'],
])('%s', (_name, patch, expected) => {
  expect(versionRefusal(record(patch as Partial<KeyRecord>))).toBe(expected);
});
