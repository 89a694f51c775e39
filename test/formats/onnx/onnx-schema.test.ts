import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@jest/globals';
import { ONNX_PROTO_SOURCE } from '../../../src/formats/onnx/onnx-schema.js';

test('onnx-schema.ts is onnx.proto (regenerate with node scripts/gen-onnx-schema.mjs)', () => {
  const proto = readFileSync(join(process.cwd(), 'src', 'formats', 'onnx', 'onnx.proto'), 'utf8');
  expect(ONNX_PROTO_SOURCE).toBe(proto);
  expect(proto).toContain('message ModelProto');
});
