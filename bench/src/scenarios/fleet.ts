import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type Emulator } from '@hush/emulator';
import { met, type Row } from '../report';
import { check, fmt, percentile, secretIds, seedFor, sleep, type BenchContext } from '../util';
import { FLEET_BOOT_TIMEOUT_MS, bootPod, type PodKind, type PodResult, type PodTarget } from './fleet-pods';

/** AWS quotas (AWS-FACTS §A4): BatchGetSecretValue 100/s, GetSecretValue 10,000/s. */
const AWS_B = 100;
const AWS_G = 10_000;
/** Both quotas are scaled by this one factor so the emulator's buckets, not the CPU, limit the fleet. */
export const QUOTA_SCALE = 1 / 20;
const B = AWS_B * QUOTA_SCALE;
const G = AWS_G * QUOTA_SCALE;
/** Pods start at a uniformly random moment within this window. */
const START_WINDOW_MS = 1_000;

interface FleetRun {
  readonly kind: PodKind;
  readonly P: number;
  /** Pods in the bench process or forked; the emulator in the bench process or its own (CLI). */
  readonly mode: 'in-process' | 'processes' | 'processes+emulator-process';
  readonly results: PodResult[];
  readonly calls: number;
  readonly throttled: number;
  readonly wallMs: number;
}

/**
 * Scenario 4 — fleet boot under quotas: P pods, each an independent store with its own SDK client
 * and socket pool, all starting within one second, against the emulator throttling BatchGet at
 * B/s and GetSecretValue at G = 100·B/s (AWS's ratio).
 */
export async function fleetScenario(ctx: BenchContext): Promise<Row[]> {
  const S = ctx.quick ? 10 : 50;
  const sizes = ctx.fleetSizes ?? (ctx.quick ? [4] : [40, 200, 1000]);
  const ids = secretIds('fleet', S);
  const emu = await startEmulator({ seed: seedFor(ids, 64) });
  const target: PodTarget = emu.clientConfig();
  const runs: FleetRun[] = [];
  const rows: Row[] = [];
  try {
    for (const P of sizes) {
      const kinds: PodKind[] = ['hush', 'powertools', 'naive'];
      // Batch-only needs P·S/(20·B) seconds at best (100 s at P=200): run it where it fits the budget.
      if (P <= 40) kinds.splice(1, 0, 'hush-batch-only', 'hush-adaptive-retry');
      for (const kind of kinds) {
        const run = await fleetRun(inProcessControl(emu), kind, P, ids, target, 'in-process');
        runs.push(run);
        ctx.log(describeRun(run, S));
      }
      if (P === sizes[0]) {
        // Same P as the in-process row above, so the two sit side by side.
        const procP = P;
        const run = await fleetRun(inProcessControl(emu), 'hush', procP, ids, target, 'processes');
        runs.push(run);
        ctx.log(describeRun(run, S));
        // Every party its own process, as in a cluster: pods forked, the emulator started by its CLI.
        const cli = await startEmulatorCli(seedFor(ids, 64));
        try {
          const run = await fleetRun(cli.control, 'hush', procP, ids, cli.target, 'processes+emulator-process');
          runs.push(run);
          ctx.log(describeRun(run, S));
        } finally {
          await cli.stop();
        }
      }
    }
  } finally {
    await emu.close();
  }

  const tStar = (P: number) => (P * S) / (20 * B + G);
  for (const run of runs) {
    const booted = run.results.filter((r) => r.ok);
    const times = booted.map((r) => r.ms);
    const p50 = percentile(times, 50) / 1000;
    const p99 = percentile(times, 99) / 1000;
    const T = tStar(run.P);
    const isHush = run.kind.startsWith('hush');
    const allBooted = booted.length === run.P;
    const p99Ok = p99 <= 1.5 * T;
    const baselines = runs.filter(
      (r) => r.P === run.P && r.mode === 'in-process' && (r.kind === 'powertools' || r.kind === 'naive'),
    );
    const errors = [...new Set(run.results.filter((r) => !r.ok).map((r) => r.error))].join(', ');
    if (ctx.quick && run.kind === 'hush')
      check(allBooted, `fleet quick: ${run.P - booted.length} Hush pods failed (${errors})`);
    rows.push({
      scenario: '4 Fleet',
      metric: `P=${run.P}, S=${S}, ${label(run)}${MODE_LABEL[run.mode]}`,
      hush: isHush
        ? `${booted.length}/${run.P} ready; p50 ${fmt(p50)} s, p99 ${fmt(p99)} s; ${run.calls} calls, ${run.throttled} throttled`
        : '—',
      baseline: isHush
        ? run.mode !== 'in-process'
          ? inProcessFigure(runs, run)
          : baselines.map((b) => `${label(b)} ${b.results.filter((r) => r.ok).length}/${b.P}`).join('; ') || '—'
        : `${booted.length}/${run.P} ready; p50 ${fmt(p50)} s, p99 ${fmt(p99)} s; ${run.calls} calls, ${run.throttled} throttled${errors ? `; failures: ${errors}` : ''}`,
      ratio: `p99/T* = ${fmt(p99 / T)} (T* = ${fmt(T)} s)`,
      target: run.kind === 'hush' ? '100% ready; p99 ≤ 1.5 × T*' : isHush ? '— (comparison)' : '— (baseline)',
      met:
        run.kind === 'hush'
          ? ctx.quick
            ? allBooted
              ? '— (quick)'
              : met(false, 'pods failed')
            : met(
                allBooted && p99Ok,
                !allBooted ? `${run.P - booted.length} pods failed` : `p99 = ${fmt(p99 / T)} × T*`,
              )
          : '—',
      data: {
        kind: run.kind,
        mode: run.mode,
        P: run.P,
        S,
        booted: booted.length,
        failed: run.P - booted.length,
        p50Seconds: p50,
        p99Seconds: p99,
        tStarSeconds: T,
        calls: run.calls,
        throttled: run.throttled,
        wallMs: run.wallMs,
        quotaScale: QUOTA_SCALE,
        batchPerSecond: B,
        getPerSecond: G,
        bootTimeoutMs: FLEET_BOOT_TIMEOUT_MS,
      },
    });
  }
  return rows;
}

