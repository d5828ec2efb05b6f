/**
 * `npm run sim -- --seeds N [--from S] [--steps K] [--seed S] [--tolerate a,b] [--no-shrink]`: runs
 * the simulation over many seeds, prints each failing seed with its minimal replay, and exits 1 if
 * any seed failed. `--tolerate` (record runs only) notes the named invariants instead of failing.
 */
import { replayOf, runSeed } from './replay';
import type { InvariantName } from './sim';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const single = flag('seed');
  const seeds = Number(flag('seeds') ?? 200);
  const from = Number(flag('from') ?? 1);
  const steps = Number(flag('steps') ?? 2_000);
  const tolerate = new Set((flag('tolerate') ?? process.env.HUSH_SIM_TOLERATE ?? '').split(',').filter(Boolean) as InvariantName[]);
  const list = single !== undefined ? [Number(single)] : Array.from({ length: seeds }, (_, i) => from + i);
  const started = performance.now();
  let failed = 0;
  let wire = 0;
  const firsts = new Map<string, number>();
  for (const seed of list) {
    const outcome = await runSeed(seed, steps, { tolerate });
    wire += outcome.wireCalls;
    for (const t of outcome.tolerated) if (!firsts.has(t.invariant)) {
      firsts.set(t.invariant, seed);
      process.stdout.write(`tolerated ${t.invariant} first at seed ${seed}: ${t.detail}\n`);
    }
    if (!outcome.violation) continue;
    failed++;
    if (args.includes('--no-shrink')) process.stdout.write(`seed ${seed}: ${outcome.violation.invariant}: ${outcome.violation.detail}\n`);
    else process.stdout.write(`${await replayOf(seed, steps, outcome.violation, { tolerate })}\n\n`);
    if (args.includes('--first')) break;
  }
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${list.length} seeds × ${steps} steps: ${failed} failed, ${wire} simulated calls, ${seconds.toFixed(1)} s\n`);
  process.exitCode = failed > 0 ? 1 : 0;
}

void main();
