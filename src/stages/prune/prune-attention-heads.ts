/**
 * Structured pruning of attention heads: which heads a model has, how much
 * each one matters, and the graph edit that removes one whole.
 *
 * The transformer builder makes each head eight stock layers named
 * `block{b}_head{h}_{role}` (src/engine/attention.ts) and sums the heads'
 * output projections in the Add `block{b}_attention`. A head is therefore
 * removed by dropping its eight layers and its input to that Add; no other
 * layer changes shape, and every other weight is kept as it is. When one
 * head is left the Add goes too (a tfjs Add needs at least two inputs) and
 * the head's output feeds the Add's consumers directly. The result computes
 * exactly what the original computes with the removed heads' output
 * projections (kernel and bias) set to zero.
 *
 * Scores (the lowest go, per block, like units per layer):
 * - `l1` / `l2`: the norm of the head's value and output kernels together.
 *   Those are the two linear maps the head's output passes through, so they
 *   scale what it adds to the residual stream; the query and key kernels only
 *   decide where the head looks (its softmax rows sum to 1 whatever their
 *   scale), not how much it contributes.
 * - `activation`: mean |output projection| over the calibration samples,
 *   i.e. the head's measured contribution (as for units).
 *
 * This file works on the JSON graph (readGraph in prune-structured.ts) and
 * plain arrays; prune-structured.ts reads the weights, runs the calibration
 * and rebuilds the model.
 */
import { HEAD_ROLES, headLayerName, parseHeadLayerName } from '../../engine/attention.js';
import { StageConfigError } from '../../stage-definition.js';
import type { LayerGraph } from './prune-channels.js';
import { pruneCount } from './prune-magnitude.js';

/** One block's attention heads. */
export interface AttentionBlock {
  block: number;
  /** Head numbers (1-based, as in the layer names), ascending. */
  heads: number[];
  /** The Add summing the heads' outputs; undefined with one head. */
  add: string | undefined;
}

const HEAD_HINT = 'head pruning needs the transformer builder\'s attention (src/engine/attention.ts): eight layers block{b}_head{h}_{query,key,value,scale,scores,softmax,context,output} per head, summed by the Add block{b}_attention';

/** The `block{b}_attention` Add summing a block's heads (attention.ts names it). */
export function attentionAddName(block: number): string {
  return `block${block}_attention`;
}

/**
 * The model's attention blocks, found by layer name, each checked to be
 * removable head by head: all eight layers present and unshared, nothing
 * outside the head reading its inner layers, and with several heads every
 * output projection feeding only the block's Add. Empty when the model has
 * no head layers.
 */
export function findAttentionBlocks(graph: LayerGraph): AttentionBlock[] {
  const byBlock = new Map<number, Set<number>>();
  for (const name of graph.nodes.keys()) {
    const p = parseHeadLayerName(name);
    if (p) byBlock.set(p.block, (byBlock.get(p.block) ?? new Set()).add(p.head));
  }
  const refuse = (message: string) => new StageConfigError(message, ['heads'], [HEAD_HINT]);
  const blocks: AttentionBlock[] = [];
  for (const [block, set] of [...byBlock].sort((a, b) => a[0] - b[0])) {
    const heads = [...set].sort((a, b) => a - b);
    const add = heads.length > 1 ? attentionAddName(block) : undefined;
    if (add !== undefined) {
      const node = graph.nodes.get(add);
      if (!node || node.className !== 'Add') throw refuse(`block ${block} has ${heads.length} heads but no Add layer \`${add}\` summing them`);
      if (node.shared) throw refuse(`\`${add}\` is shared (called on several inputs); heads cannot be removed from it`);
    }
    for (const h of heads) {
      const own = new Set(HEAD_ROLES.map((r) => headLayerName(block, h, r)));
      for (const name of own) {
        const node = graph.nodes.get(name);
        if (!node) throw refuse(`head ${h} of block ${block} has no layer \`${name}\``);
        if (node.shared) throw refuse(`layer \`${name}\` is shared (called on several inputs); its head cannot be removed whole`);
        const outside = (graph.consumers.get(name) ?? []).filter((c) => !own.has(c));
        const output = name === headLayerName(block, h, 'output');
        if (graph.outputs.has(name) && (!output || add !== undefined)) throw refuse(`layer \`${name}\` is a model output; its head cannot be removed`);
        if (!output && outside.length > 0) throw refuse(`layer \`${name}\` feeds ${outside.map((c) => `\`${c}\``).join(', ')} outside its head; the head cannot be removed whole`);
        if (output && add !== undefined && outside.some((c) => c !== add)) throw refuse(`layer \`${name}\` feeds ${outside.filter((c) => c !== add).map((c) => `\`${c}\``).join(', ')}, not only \`${add}\`; its head cannot be removed whole`);
      }
    }
    blocks.push({ block, heads, add });
  }
  return blocks;
}

