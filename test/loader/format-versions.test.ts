/**
 * Format v2 DEFLATE-compresses the topology JSON; files written as v1 (plain
 * UTF-8 topology) must keep loading, to the same artifacts.
 */
import { ByteReader } from '../../src/loader/bytes.js';
import { inflateRaw } from '../../src/loader/inflate.js';
import { PackedFormatError, readPacked, unpack } from '../../src/loader/index.js';
import { ByteWriter } from '../../src/formats/huffman.js';
import { packArtifacts } from '../../src/formats/packed.js';
import { buildModel } from '../../src/engine/builders.js';
import { loadTf } from '../../src/engine/tf.js';

async function artifactsOfSmallModel() {
  const tf = await loadTf('cpu');
  const model = buildModel(tf, { arch: 'mlp', units: [8], inputShape: [12], classes: 3 }, 5);
  let saved: import('@tensorflow/tfjs').io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
  return saved!;
}

/** The same file rewritten as version 1: the topology's bytes stored as they are. */
function asVersion1(v2: Uint8Array): Uint8Array {
  const r = new ByteReader(v2);
  for (let i = 0; i < 4; i++) r.u8();
  const n = r.varint();
  const topo = inflateRaw(r.take(r.varint()), n);
  const rest = v2.subarray(r.pos);
  const w = new ByteWriter();
  for (const b of [0x4d, 0x50, 0x4b, 1]) w.u8(b);
  w.varint(n);
  w.bytes(topo);
  w.bytes(rest);
  return w.finish();
}

describe('packed format versions', () => {
  test('v2 (deflated topology) is smaller than v1 and both load to the same artifacts', async () => {
    const { bytes, breakdown } = packArtifacts(await artifactsOfSmallModel());
    expect(bytes[3]).toBe(2);
    const v1 = asVersion1(bytes);
    expect(v1[3]).toBe(1);
    expect(v1.byteLength).toBeGreaterThan(bytes.byteLength);
    const plainJson = JSON.stringify(readPacked(v1).meta).length;
    expect(breakdown.topologyBytes).toBeLessThan(0.5 * plainJson);
    const a = unpack(bytes);
    const b = unpack(v1);
    expect(b.modelTopology).toEqual(a.modelTopology);
    expect(b.weightSpecs).toEqual(a.weightSpecs);
    expect(new Uint8Array(b.weightData as ArrayBuffer)).toEqual(new Uint8Array(a.weightData as ArrayBuffer));
  });

  test('an unknown version says which versions this loader reads', async () => {
    const { bytes } = packArtifacts(await artifactsOfSmallModel());
    const v9 = Uint8Array.from(bytes);
    v9[3] = 9;
    expect(() => unpack(v9)).toThrow(PackedFormatError);
    expect(() => unpack(v9)).toThrow('unsupported packed format version 9 (this loader reads 1, 2 and 3; newer files need a newer modelpress/loader)');
  });
});
