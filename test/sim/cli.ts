/**
 * `npm run sim -- --seeds N [--from S] [--steps K] [--workers W] [--seed S [--ops JSON]] [--replay FILE] [--tolerate a,b] [--no-shrink] [--budget RUNS] [--first]`: runs
 * the simulation over many seeds, prints each failing seed with its minimal replay, and exits 1 if
 * any seed failed. `--tolerate` (record runs only) notes the named invariants instead of failing.
 * `--workers W` (default: 2, at most the machine's parallelism) runs the seeds in W child
 * processes, seed `from + i` in child `i mod W`; each seed is the same run wherever it runs.
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
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
  const stride = Number(flag('stride') ?? 1);
  const workers = Math.max(1, Math.min(Number(flag('workers') ?? 2), availableParallelism(), seeds));
  if (single === undefined && workers > 1 && flag('stride') === undefined)
    return pool(args, from, seeds, steps, workers);
  const list =
    single !== undefined
      ? [Number(single)]
      : Array.from({ length: Math.ceil(seeds / stride) }, (_, i) => from + i * stride).filter((s) => s < from + seeds);
  const started = performance.now();
  const cpu0 = process.cpuUsage();
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
  const cpu = process.cpuUsage(cpu0);
  if (process.send) process.send({ seeds: list.length, failed, wire, cpu: (cpu.user + cpu.system) / 1e6 });
  process.stdout.write(
    `${list.length} seeds × ${steps} steps: ${failed} failed, ${wire} simulated calls, ${seconds.toFixed(1)} s (CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s)\n`,
  );
  process.exitCode = failed > 0 ? 1 : 0;
}

/** The seeds in `workers` child processes (this file with `--stride`), their output passed through. */
async function pool(args: string[], from: number, seeds: number, steps: number, workers: number): Promise<void> {
  const started = performance.now();
  const rest = args.filter(
    (a, i) =>
      !['--workers', '--from', '--seeds'].includes(a) && !['--workers', '--from', '--seeds'].includes(args[i - 1]!),
  );
  const results = await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const child = fork(
        process.argv[1]!,
        [...rest, '--from', String(from + w), '--seeds', String(seeds - w), '--stride', String(workers)],
        { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
      );
      let summary: { seeds: number; failed: number; wire: number; cpu: number } | undefined;
      child.on('message', (m) => (summary = m as typeof summary));
      return new Promise<{ code: number | null; summary: typeof summary }>((resolve) =>
        child.on('exit', (code) => resolve({ code, summary })),
      );
    }),
  );
  const total = { seeds: 0, failed: 0, wire: 0, cpu: 0 };
  for (const r of results) {
    if (!r.summary) {
      process.stdout.write(`a worker exited with code ${r.code} and no summary\n`);
      process.exitCode = 1;
      continue;
    }
    for (const k of ['seeds', 'failed', 'wire', 'cpu'] as const) total[k] += r.summary[k];
  }
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `${total.seeds} seeds × ${steps} steps in ${workers} workers: ${total.failed} failed, ${total.wire} simulated calls, ${seconds.toFixed(1)} s (CPU ${total.cpu.toFixed(1)} s)\n`,
  );
  if (total.failed > 0 || total.seeds !== seeds) process.exitCode = 1;
}

void main();
