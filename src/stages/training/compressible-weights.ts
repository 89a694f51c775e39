/**
 * Which weight tensors the compression stages (prune, share, quantize's
 * per-layer view, sensitivity, auto) may act on, by the weight's role: the
 * last segment of its tfjs name (`originalName`, which is also the manifest
 * name). One list, so a layer kind added here is seen by every stage at once;
 * before it, an Embedding + LSTM model was silently left dense by prune and
 * share because their tables are named `embeddings` and `recurrent_kernel`.
 *
 * Names tfjs 4.22 gives (printed from real layers, see docs/stages.md):
 *
 *   Dense, Conv1D, Conv2D          `<layer>/kernel`
 *   DepthwiseConv2D                `<layer>/depthwise_kernel`
 *   SeparableConv2D                `<layer>/depthwise_kernel`, `<layer>/pointwise_kernel`
 *   Embedding                      `<layer>/embeddings`            [vocab, dim]
 *   SimpleRNN, LSTM, GRU           `<layer>/kernel`, `<layer>/recurrent_kernel`
 *   Bidirectional(LSTM)            `<layer>/forward_<inner>/kernel`, `.../recurrent_kernel`,
 *                                  `<layer>/backward_<inner>/...` (both owned by `<layer>`)
 *   TimeDistributed(Dense)         `<layer>/kernel` (the wrapper's name, not the inner one's)
 *
 * Biases and normalisation parameters (`bias`, `gamma`, `beta`, moving
 * statistics) are never compressible: they are a tiny share of the bytes and
 * the outputs are very sensitive to them.
 */

/** Weight roles the compression stages act on. */
export const COMPRESSIBLE_ROLES: readonly string[] = ['kernel', 'recurrent_kernel', 'embeddings', 'depthwise_kernel', 'pointwise_kernel'];

/** The last segment of a weight name: `lstm/recurrent_kernel` -> `recurrent_kernel`. */
export function weightRole(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}

/** True for the weight tensors that prune, share and per-row quantization act on. */
export function isCompressibleWeight(name: string): boolean {
  return COMPRESSIBLE_ROLES.includes(weightRole(name));
}

/** True for an Embedding table (rows are tokens: quantized per row by default). */
export function isEmbeddingTable(name: string): boolean {
  return weightRole(name) === 'embeddings';
}
