/**
 * Built-in stage `select`: keeps one model out of the candidates of a
 * fanned-out stage, using what an `evaluate` node measured about them.
 *
 * A fan-in stage whose `needs` are the candidates' stage (so their models are
 * among its inputs) and the evaluate node (whose metrics hold per-candidate
 * sizes, accuracy, latency and the device budgets):
 *
 *     - id: pick
 *       uses: select
 *       needs: [prune, eval]        # eval itself needs prune
 *       with: { objective: size_packed, devices: [phone] }
 *
 * Among the candidates passing every budget of the named devices, it keeps
 * the best by `objective` (ties: higher accuracy, smaller raw size, node id).
 * When none passes, the run does not fail: the closest candidate (as
 * evaluate defines it) is output and `metrics.budgets.met` is false, so the
 * CLI exits 3. The decision itself is in select-choose.ts.
 */
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Json, StageInputs, UpstreamOutputs } from '../../plugin.js';
import { defineStage, StageConfigError } from '../../stage-definition.js';
import type { UpstreamProblem, UpstreamStage } from '../../stage-definition.js';
import { decodeEvaluation, encodeBudgetSummary, encodeDeviceVerdict, judgedCandidates, looksLikeEvaluation } from '../../contracts/evaluation.js';
import { OBJECTIVES, selectCandidate, sizeKindOf } from './select-choose.js';
import type { Objective, RankedCandidate, Selection } from './select-choose.js';
import type { ParetoPoint } from '../../contracts/pareto.js';

export interface SelectConfig {
  objective: Objective;
  devices?: string[];
  evaluate?: string;
}

export const selectSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    objective: {
      enum: [...OBJECTIVES],
      default: 'size_packed',
      description:
        'What to optimise among the candidates that meet the budgets: smallest size (raw, gzip, brotli or packed), lowest latency (p50 or p95, the worst over the named devices), highest accuracy, or highest top-1 agreement with evaluate\'s reference (`agreement`: for data without labels).',
    },
    devices: {
      type: 'array',
      items: { type: 'string' },
      uniqueItems: true,
      description: 'Devices whose budgets a candidate must meet (names the evaluate node judged). Default: all that it judged.',
    },
    evaluate: {
      type: 'string',
      minLength: 1,
      description: 'The stage id of the evaluate node in `needs:`. Default: the upstream node whose metrics have `candidates`.',
    },
  },
} as const;

