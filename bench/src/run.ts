/**
 * `npm run bench` (full) and `node bench/dist/run.js --quick` (every scenario at tiny sizes, for
 * `npm test`). Prints one markdown table and writes bench/results/<timestamp>.json, latest.json
 * and latest.md. Exits non-zero only when a scenario crashes or a deterministic check fails
 * (exact call counts, values read); missed performance targets are reported, not fatal.
 *
 * Options: --quick, --only=1,4 (scenario numbers), --no-write (full run: do not touch bench/results),
 * --write (quick run: write latest-quick.* and a timestamped file; by default a quick run writes nothing),
 * --load-seconds=N and --load-rounds=N (scenario 3: length of each autocannon run and number of
 * rounds; default 3 s × 5, quick 0.3 s × 1 — longer runs narrow the noise on a shared machine),
 * --fleet-sizes=40,200 (scenario 4: fleet sizes; the first also runs as separate processes).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { toMarkdown, type Row } from './report';
import { bootScenario } from './scenarios/boot';
import { dbRotationScenario } from './scenarios/db-rotation';
import { fleetScenario, QUOTA_SCALE } from './scenarios/fleet';
import { fleetCostScenario } from './scenarios/fleet-cost';
import { fleetSsmScenario } from './scenarios/fleet-ssm';
import { fastifyScenario } from './scenarios/fastify';
import { hotReadScenario } from './scenarios/hot-read';
import { lambdaScenario } from './scenarios/lambda';
import { memoryScenario } from './scenarios/memory';
import { middlewareScenario } from './scenarios/middleware';
import { rotationScenario } from './scenarios/rotation';
import { scrubScenario } from './scenarios/scrub';
import { steadyStateScenario } from './scenarios/steady-state';
import { valueIndexScenario } from './scenarios/value-index';
import { vaultLeasesScenario } from './scenarios/vault-leases';
import type { BenchContext } from './util';

// The SDK warns once per process that future versions need Node 22; it is noise here (and in every forked pod).
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

const SCENARIOS: [number, string, (ctx: BenchContext) => Promise<Row[]>][] = [
  [1, 'boot cost', bootScenario],
  [2, 'hot read', hotReadScenario],
  [3, 'middleware overhead', middlewareScenario],
  [4, 'fleet boot under quotas', fleetScenario],
  [5, 'steady-state cost', steadyStateScenario],
  [6, 'memory', memoryScenario],
  [7, 'rotation latency', rotationScenario],
  [8, 'redaction worst case', scrubScenario],
  [9, 'fleet cost', fleetCostScenario],
  [10, 'database credential rotation', dbRotationScenario],
  [11, 'store-wide redaction check', valueIndexScenario],
  [12, '@hush/fastify overhead', fastifyScenario],
  [13, 'Lambda day', lambdaScenario],
  [14, 'Vault leased database credentials', vaultLeasesScenario],
  [15, 'fleet boot from Parameter Store', fleetSsmScenario],
];

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  // A quick run (npm test) writes nothing unless asked, so tests never dirty bench/results/.
  const write = quick ? args.includes('--write') : !args.includes('--no-write');
  const only = args
    .find((a) => a.startsWith('--only='))
    ?.slice('--only='.length)
    .split(',')
    .map(Number);
  const numberFlag = (name: string): number | undefined => {
    const raw = args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!(value > 0)) throw new Error(`--${name} must be a positive number, got ${JSON.stringify(raw)}`);
    return value;
  };
  const ctx: BenchContext = {
    quick,
    loadSeconds: numberFlag('load-seconds'),
    loadRounds: numberFlag('load-rounds'),
    fleetSizes: args
      .find((a) => a.startsWith('--fleet-sizes='))
      ?.slice('--fleet-sizes='.length)
      .split(',')
      .map(Number),
    sink: 0,
    log: (m) => process.stderr.write(`  ${m}\n`),
  };
  const started = Date.now();
  const rows: Row[] = [];
  const timings: Record<string, number> = {};
  for (const [n, name, run] of SCENARIOS) {
    if (only && !only.includes(n)) continue;
    process.stderr.write(`[bench] ${n}. ${name}${quick ? ' (quick)' : ''}\n`);
    const t0 = Date.now();
    rows.push(...(await run(ctx)));
    timings[name] = Date.now() - t0;
  }
  const machine = {
    node: process.version,
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    platform: `${process.platform} ${process.arch}`,
  };
  const date = new Date().toISOString();
  // Quick mode runs every scenario at tiny sizes as a smoke test: its ratios say nothing about the
  // targets, so the table shows no YES/NO verdicts (the correctness assertions still fail the run).
  const table = toMarkdown(quick ? rows.map((r) => ({ ...r, met: 'not judged (quick)' })) : rows);
  const header =
    `Hush benchmarks — ${quick ? 'QUICK (tiny sizes; targets not judged)' : 'full run'}, ${date}, ` +
    `Node ${machine.node}, ${machine.cpus} × ${machine.cpu}. Fleet quotas scaled by ${QUOTA_SCALE} ` +
    `(BatchGetSecretValue ${100 * QUOTA_SCALE}/s, GetSecretValue ${10_000 * QUOTA_SCALE}/s).`;
  process.stdout.write(`\n${header}\n\n${table}\n`);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (quick) {
    process.stderr.write(
      `[bench] quick run done in ${seconds} s: correctness checks passed; quick-mode figures are not verdicts on the targets (npm run bench judges them).\n`,
    );
  } else {
    const missed = rows.filter((r) => r.met.startsWith('**NO**'));
    process.stderr.write(`[bench] done in ${seconds} s; ${missed.length} target(s) missed\n`);
  }
  if (write) {
    const dir = join(__dirname, '..', 'results');
    mkdirSync(dir, { recursive: true });
    const json = JSON.stringify(
      { date, quick, machine, timingsMs: timings, quotaScale: QUOTA_SCALE, rows, sink: ctx.sink },
      null,
      2,
    );
    const stamp = date.replace(/[:.]/g, '-');
    writeFileSync(join(dir, `${stamp}${quick ? '-quick' : ''}.json`), json);
    // latest.* always describes the last full run; a quick run writes latest-quick.*.
    const latest = quick ? 'latest-quick' : 'latest';
    writeFileSync(join(dir, `${latest}.json`), json);
    writeFileSync(join(dir, `${latest}.md`), `${header}\n\n${table}\n`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `[bench] FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