/** The in-process Hush row of the same P, for a multi-process row's comparison column. */
function inProcessFigure(runs: readonly FleetRun[], run: FleetRun): string {
  const twin = runs.find((r) => r.mode === 'in-process' && r.kind === run.kind && r.P === run.P);
  if (!twin) return '—';
  const ok = twin.results.filter((r) => r.ok);
  return `in-process: ${ok.length}/${twin.P} ready; p99 ${fmt(
    percentile(
      ok.map((r) => r.ms),
      99,
    ) / 1000,
  )} s`;
}

const MODE_LABEL: Record<FleetRun['mode'], string> = {
  'in-process': '',
  processes: ' (pods as separate processes)',
  'processes+emulator-process': ' (pods and emulator as separate processes)',
};

function label(run: { kind: PodKind }): string {
  return {
    hush: 'Hush (spillover on, default)',
    'hush-batch-only': 'Hush batch-only (spillover: false)',
    'hush-adaptive-retry': "Hush, client retryMode 'adaptive' (diagnostic)",
    powertools: 'Powertools',
    naive: 'naive',
  }[run.kind];
}

function describeRun(run: FleetRun, S: number): string {
  const ok = run.results.filter((r) => r.ok);
  return (
    `fleet ${run.mode} ${run.kind} P=${run.P} S=${S}: ${ok.length}/${run.P} ready, p99 ${fmt(
      percentile(
        ok.map((r) => r.ms),
        99,
      ),
    )} ms, ` + `${run.calls} calls, ${run.throttled} throttled, ${fmt(run.wallMs / 1000)} s`
  );
}

/** What a fleet run needs of the emulator, in this process or behind its HTTP control API. */
interface EmulatorControl {
  throttle(operation: string | null, ratePerSecond?: number, burst?: number): Promise<void>;
  resetCalls(): Promise<void>;
  calls(): Promise<{ total: number; throttled: number }>;
}

