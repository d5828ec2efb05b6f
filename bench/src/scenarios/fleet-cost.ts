import FakeTimers from '@sinonjs/fake-timers';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { SecretStore, awsSecretsManager, secretsManagerAgent, type SecretStoreOptions, type Source } from '@hush/core';
import { startAgent, startEmulator, type Emulator, type RotationFunction } from '@hush/emulator';
import type { Row } from '../report';
import { check, declarationsFor, fmt, podClient, secretIds, secretValue, seedFor, type BenchContext } from '../util';

/** Secrets per pod, and the fleet sizes the issue asks about. */
const S = 50;
const FLEETS = [1_000, 10_000] as const;
const PRICE_PER_CALL = 0.05 / 10_000;
const HOURS_PER_MONTH = 730;
/** Pods per EC2/ECS host (or hostNetwork node) sharing one Agent. */
const PODS_PER_HOST = 20;
const AGENT_TTL_S = 300;
const AGENT_TOKEN = 'bench-fleet-cost-token';
/** CSI driver `rotationPollInterval` (its default when rotation is enabled). */
const CSI_POLL_S = 120;
/** ESO `refreshInterval` (its default). */
const ESO_REFRESH_S = 3_600;
/** kubelet pod sync (`syncFrequency`, 1 min) — how long a changed Secret or CSI republish can take to reach the volume. */
const KUBELET_SYNC_S = 60;
const JITTER = 0.1;
/** SQS: $0.40 per million requests; a consumer long-polls 20 s, so 3 receives a minute when idle. */
const SQS_PRICE_PER_REQUEST = 0.4 / 1_000_000;
const SQS_RECEIVES_PER_HOUR = 3 * 60;

type Basis = 'measured' | 'modelled';

/** One deployment option's cost at fleet scale. */
interface CostOption {
  readonly option: string;
  readonly basis: Basis;
  /** How the figure was obtained (simulation or formula), printed in the row. */
  readonly how: string;
  /** AWS API calls per hour for a fleet of `pods`. */
  callsPerHour(pods: number): number;
  /** Other per-month dollars (SQS for the event recipe). */
  extraDollarsPerMonth?(pods: number): number;
  /** API calls by operation per pod-hour (or per host/cluster-hour), as measured or modelled. */
  readonly breakdown: Record<string, number>;
  /** Worst case before an out-of-schedule change (a PutSecretValue outside any rotation schedule) reaches every pod. */
  readonly worstDelay: string;
}

/**
 * Scenario 9 — fleet cost: what 1,000 and 10,000 pods × 50 secrets cost a month under each way
 * of running Hush, and how long an out-of-schedule change can take to reach the pods. Options
 * Hush or the emulated Agent can run are **measured**: one pod (or one host of pods) against the
 * emulator over HTTP, simulated days on `@sinonjs/fake-timers`, calls counted by the emulator and
 * scaled by pods (pods are independent). The CSI driver and External Secrets Operator cannot run
 * here; their rows are **modelled** from the behaviour read in their sources
 * (`/work/shared/reference/fleet-sources.md` §2).
 */