/** Per block: the heads to remove (the `round(fraction × heads)` lowest scores; ties: lower head first). */
export function planHeadRemoval(blocks: readonly AttentionBlock[], fraction: number, score: (block: number, head: number) => number): Map<number, number[]> {
  const plan = new Map<number, number[]>();
  for (const b of blocks) {
    const k = pruneCount(fraction, b.heads.length);
    if (k >= b.heads.length) {
      // Keeping one head would silently change the fraction asked for, and
      // removing all would cut the residual branch: refuse, say the limit.
      const most = b.heads.length - 1;
      // round(f × n) < n exactly when f < (n - 0.5) / n.
      const largest = (most + 0.5) / b.heads.length;
      throw new StageConfigError(
        `heads: ${fraction} would remove all ${b.heads.length} attention head${b.heads.length === 1 ? '' : 's'} of block ${b.block}; at least one head per block must stay`,
        ['heads'],
        [most === 0 ? `block ${b.block} has a single head, so no head can go: drop \`heads:\`` : `at most ${most} of ${b.heads.length} can go: use heads < ${round3(largest)}`],
      );
    }
    const order = [...b.heads].sort((x, y) => score(b.block, x) - score(b.block, y) || x - y);
    plan.set(b.block, order.slice(0, k).sort((x, y) => x - y));
  }
  return plan;
}

function round3(x: number): number {
  return Math.floor(x * 1000) / 1000;
}

/** L1 (sum |w|) or L2 (sqrt of sum w²) over several weight arrays together. */
export function headNorm(arrays: readonly ArrayLike<number>[], criterion: 'l1' | 'l2'): number {
  let s = 0;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) {
      const v = a[i]!;
      s += criterion === 'l1' ? Math.abs(v) : v * v;
    }
  }
  return criterion === 'l1' ? s : Math.sqrt(s);
}

/**
 * Removes the planned heads from `graph.topology` in place (layers and Add
 * inputs; the Add itself when one head is left) and returns the names of
 * the layers that are gone.
 */
export function removeHeads(graph: LayerGraph, blocks: readonly AttentionBlock[], plan: ReadonlyMap<number, readonly number[]>): Set<string> {
  const top = (graph.topology.model_config ?? graph.topology) as { config: { layers: RawLayer[]; output_layers?: unknown[] } };
  const gone = new Set<string>();
  for (const b of blocks) {
    const removed = plan.get(b.block) ?? [];
    if (removed.length === 0) continue;
    for (const h of removed) for (const r of HEAD_ROLES) gone.add(headLayerName(b.block, h, r));
    const add = top.config.layers.find((l) => nameOf(l) === b.add)!;
    // Keras 2 inbound_nodes: [[edge, edge, ...]], an edge is [layer, node, tensor, kwargs].
    const node = (add.inbound_nodes as Edge[][])[0]!.filter((e) => !gone.has(e[0]));
    if (node.length >= 2) {
      add.inbound_nodes = [node];
      continue;
    }
    // One head left: its output replaces the Add wherever the Add was read.
    gone.add(b.add!);
    const [survivor, nodeIndex, tensorIndex] = node[0]!;
    for (const l of top.config.layers) {
      for (const n of (l.inbound_nodes ?? []) as Edge[][]) {
        for (const e of n) {
          if (e[0] !== b.add) continue;
          e[0] = survivor;
          e[1] = nodeIndex;
          e[2] = tensorIndex;
        }
      }
    }
    for (const o of top.config.output_layers ?? []) {
      if (Array.isArray(o) && o[0] === b.add) o.splice(0, 3, survivor, nodeIndex, tensorIndex);
    }
  }
  top.config.layers = top.config.layers.filter((l) => !gone.has(nameOf(l)));
  return gone;
}

type Edge = [string, number, number, unknown?];
type RawLayer = { name?: string; class_name: string; config: Record<string, unknown>; inbound_nodes?: unknown };

function nameOf(l: RawLayer): string {
  return (l.name ?? l.config.name) as string;
}