function inProcessControl(emu: Emulator): EmulatorControl {
  return {
    throttle: async (operation, ratePerSecond, burst) =>
      operation === null
        ? emu.setThrottle(null)
        : emu.setThrottle(operation, { ratePerSecond: ratePerSecond!, burst: burst! }),
    resetCalls: async () => emu.resetCalls(),
    calls: async () => ({ total: emu.calls().total, throttled: emu.throttled() }),
  };
}

/** `hush-emulator` (packages/emulator/dist/cli.js) in its own process, seeded and controlled over HTTP. */
async function startEmulatorCli(
  secrets: Record<string, string>,
): Promise<{ target: PodTarget; control: EmulatorControl; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'hush-bench-emu-'));
  writeFileSync(join(dir, 'seed.json'), JSON.stringify({ secrets }));
  const cli = join(require.resolve('@hush/emulator/package.json'), '..', 'dist', 'cli.js');
  const child: ChildProcess = spawn(process.execPath, [cli, '--port', '0', '--seed', join(dir, 'seed.json')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      const found = /endpoint: '([^']+)'/.exec(output)?.[1];
      if (found && output.includes('Control API:')) resolve(found);
    });
    child.once('exit', (code) => reject(new Error(`hush-emulator exited (${code}) before listening:\n${output}`)));
  });
  child.stdout!.resume();
  const call = async (method: string, route: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${url}/_emulator/${route}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    if (!res.ok) throw new Error(`emulator control ${method} ${route}: ${res.status}`);
    return res.json();
  };
  return {
    target: { endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } },
    control: {
      throttle: async (operation, ratePerSecond, burst) =>
        void (operation === null
          ? await call('DELETE', 'throttle')
          : await call('POST', 'throttle', { operation, ratePerSecond, burst })),
      resetCalls: async () => void (await call('POST', 'reset-calls')),
      calls: async () => (await call('GET', 'calls')) as { total: number; throttled: number },
    },
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function fleetRun(
  emu: EmulatorControl,
  kind: PodKind,
  P: number,
  ids: readonly string[],
  target: PodTarget,
  mode: FleetRun['mode'],
): Promise<FleetRun> {
  // Forked pods load their modules first and start only when told, so all start within the window.
  const children = mode === 'in-process' ? [] : await spawnPods(P, kind, ids, target);
  await sleep(200); // let the previous run's sockets drain before the buckets are refilled
  await emu.throttle(null);
  await emu.throttle('BatchGetSecretValue', B, B);
  await emu.throttle('GetSecretValue', G, G);
  await emu.resetCalls();
  const t0 = performance.now();
  let results: PodResult[];
  if (mode === 'in-process') {
    results = await Promise.all(
      Array.from({ length: P }, () => sleep(Math.random() * START_WINDOW_MS).then(() => bootPod(kind, target, ids))),
    );
  } else {
    results = await Promise.all(
      children.map(
        (child) =>
          new Promise<PodResult>((resolve, reject) => {
            child.once('message', (m) => resolve(m as PodResult));
            // 'close', not 'exit': it comes after the IPC channel has delivered every message.
            child.once('close', (code) => reject(new Error(`fleet pod process exited (${code}) before reporting`)));
            child.send({ go: Math.random() * START_WINDOW_MS });
          }),
      ),
    );
  }
  const wallMs = performance.now() - t0;
  const { total: calls, throttled } = await emu.calls();
  await emu.throttle(null);
  return { kind, P, mode, results, calls, throttled, wallMs };
}

async function spawnPods(P: number, kind: PodKind, ids: readonly string[], target: PodTarget) {
  const script = join(__dirname, '..', 'fleet-pod.js');
  const children = Array.from({ length: P }, () => fork(script, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve, reject) => {
          child.once('message', (m) =>
            m === 'ready' ? resolve() : reject(new Error(`fleet pod said ${JSON.stringify(m)}`)),
          );
          child.send({ kind, target, ids });
        }),
    ),
  );
  return children;
}