export async function fleetCostScenario(ctx: BenchContext): Promise<Row[]> {
  const days = ctx.quick ? 1 : 7;
  const agentHours = ctx.quick ? 1 : 12;
  const hostPods = ctx.quick ? 4 : PODS_PER_HOST;
  const ids = secretIds('fleet-cost', S);
  const options: CostOption[] = [];

  const direct5 = await simulateDirect(ids, days, { refreshInterval: '5m' });
  ctx.log(`fleet-cost direct 5 min: ${fmt(direct5.perPodHour)} calls/pod-hour ${JSON.stringify(direct5.calls)}`);
  check(
    direct5.calls['BatchGetSecretValue'] === direct5.total,
    `direct polling made calls other than BatchGetSecretValue: ${JSON.stringify(direct5.calls)}`,
  );
  options.push({
    option: 'Hush direct, refresh 5 min (default)',
    basis: 'measured',
    how: `1 pod, ${days} simulated day(s): ${fmt(direct5.perPodHour)} calls/pod-hour`,
    callsPerHour: (pods) => direct5.perPodHour * pods,
    breakdown: direct5.perHour,
    worstDelay: `${fmt(5 * (1 + JITTER))} min (interval + ${JITTER * 100}% jitter)`,
  });

  const direct60 = await simulateDirect(ids, days, { refreshInterval: '1h', maxStaleness: '3h' });
  ctx.log(`fleet-cost direct 1 h: ${fmt(direct60.perPodHour)} calls/pod-hour ${JSON.stringify(direct60.calls)}`);
  options.push({
    option: 'Hush direct, refresh 1 h',
    basis: 'measured',
    how: `1 pod, ${days} simulated day(s): ${fmt(direct60.perPodHour)} calls/pod-hour`,
    callsPerHour: (pods) => direct60.perPodHour * pods,
    breakdown: direct60.perHour,
    worstDelay: `${fmt(60 * (1 + JITTER))} min`,
  });

  // Schedule-aware: every secret rotates weekly (schedules spread over the week), 1 h safety poll.
  const aware = await simulateScheduleAware(ids, days, false);
  ctx.log(
    `fleet-cost schedule-aware: ${fmt(aware.perPodHour)} calls/pod-hour ${JSON.stringify(aware.calls)}, ` +
      `${aware.rotations} rotations seen, max lag ${fmt(aware.maxLagMs / 1000)} s`,
  );
  check(aware.rotations >= Math.floor((S * days) / 7) - 1, `schedule-aware saw only ${aware.rotations} rotations`);
  options.push({
    option: 'Hush schedule-aware (weekly rotation, 1 h safety poll)',
    basis: 'measured',
    how:
      `1 pod, ${S} secrets rotating weekly on the emulator's schedule, ${days} simulated day(s): ${fmt(aware.perPodHour)} calls/pod-hour; ` +
      `${aware.rotations} scheduled rotations, each in the store ≤ ${fmt(aware.maxLagMs / 1000)} s after it finished`,
    callsPerHour: (pods) => aware.perPodHour * pods,
    breakdown: aware.perHour,
    worstDelay: `scheduled rotation: ${fmt(aware.maxLagMs / 60_000)} min measured (delay 1 min + jitter ≤ 1 min); out of schedule: ${fmt(60 * (1 + JITTER))} min`,
  });
  const evented = await simulateScheduleAware(ids, days, true);
  ctx.log(
    `fleet-cost schedule-aware + events: ${fmt(evented.perPodHour)} calls/pod-hour ${JSON.stringify(evented.calls)}, ` +
      `${evented.events} out-of-schedule changes, max event lag ${fmt(evented.maxEventLagMs)} ms`,
  );
  options.push({
    option: 'Hush schedule-aware + events (EventBridge → SNS → one SQS queue per pod)',
    basis: 'measured',
    how:
      `as above + ${evented.events} out-of-schedule changes delivered to store.invalidate() (${fmt(evented.perPodHour)} calls/pod-hour); ` +
      `SQS modelled: ${SQS_RECEIVES_PER_HOUR} long-poll receives/pod-hour at $0.40/million`,
    callsPerHour: (pods) => evented.perPodHour * pods,
    extraDollarsPerMonth: (pods) => pods * SQS_RECEIVES_PER_HOUR * HOURS_PER_MONTH * SQS_PRICE_PER_REQUEST,
    breakdown: { ...evented.perHour, 'SQS ReceiveMessage (modelled)': SQS_RECEIVES_PER_HOUR },
    worstDelay: `event delivery (not documented by AWS) + one fetch (invalidate() refreshes at once); a lost event: ${fmt(60 * (1 + JITTER))} min`,
  });

  const sidecar = await simulateAgent(ids, agentHours, 1);
  ctx.log(
    `fleet-cost agent sidecar: ${fmt(sidecar.perAgentHour)} upstream calls/pod-hour ${JSON.stringify(sidecar.calls)}`,
  );
  options.push({
    option: 'Agent sidecar (one per pod: ordinary EKS pods)',
    basis: 'measured',
    how: `1 pod + its emulated Agent (TTL ${AGENT_TTL_S} s), ${agentHours} simulated h: ${fmt(sidecar.perAgentHour)} upstream calls/pod-hour`,
    callsPerHour: (pods) => sidecar.perAgentHour * pods,
    breakdown: sidecar.perHour,
    worstDelay: `${fmt(AGENT_TTL_S / 60 + 5 * (1 + JITTER))} min (agent TTL + Hush refresh)`,
  });

  const host = await simulateAgent(ids, agentHours, hostPods);
  ctx.log(
    `fleet-cost agent per host: ${fmt(host.perAgentHour)} upstream calls/host-hour with ${hostPods} pods ${JSON.stringify(host.calls)}`,
  );
  options.push({
    option: `Agent per host (EC2/ECS host or hostNetwork pods, ${PODS_PER_HOST} pods a host)`,
    basis: 'measured',
    how: `${hostPods} pods sharing one emulated Agent, ${agentHours} simulated h: ${fmt(host.perAgentHour)} upstream calls/host-hour; × ⌈pods/${PODS_PER_HOST}⌉ hosts`,
    callsPerHour: (pods) => host.perAgentHour * Math.ceil(pods / PODS_PER_HOST),
    breakdown: host.perHour,
    worstDelay: `${fmt(AGENT_TTL_S / 60 + 5 * (1 + JITTER))} min (agent TTL + Hush refresh)`,
  });

  const csiPerPodHour = (S * 3600) / CSI_POLL_S;
  options.push({
    option: 'CSI driver ≥ v1.6 with rotation (rotationPollInterval 2 min) + mountedFiles',
    basis: 'modelled',
    how:
      `GetSecretValue per secret per pod per poll (v1.6 passes no current versions) = ${fmt(csiPerPodHour)} calls/pod-hour; ` +
      `×2 with failoverRegion`,
    callsPerHour: (pods) => csiPerPodHour * pods,
    breakdown: { GetSecretValue: csiPerPodHour },
    worstDelay: `about ${fmt((CSI_POLL_S + KUBELET_SYNC_S) / 60)} min (poll + kubelet republish) + mountedFiles settle`,
  });

  const esoPerClusterHour = (S * 3600) / ESO_REFRESH_S;
  options.push({
    option: 'ESO, 50 shared ExternalSecrets (refreshInterval 1 h) + mountedFiles',
    basis: 'modelled',
    how: `one GetSecretValue per secret per refresh per cluster, whatever the pod count = ${fmt(esoPerClusterHour)} calls/cluster-hour; 1 cluster assumed`,
    callsPerHour: () => esoPerClusterHour,
    breakdown: { GetSecretValue: esoPerClusterHour },
    worstDelay: `about ${fmt((ESO_REFRESH_S + KUBELET_SYNC_S) / 60)} min (refreshInterval + kubelet Secret volume sync)`,
  });

  const money = (n: number) => `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  const monthly = (o: CostOption, pods: number) =>
    o.callsPerHour(pods) * HOURS_PER_MONTH * PRICE_PER_CALL + (o.extraDollarsPerMonth?.(pods) ?? 0);
  const baseline = options[0]!;
  return options.map((o) => ({
    scenario: '9 Fleet cost',
    metric: `${o.option} — ${o.basis}; worst-case delay of an out-of-schedule change: ${o.worstDelay}`,
    hush: FLEETS.map(
      (pods) =>
        `${pods.toLocaleString('en-US')} pods: ${fmt(o.callsPerHour(pods) * HOURS_PER_MONTH)} calls/month · ${money(monthly(o, pods))}/month`,
    ).join('; '),
    baseline: o === baseline ? '—' : `direct 5 min: ${money(monthly(baseline, FLEETS[1]))} at 10,000 pods`,
    ratio:
      o === baseline
        ? '1×'
        : `${fmtRatio(monthly(o, FLEETS[1]) / monthly(baseline, FLEETS[1]))}× direct 5 min at 10,000 pods`,
    target: '—',
    met: '—',
    data: {
      option: o.option,
      basis: o.basis,
      how: o.how,
      worstDelay: o.worstDelay,
      perHourBreakdown: o.breakdown,
      fleets: Object.fromEntries(
        FLEETS.map((pods) => [
          pods,
          { callsPerMonth: o.callsPerHour(pods) * HOURS_PER_MONTH, dollarsPerMonth: monthly(o, pods) },
        ]),
      ),
    },
  }));
}

interface Measured {
  readonly total: number;
  readonly calls: Record<string, number>;
  readonly perHour: Record<string, number>;
  readonly perPodHour: number;
}

/** Counts each fetch in flight, so the simulation can wait for real HTTP before moving the fake clock. */
function tracked(inner: Source, inflight: { n: number }): Source {
  return {
    kind: inner.kind,
    fetch: (requests, context) => {
      inflight.n++;
      return inner.fetch(requests, context).finally(() => inflight.n--);
    },
    ...(inner.stats ? { stats: () => inner.stats!() } : {}),
    ...(inner.close ? { close: () => inner.close!() } : {}),
  };
}

/** A fake clock for stores (setTimeout, Date, performance). Real sockets and setImmediate keep running. */
function installClock() {
  return FakeTimers.install({
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'],
    now: Date.UTC(2026, 0, 1),
    shouldClearNativeTimers: true,
  });
}

/**
 * Moves the fake clock timer by timer until `ms` have passed, waiting after each timer until the
 * fetches it started are answered (real HTTP), so no fetch timeout fires while a reply is on the wire.
 */
async function runFor(clock: ReturnType<typeof installClock>, ms: number, inflight: { n: number }): Promise<void> {
  const end = Date.now() + ms;
  const settle = async () => {
    const started = process.hrtime.bigint();
    while (inflight.n > 0) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (process.hrtime.bigint() - started > 10_000_000_000n) throw new Error('fleet-cost: a fetch hung for 10 s');
    }
  };
  while (Date.now() < end) {
    if (clock.countTimers() === 0) {
      clock.setSystemTime(end);
      break;
    }
    await clock.nextAsync();
    await settle();
  }
}

function measured(emulator: Emulator, hours: number, units: number): Measured {
  const all = emulator.calls() as Record<string, number>;
  const calls: Record<string, number> = {};
  for (const [op, n] of Object.entries(all)) if (op !== 'total' && n > 0) calls[op] = n;
  const total = Object.values(calls).reduce((a, b) => a + b, 0);
  const perHour = Object.fromEntries(Object.entries(calls).map(([op, n]) => [op, n / hours / units]));
  return { total, calls, perHour, perPodHour: total / hours / units };
}

/** One pod's Hush store on `awsSecretsManager()` against the emulator, for `days` simulated days. */
async function simulateDirect(
  ids: readonly string[],
  days: number,
  storeOptions: Omit<SecretStoreOptions, 'source'>,
): Promise<Measured> {
  const emulator = await startEmulator({ seed: seedFor(ids) });
  const client = podClient(emulator);
  const inflight = { n: 0 };
  const clock = installClock();
  const store = new SecretStore(declarationsFor(ids), {
    ...storeOptions,
    source: tracked(awsSecretsManager({ client }), inflight),
  });
  try {
    await store.load();
    emulator.resetCalls();
    await runFor(clock, days * 86_400_000, inflight);
    ids.forEach((_, i) => check(store.get(`s${i}`) === secretValue(i), `direct pod read a wrong value for s${i}`));
    return measured(emulator, days * 24, 1);
  } finally {
    await store.close();
    clock.uninstall();
    client.destroy();
    await emulator.close();
  }
}

const ROTATION_LAMBDA = 'arn:aws:lambda:us-east-1:123456789012:function:bench-rotate';

/** AWS's rotation template in miniature: createSecret puts AWSPENDING, finishSecret moves AWSCURRENT. */
const rotateFn =
  (finished: Map<string, number[]>): RotationFunction =>
  async ({ SecretId, ClientRequestToken, Step }, { client }) => {
    if (Step === 'createSecret') {
      await client.send(
        new PutSecretValueCommand({
          SecretId,
          ClientRequestToken,
          SecretString: `rotated-CANARY-${ClientRequestToken.slice(0, 8)}`,
          VersionStages: ['AWSPENDING'],
        }),
      );
    } else if (Step === 'finishSecret') {
      const current = await client.send(new GetSecretValueCommand({ SecretId }));
      await client.send(
        new UpdateSecretVersionStageCommand({
          SecretId,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: ClientRequestToken,
          RemoveFromVersionId: current.VersionId,
        }),
      );
      const name = SecretId.replace(/^.*:secret:/, '').replace(/-[A-Za-z0-9]{6}$/, '');
      finished.set(name, [...(finished.get(name) ?? []), Date.now()]);
    }
  };

/**
 * One pod with `rotationSchedule` (1 h safety poll) against the emulator running a weekly
 * rotation schedule for every secret, staggered over the week; a simulated-clock timer starts the
 * due rotations every minute, as the service's scheduler would.
 * With `events`, one secret a day also changes out of schedule and the pod is told through
 * `store.invalidate()`, as the SQS consumer of the recipe would.
 */
async function simulateScheduleAware(
  ids: readonly string[],
  days: number,
  events: boolean,
): Promise<Measured & { rotations: number; maxLagMs: number; events: number; maxEventLagMs: number }> {
  const finished = new Map<string, number[]>();
  // Started before the fake clock, so its 100 ms rotation check stays on real time (its dates follow the fake Date).
  const emulator = await startEmulator({
    seed: seedFor(ids),
    rotationFunctions: { [ROTATION_LAMBDA]: rotateFn(finished) },
  });
  const clock = installClock();
  const client = podClient(emulator);
  const inflight = { n: 0 };
  const inner = awsSecretsManager({ client });
  const source: Source = {
    kind: inner.kind,
    fetch: async (requests, context) => {
      inflight.n++;
      try {
        return await inner.fetch(requests, context);
      } finally {
        inflight.n--;
      }
    },
    describe: async (requestIds, context) => {
      inflight.n++;
      try {
        return await inner.describe(requestIds, context);
      } finally {
        inflight.n--;
      }
    },
  };
  const decls = declarationsFor(ids);
  const store = new SecretStore(decls, { source, maxStaleness: '3h', rotationSchedule: { safetyInterval: '1h' } });
  const seen = new Map<string, number[]>();
  const names = new Map(Object.entries(decls).map(([name, id]) => [name, id as string]));
  store.onEvent((e) => {
    if (e.type === 'rotated') {
      const id = names.get(e.name)!;
      seen.set(id, [...(seen.get(id) ?? []), Date.now()]);
    }
  });
  try {
    // Spread the schedules over one week: RotateSecret rotates at once and every 7 days after.
    for (let i = 0; i < ids.length; i++) {
      clock.tick((7 * 86_400_000) / ids.length);
      await client.send(
        new RotateSecretCommand({
          SecretId: ids[i],
          RotationLambdaARN: ROTATION_LAMBDA,
          RotationRules: { AutomaticallyAfterDays: 7 },
        }),
      );
      await emulator.rotationsSettled();
    }
    finished.clear();
    // The service's scheduler, on the simulated clock: due rotations start within a minute.
    setInterval(() => {
      inflight.n++;
      emulator.runDueRotations();
      void emulator.rotationsSettled().finally(() => inflight.n--);
    }, 60_000);
    await store.load();
    emulator.resetCalls();
    const bootCalls = { ...inner.stats().calls };
    const eventLags: number[] = [];
    let eventCount = 0;
    if (events) {
      for (let d = 0; d < days; d++) {
        setTimeout(
          () => {
            const id = ids[Math.floor(Math.random() * ids.length)]!;
            emulator.putSecret(id, `out-of-schedule-CANARY-${d}`);
            const at = Date.now();
            eventCount++;
            void store.invalidate([id]).then(() => eventLags.push(Date.now() - at));
          },
          d * 86_400_000 + Math.random() * 86_400_000,
        );
      }
    }
    await runFor(clock, days * 86_400_000, inflight);
    const end = Date.now();
    // Lag of each scheduled rotation: from finishSecret to the store's rotated event.
    let maxLagMs = 0;
    let rotations = 0;
    for (const [id, times] of finished) {
      const got = seen.get(id) ?? [];
      times.forEach((t) => {
        if (t > end - 180_000) return; // too close to the end to have been fetched yet
        const after = got.find((g) => g >= t);
        check(
          after !== undefined,
          `schedule-aware: the rotation of ${id} at ${new Date(t).toISOString()} never reached the store`,
        );
        maxLagMs = Math.max(maxLagMs, after - t);
        rotations++;
      });
    }
    // The rotation function's own calls (PutSecretValue, UpdateSecretVersionStage, GetSecretValue)
    // reach the emulator too; the pod's are what its source counted, checked against the emulator.
    const podCalls: Record<string, number> = {};
    for (const [op, n] of Object.entries(inner.stats().calls)) podCalls[op] = n - (bootCalls[op] ?? 0);
    const emu = emulator.calls() as Record<string, number>;
    for (const op of ['BatchGetSecretValue', 'DescribeSecret'])
      check(
        (emu[op] ?? 0) === (podCalls[op] ?? 0),
        `schedule-aware: pod counted ${podCalls[op]} ${op}, emulator ${emu[op]}`,
      );
    const total = Object.values(podCalls).reduce((a, b) => a + b, 0);
    const hours = days * 24;
    return {
      total,
      calls: podCalls,
      perHour: Object.fromEntries(Object.entries(podCalls).map(([op, n]) => [op, n / hours])),
      perPodHour: total / hours,
      rotations,
      maxLagMs,
      events: eventCount,
      maxEventLagMs: eventLags.length > 0 ? Math.max(...eventLags) : 0,
    };
  } finally {
    await store.close();
    clock.uninstall();
    client.destroy();
    await emulator.close();
  }
}

/**
 * `pods` Hush stores on `secretsManagerAgent()` sharing one emulated Agent (TTL 300 s) in front of
 * the emulator: the emulator counts what the Agent calls upstream (DescribeSecret per secret per
 * TTL, GetSecretValue on change), which is what AWS bills. Boot calls excluded.
 */
async function simulateAgent(
  ids: readonly string[],
  hours: number,
  pods: number,
): Promise<Measured & { perAgentHour: number }> {
  const emulator = await startEmulator({ seed: seedFor(ids) });
  const agent = await startAgent({ emulator, token: AGENT_TOKEN, ttlSeconds: AGENT_TTL_S });
  const inflight = { n: 0 };
  const stores: SecretStore[] = [];
  const clock = installClock();
  try {
    for (let p = 0; p < pods; p++) {
      const source = tracked(secretsManagerAgent({ url: agent.url, token: AGENT_TOKEN }), inflight);
      const store = new SecretStore(declarationsFor(ids), { source });
      stores.push(store);
      await store.load();
    }
    emulator.resetCalls();
    await runFor(clock, hours * 3_600_000, inflight);
    stores.forEach((store, p) =>
      ids.forEach((_, i) =>
        check(store.get(`s${i}`) === secretValue(i), `agent pod ${p} read a wrong value for s${i}`),
      ),
    );
    const m = measured(emulator, hours, 1);
    check(m.total > 0, 'the agent made no upstream calls');
    return { ...m, perAgentHour: m.perPodHour };
  } finally {
    for (const store of stores) await store.close();
    clock.uninstall();
    await agent.close();
    await emulator.close();
  }
}

/** Ratios from 0.0001 to 100 with three significant digits. */
function fmtRatio(r: number): string {
  return r >= 1 ? fmt(r, 2) : r.toPrecision(3);
}
