/**
 * The one error type of ONNX import and export: an expected failure (a file
 * that is not ONNX, an op modelpress cannot express, external data) located
 * in the ONNX file the way a recipe error is located in YAML.
 *
 * An .onnx file is binary, so "line and column" is the graph node: its index
 * in `graph.node`, its name, op type and the opset the file declares. The
 * message says what was expected and `hints` say what to do; callers (the
 * model stage, `inspect`) turn it into a Diagnostic or a StageConfigError and
 * never print a stack trace for it.
 */

/** Where in an ONNX file a problem is. */
export interface OnnxLocation {
  /** The .onnx file as the user named it (or `<bytes>`). */
  file: string;
  /** Index of the node in graph.node, when the problem is a node. */
  nodeIndex?: number;
  nodeName?: string;
  opType?: string;
  /** The default-domain opset the file imports. */
  opset?: number;
  /** Byte offset, for a file that does not decode. */
  byteOffset?: number;
}

export class OnnxError extends Error {
  override readonly name = 'OnnxError';

  constructor(
    /** What went wrong and what was expected, without the location. */
    readonly reason: string,
    readonly location: OnnxLocation,
    readonly hints: string[] = [],
    options?: ErrorOptions,
  ) {
    super(`${formatOnnxLocation(location)}: ${reason}`, options);
  }
}

/** `model.onnx: node 3 "Conv_3" (Conv, opset 13)`, or `model.onnx: byte 812`. */
export function formatOnnxLocation(loc: OnnxLocation): string {
  let s = loc.file;
  if (loc.nodeIndex !== undefined) {
    s += `: node ${loc.nodeIndex}`;
    if (loc.nodeName) s += ` ${JSON.stringify(loc.nodeName)}`;
    const what = [loc.opType, loc.opset !== undefined ? `opset ${loc.opset}` : undefined].filter(Boolean).join(', ');
    if (what) s += ` (${what})`;
  } else if (loc.byteOffset !== undefined) {
    s += `: byte ${loc.byteOffset}`;
  }
  return s;
}
