// Writes src/formats/onnx/onnx-schema.ts from src/formats/onnx/onnx.proto.
// Why a module and not the .proto file at run time: only dist/ ships, and tsc
// copies no .proto files; a string module ships with the code that parses it.
// test/formats/onnx/onnx-schema.test.ts fails when the two drift apart.
import { readFileSync, writeFileSync } from 'node:fs';

const proto = readFileSync(new URL('../src/formats/onnx/onnx.proto', import.meta.url), 'utf8');
const out = `/**
 * The ONNX IR schema (onnx.proto, Apache-2.0, ONNX Project Contributors) as a
 * string, generated from ./onnx.proto by scripts/gen-onnx-schema.mjs: do not
 * edit by hand. See ./onnx.proto for where it comes from.
 */
export const ONNX_PROTO_SOURCE: string = ${JSON.stringify(proto)};
`;
writeFileSync(new URL('../src/formats/onnx/onnx-schema.ts', import.meta.url), out);
