/**
 * Seeds to runs, a failing run to a minimal replay (delta debugging over the op list), and the
 * report lines both the Jest spec and `npm run sim` print.
 */
import { generate, run, type InvariantName, type Op, type RunOptions, type SimConfig, type Violation } from './sim';

/**
 * A small op list (within `budget` runs) that still violates `invariant`: cut after the violating
 * step, drop the observation ops, merge runs of `advance`, delta-debug (ddmin) the rest, then try
 * removing ops one by one.
 */
export async function shrink(
  config: SimConfig,
  ops: readonly Op[],
  seed: number,
  invariant: InvariantName,
  budget = 150,
  options: RunOptions = {},
): Promise<{ ops: Op[]; violation: Violation; runs: number }> {
  let runs = 0;
  const fails = async (candidate: Op[]): Promise<Violation | undefined> => {
    runs++;
    const { violation } = await run(config, candidate, seed, options);
    return violation?.invariant === invariant ? violation : undefined;
  };
  const first = await fails([...ops]);
  if (!first) throw new Error(`seed ${seed} did not reproduce ${invariant}`);
  // Ops after the violating step never matter.
  let best = { ops: ops.slice(0, first.step + 1), violation: first };
  const attempt = async (candidate: Op[]): Promise<boolean> => {
    if (runs >= budget || candidate.length === 0 || candidate.length >= best.ops.length + 1) return false;
    const v = await fails(candidate);
    if (!v) return false;
    best = { ops: candidate.slice(0, Math.min(candidate.length, v.step + 1)), violation: v };
    return true;
  };
  await attempt(best.ops.filter((op) => op.t !== 'read' && op.t !== 'inspect'));
  const merged: Op[] = [];
  for (const op of best.ops) {
    const last = merged[merged.length - 1];
    if (op.t === 'advance' && last?.t === 'advance') merged[merged.length - 1] = { t: 'advance', ms: last.ms + op.ms };
    else merged.push(op);
  }
  if (merged.length < best.ops.length) await attempt(merged);
  let n = 2;
  while (best.ops.length >= 2 && runs < budget) {
    const size = Math.ceil(best.ops.length / n);
    let reduced = false;
    for (let i = 0; i < n && runs < budget; i++) {
      if (await attempt([...best.ops.slice(0, i * size), ...best.ops.slice((i + 1) * size)])) {
        n = Math.max(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (n >= best.ops.length) break;
      n = Math.min(best.ops.length, n * 2);
    }
  }
  for (let i = best.ops.length - 1; i >= 0 && runs < budget; i--) {
    if (i < best.ops.length) await attempt([...best.ops.slice(0, i), ...best.ops.slice(i + 1)]);
  }
  return { ops: best.ops, violation: best.violation, runs };
}

export interface SeedOutcome {
  readonly seed: number;
  readonly violation: Violation | undefined;
  readonly tolerated: readonly Violation[];
  readonly wireCalls: number;
  readonly virtualSeconds: number;
}

export async function runSeed(seed: number, steps: number, options: RunOptions = {}): Promise<SeedOutcome> {
  const { config, ops } = generate(seed, steps);
  return { seed, ...(await run(config, ops, seed, options)) };
}

/** The replay of a failing seed: everything needed to run it again, and the minimal op list. */
export async function replayOf(
  seed: number,
  steps: number,
  violation: Violation,
  options: RunOptions = {},
  budget?: number,
): Promise<string> {
  const { config, ops } = generate(seed, steps);
  const small = await shrink(config, ops, seed, violation.invariant, budget, options);
  const line = (op: Op) => JSON.stringify(op);
  return [
    `seed ${seed}: ${violation.invariant} at step ${violation.step} (${violation.at} s virtual): ${violation.detail}`,
    `minimal replay (${small.ops.length} of ${violation.step + 1} ops, ${small.runs} shrink runs): ${small.violation.invariant} at ${small.violation.at} s: ${small.violation.detail}`,
    `config: ${JSON.stringify(config)}`,
    ...small.ops.map((op, i) => `  ${i}: ${line(op)}`),
    `ops: ${JSON.stringify(small.ops)}`,
    `replay: ${JSON.stringify({ seed, config, ops: small.ops })}`,
    `run it: npm run sim -- --seed ${seed} --ops '<the ops line>' (or save the replay line to a file: --replay <file>; the whole seed: --seed ${seed} --steps ${steps})`,
  ].join('\n');
}
