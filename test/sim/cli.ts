/**
 * `npm run sim -- --seeds N [--from S] [--steps K] [--seed S [--ops JSON]] [--replay FILE] [--tolerate a,b] [--no-shrink] [--budget RUNS] [--first]`: runs
 * the simulation over many seeds, prints each failing seed with its minimal replay, and exits 1 if
 * any seed failed. `--tolerate` (record runs only) notes the named invariants instead of failing.
 */
import { readFileSync } from 'node:fs';
import { replayOf, runSeed } from './replay';
import { generate, run, type InvariantName, type Op, type SimConfig } from './sim';

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
  const tolerate = new Set(
    (flag('tolerate') ?? process.env.HUSH_SIM_TOLERATE ?? '').split(',').filter(Boolean) as InvariantName[],
  );
  // --seed N --ops '[…]': the seed's config (generated) with an op list, as README.md records them.
  const opsArg = flag('ops');
  if (opsArg !== undefined && single !== undefined) {
    const ops = JSON.parse(opsArg) as Op[];
    const { config } = generate(Number(single), 0);
    const outcome = await run(config, ops, Number(single), { tolerate });
    process.stdout.write(
      outcome.violation
        ? `seed ${single} with ${ops.length} ops: ${outcome.violation.invariant} at step ${outcome.violation.step} (${outcome.violation.at} s): ${outcome.violation.detail}\n`
        : `seed ${single} with ${ops.length} ops: no violation\n`,
    );
    process.exitCode = outcome.violation ? 1 : 0;
    return;
  }
  const replay = flag('replay');
  if (replay !== undefined) {
    const text = readFileSync(replay, 'utf8')
      .trim()
      .replace(/^replay: /, '');
    const { seed, config, ops } = JSON.parse(text) as { seed: number; config: SimConfig; ops: Op[] };
    const outcome = await run(config, ops, seed, { tolerate });
    process.stdout.write(
      outcome.violation
        ? `replay of seed ${seed} (${ops.length} ops): ${outcome.violation.invariant} at step ${outcome.violation.step} (${outcome.violation.at} s): ${outcome.violation.detail}\n`
        : `replay of seed ${seed} (${ops.length} ops): no violation\n`,
    );
    process.exitCode = outcome.violation ? 1 : 0;
    return;
  }
  const list = single !== undefined ? [Number(single)] : Array.from({ length: seeds }, (_, i) => from + i);
  const started = performance.now();
  let failed = 0;
  let wire = 0;
  const firsts = new Map<string, number>();
  for (const seed of list) {
    const outcome = await runSeed(seed, steps, { tolerate });
    wire += outcome.wireCalls;
    for (const t of outcome.tolerated)
      if (!firsts.has(t.invariant)) {
        firsts.set(t.invariant, seed);
        process.stdout.write(`tolerated ${t.invariant} first at seed ${seed}: ${t.detail}\n`);
      }
    if (!outcome.violation) continue;
    failed++;
    if (args.includes('--no-shrink'))
      process.stdout.write(`seed ${seed}: ${outcome.violation.invariant}: ${outcome.violation.detail}\n`);
    else {
      const budget = flag('budget') !== undefined ? Number(flag('budget')) : undefined;
      process.stdout.write(`${await replayOf(seed, steps, outcome.violation, { tolerate }, budget)}\n\n`);
    }
    if (args.includes('--first')) break;
  }
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `${list.length} seeds × ${steps} steps: ${failed} failed, ${wire} simulated calls, ${seconds.toFixed(1)} s\n`,
  );
  process.exitCode = failed > 0 ? 1 : 0;
}

void main();