export const selectStage = defineStage<SelectConfig>({
  name: 'select',
  // 2: reads evaluate's metrics through the evaluation contract; `unstable` latency verdicts do not pass.
  // 3: candidates without labels (ranked by agreement), objective `agreement`.
  version: '3',
  description: 'Keeps the best candidate model by an objective among those meeting the device budgets an evaluate node judged; writes the Pareto fronts.',
  schema: selectSchema,
  outputs: ['model'],
  fanIn: true,
  recipeInputs: ['devices'],
  checkUpstream: checkSelectUpstream,
  async run(ctx, config, inputs) {
    const evaluation = findEvaluate(inputs, config.evaluate);
    const decoded = decodeEvaluation(evaluation.metrics, `metrics of ${evaluation.node}`);
    if (!decoded.ok) {
      throw new StageConfigError(`${evaluation.node} did not write an evaluation select can read: ${decoded.error}`, config.evaluate !== undefined ? ['evaluate'] : [], [
        'select reads the metrics of the built-in `evaluate` stage; re-run it with this version of modelpress',
      ]);
    }
    const evaluatedDevices = decoded.value.devices;
    const evaluatedNames = Object.keys(evaluatedDevices);
    const names = config.devices ?? evaluatedNames;
    names.forEach((n, i) => {
      if (!evaluatedNames.includes(n)) {
        const declared = Object.prototype.hasOwnProperty.call(ctx.recipe.devices, n);
        throw new StageConfigError(
          `device \`${n}\` was not judged by ${evaluation.node}; it judged: ${evaluatedNames.join(', ') || '(none)'}`,
          ['devices', i],
          declared ? [`add \`${n}\` to the \`devices:\` of ${evaluation.stage}`] : [`\`${n}\` is not declared under \`devices:\` either`],
        );
      }
    });
    const devices = names.map((n) => ({ name: n, budget: evaluatedDevices[n]!.budget }));

    // Candidates: what evaluate judged, restricted to the models this stage receives.
    const models = new Map<string, UpstreamOutputs>();
    for (const up of inputs.upstream) if (up.outputs.model) models.set(up.node, up);
    const judged = judgedCandidates(decoded.value);
    const missing = judged.filter((c) => !models.has(c.node)).map((c) => c.node);
    const candidates = judged.filter((c) => models.has(c.node));
    if (candidates.length === 0) {
      const stages = [...new Set(judged.map((c) => c.node.replace(/\[.*$/, '')))];
      throw new StageConfigError(
        `none of the candidates ${evaluation.node} judged (${judged.map((c) => c.node).join(', ') || 'none'}) is an upstream model of this stage`,
        [],
        [`put the candidates' stage in this stage's \`needs:\`, e.g. needs: [${[...stages, evaluation.stage].join(', ')}]`],
      );
    }
    if (missing.length > 0) ctx.logger.warn(`select: ${missing.join(', ')} judged by ${evaluation.node} but not upstream of this stage; not considered`);
    if ((config.objective === 'latency_p50' || config.objective === 'latency_p95') && candidates.every((c) => names.every((d) => !c.latency[d]?.measured))) {
      throw new StageConfigError(
        `objective \`${config.objective}\`: ${evaluation.node} measured no latency on ${names.join(', ') || '(no devices)'}`,
        ['objective'],
        ['measure latency in evaluate (`latency.measure: always`) on a device with a measurable runtime (wasm, cpu), or choose a size or accuracy objective'],
      );
    }

    if (config.objective === 'accuracy' && candidates.every((c) => c.accuracy === undefined)) {
      throw new StageConfigError(`objective \`accuracy\`: ${evaluation.node} has no accuracy (its data \`${decoded.value.data}\` has no labels)`, ['objective'], [
        'use `objective: agreement` (top-1 agreement with the reference), or a size or latency objective',
      ]);
    }
    const selection = selectCandidate(candidates, devices, config.objective);
    const chosen = selection.chosen;
    const source = models.get(chosen.node)!;
    const dir = await ctx.outputDir('model');
    await cp(source.outputs.model!.dir, dir, { recursive: true });

    const budgets = budgetsOf(selection, config.objective, names);
    const metrics: Record<string, Json> = {
      chosen: chosen.node,
      evaluate: evaluation.node,
      objective: config.objective,
      objectiveValue: chosen.objectiveValue,
      ...(sizeKindOf(config.objective) ? { objectiveUnit: 'bytes' } : config.objective === 'accuracy' || config.objective === 'agreement' ? { objectiveUnit: '%' } : { objectiveUnit: 'ms' }),
      devices: names,
      ...(chosen.accuracy !== undefined ? { accuracy: chosen.accuracy } : {}),
      ...(chosen.accuracyDropPp !== undefined ? { accuracyDropPp: chosen.accuracyDropPp } : {}),
      ...(chosen.agreement ? { agreement: chosen.agreement.top1 } : {}),
      sizeBytes: chosen.sizeBytes,
      verdicts: Object.fromEntries(Object.entries(chosen.devices).map(([d, v]) => [d, encodeDeviceVerdict(v)])),
      candidates: Object.fromEntries(selection.ranking.map((c, rank) => [c.node, candidateJson(c, rank)])) as Record<string, Json>,
      pareto: paretoJson(selection),
      budgets,
    };
    if (missing.length > 0) metrics.notConsidered = missing;
    await writeFile(
      join(dir, 'selection.json'),
      `${JSON.stringify({ stage: 'select', node: ctx.node, source: { node: source.node, stage: source.stage, matrix: source.matrix, digest: source.outputs.model!.digest }, ...metrics }, null, 2)}\n`,
    );
    if (budgets.met === false) ctx.logger.warn(String(budgets.message));
    else ctx.logger.info(String(budgets.message));
    return { outputs: { model: dir }, metrics };
  },
});

/** Built-in stages whose nodes never carry an evaluation: a select fed only by them has nothing to choose from. */
const NO_EVALUATION = new Set(['model', 'train', 'distill', 'prune', 'share', 'quantize', 'export', 'select', 'sensitivity']);

/**
 * What `validate` can tell from `needs:` alone, so a select that cannot work
 * fails before the stages upstream of it have trained. The run-time checks
 * in findEvaluate stay: a plugin stage may or may not produce an evaluation.
 */
export function checkSelectUpstream(config: SelectConfig, upstream: readonly UpstreamStage[]): UpstreamProblem[] {
  const listed = upstream.map((u) => `${u.id} (${u.uses})`).join(', ') || 'none';
  if (config.evaluate !== undefined) {
    const named = upstream.find((u) => u.id === config.evaluate);
    if (!named) {
      return [{ message: `\`evaluate: ${config.evaluate}\` is not in this stage's \`needs:\` (${listed})`, path: ['with', 'evaluate'], hints: [`add \`${config.evaluate}\` to this stage's \`needs:\``] }];
    }
    if (NO_EVALUATION.has(named.uses)) {
      return [{ message: `\`evaluate: ${named.id}\` names a ${named.uses} stage, which judges no candidates`, path: ['with', 'evaluate'], hints: ['name the evaluate stage of this stage\'s `needs:`'] }];
    }
  } else if (upstream.every((u) => NO_EVALUATION.has(u.uses))) {
    return [{ message: `select needs an evaluate stage in its \`needs:\`; it has ${listed}`, path: ['needs'], hints: ['e.g. needs: [prune, eval] where eval uses: evaluate and needs prune'] }];
  }
  const evaluations = config.evaluate !== undefined ? [config.evaluate] : upstream.filter((u) => u.uses === 'evaluate').map((u) => u.id);
  if (evaluations.length > 0 && upstream.every((u) => evaluations.includes(u.id))) {
    return [{
      message: `select has no candidate models upstream: its \`needs:\` holds only ${evaluations.join(', ')}`,
      path: ['needs'],
      hints: [`put the candidates' stage in \`needs:\` too, e.g. needs: [prune, ${evaluations[0]}]`],
    }];
  }
  return [];
}

function findEvaluate(inputs: StageInputs, name: string | undefined): UpstreamOutputs {
  const hasCandidates = (u: UpstreamOutputs) => looksLikeEvaluation(u.metrics);
  if (name !== undefined) {
    const nodes = inputs.upstream.filter((u) => u.stage === name || u.node === name);
    const stages = [...new Set(inputs.upstream.map((u) => u.stage))];
    if (nodes.length === 0) {
      throw new StageConfigError(`evaluate \`${name}\` is not upstream of this stage; upstream stages: ${stages.join(', ') || '(none)'}`, ['evaluate'], [
        `add \`${name}\` to this stage's \`needs:\``,
      ]);
    }
    if (nodes.length > 1) throw new StageConfigError(`evaluate \`${name}\` has ${nodes.length} nodes: name one`, ['evaluate'], nodes.map((u) => u.node));
    if (!hasCandidates(nodes[0]!)) {
      throw new StageConfigError(`\`${name}\` has no \`candidates\` in its metrics: is it an evaluate stage?`, ['evaluate'], []);
    }
    return nodes[0]!;
  }
  const found = inputs.upstream.filter(hasCandidates);
  if (found.length === 1) return found[0]!;
  if (found.length === 0) {
    throw new StageConfigError('select needs an evaluate node in its `needs:` (no upstream node has `candidates` in its metrics)', [], [
      'e.g. needs: [prune, eval] where eval uses: evaluate and needs prune',
    ]);
  }
  throw new StageConfigError(`several upstream nodes have candidates (${found.map((u) => u.node).join(', ')}): name one with \`evaluate:\``, [], found.map((u) => u.stage));
}

function budgetsOf(s: Selection, objective: Objective, devices: string[]): Record<string, Json> {
  const b = s.budgets;
  const scope = devices.length ? `devices ${devices.join(', ')}` : 'no devices';
  const base: Record<string, Json> = {
    met: b.met,
    chosen: s.chosen.node,
    passing: b.passing,
    closest: (encodeBudgetSummary(b) as Record<string, Json>)['closest']!,
    unmeasured: b.unmeasured,
  };
  if (b.met) {
    return {
      ...base,
      best: s.chosen.node,
      message: `selected ${s.chosen.node} by ${objective}: ${b.passing.length} of ${s.ranking.length} candidate(s) meet every budget of ${scope}`,
    };
  }
  return { ...base, best: null, message: `select (${scope}): ${b.message}; selected the closest, ${s.chosen.node}` };
}

function paretoJson(s: Selection): Json {
  const points = (front: readonly ParetoPoint[]): Json => front.map((p) => ({ node: p.node, accuracy: p.accuracy, value: p.value }));
  const { size, latency } = s.pareto;
  return {
    size: { sizeKind: size.sizeKind, front: points(size.front) },
    latency: latency === null ? null : { percentile: latency.percentile, devices: Object.fromEntries(Object.entries(latency.devices).map(([d, f]) => [d, points(f)])) },
  };
}

function candidateJson(c: RankedCandidate, rank: number): Json {
  return {
    rank,
    passes: c.passes,
    objectiveValue: c.objectiveValue,
    ...(c.accuracy !== undefined ? { accuracy: c.accuracy } : {}),
    ...(c.agreement ? { agreement: c.agreement.top1 } : {}),
    sizeBytes: c.sizeBytes,
    missed: Object.entries(c.devices).flatMap(([d, v]) => v.missed.map((k) => `${d} ${k}`)),
  };
}
