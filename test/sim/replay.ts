/**
 * Seeds to runs, a failing run to a minimal replay (delta debugging over the op list), and the
 * report lines both the Jest spec and `npm run sim` print.
 */
import { generate, run, type InvariantName, type Op, type RunOptions, type SimConfig, type Violation } from './sim';

/** Smallest op list (1-minimal, within `budget` runs) that still violates `invariant`. */
export async function shrink(
  config: SimConfig,
  ops: readonly Op[],
  seed: number,
  invariant: InvariantName,
  budget = 150,
  options: RunOptions = {},
): Promise<{ ops: Op[]; violation: Violation; runs: number }> {
  let runs = 0;
  let best = { ops: [...ops], violation: undefined as Violation | undefined };
  const fails = async (candidate: Op[]): Promise<Violation | undefined> => {
    runs++;
    const { violation } = await run(config, candidate, seed, options);
    return violation?.invariant === invariant ? violation : undefined;
  };
  best.violation = await fails(best.ops);
  if (!best.violation) throw new Error(`seed ${seed} did not reproduce ${invariant}`);
  // Ops after the violating step never matter.
  best.ops = best.ops.slice(0, best.violation.step + 1);
  let n = 2;
  while (best.ops.length >= 2 && runs < budget) {
    const size = Math.ceil(best.ops.length / n);
    let reduced = false;
    for (let i = 0; i < n && runs < budget; i++) {
      const complement = [...best.ops.slice(0, i * size), ...best.ops.slice((i + 1) * size)];
      if (complement.length === 0) continue;
      const v = await fails(complement);
      if (v) {
        best = { ops: complement.slice(0, v.step + 1), violation: v };
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
  return { ops: best.ops, violation: best.violation!, runs };
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
export async function replayOf(seed: number, steps: number, violation: Violation, options: RunOptions = {}, budget?: number): Promise<string> {
  const { config, ops } = generate(seed, steps);
  const small = await shrink(config, ops, seed, violation.invariant, budget, options);
  const line = (op: Op) => JSON.stringify(op);
  return [
    `seed ${seed}: ${violation.invariant} at step ${violation.step} (${violation.at} s virtual): ${violation.detail}`,
    `minimal replay (${small.ops.length} of ${violation.step + 1} ops, ${small.runs} shrink runs): ${small.violation.invariant} at ${small.violation.at} s: ${small.violation.detail}`,
    `config: ${JSON.stringify(config)}`,
    ...small.ops.map((op, i) => `  ${i}: ${line(op)}`),
    `run it: npm run sim -- --seed ${seed} --steps ${steps}`,
  ].join('\n');
}
