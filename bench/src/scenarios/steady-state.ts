import FakeTimers from '@sinonjs/fake-timers';
import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretStore, awsSecretsManager, secretsManagerAgent, type Source } from '@hush/core';
import { startAgent, startEmulator } from '@hush/emulator';
import { met, type Row } from '../report';
import { check, declarationsFor, fmt, secretIds, secretValue, seedFor, type BenchContext } from '../util';

const S = 50;
const PRICE_PER_CALL = 0.05 / 10_000;
const HOURS_PER_MONTH = 730;
const FLEET = 1_000;
const HUSH_DEFAULT_REFRESH_MS = 300_000;
const POWERTOOLS_TTL_S = 5;
/** How often the simulated workload reads every secret. */
const READ_EVERY_MS = 1_000;
/** Fleet cost model: pod counts, pods sharing one Secrets Manager Agent, agent TTL, CSI rotation poll. */
const FLEET_SIZES = [10, 1_000, 10_000] as const;
const PODS_PER_NODE = 20;
const AGENT_TTL_S = 300;
const AGENT_TOKEN = 'bench-agent-token';
const CSI_POLL_S = 120;
/** Fake-clock step of the agent simulation; after each step the real HTTP traffic it started is awaited. */
const AGENT_STEP_MS = 1_000;

/**
 * A real `SecretsManagerClient` whose first middleware answers every command in memory, so each
 * library runs its real code (including SDK command construction) under fake timers, and every
 * call it would bill is counted. `inRead` marks calls started synchronously inside a read.
 */
class CountingClient {
  readonly client = new SecretsManagerClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  readonly calls: Record<string, number> = {};
  total = 0;
  inRead = false;
  callsInRead = 0;

  constructor(ids: readonly string[]) {
    const version = (id: string) => `v1-${id}`;
    const secret = (id: string) => ({
      ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${id}-AbCdEf`,
      Name: id,
      VersionId: version(id),
      SecretString: secretValue(ids.indexOf(id)),
      CreatedDate: new Date(0),
    });
    this.client.middlewareStack.add(
      (_next: unknown, context: { commandName?: string }) => async (args: { input: any }) => {
        const op = (context.commandName ?? 'unknown').replace(/Command$/, '');
        return { output: { ...answer(op, args.input), $metadata: { attempts: 1 } }, response: {} };
      },
      { step: 'initialize', name: 'benchInMemory', priority: 'high' },
    );
    // Count at send() time, so a call started synchronously inside a read is attributed to it.
    const send = this.client.send.bind(this.client) as (command: unknown) => Promise<unknown>;
    (this.client as { send: unknown }).send = (command: { constructor: { name: string } }) => {
      const op = command.constructor.name.replace(/Command$/, '');
      this.calls[op] = (this.calls[op] ?? 0) + 1;
      this.total++;
      if (this.inRead) this.callsInRead++;
      return send(command);
    };
    const answer = (op: string, input: any): object => {
      switch (op) {
        case 'BatchGetSecretValue':
          return { SecretValues: (input.SecretIdList as string[]).map(secret), Errors: [] };
        case 'GetSecretValue':
          return secret(input.SecretId);
        case 'DescribeSecret':
          return {
            ARN: secret(input.SecretId).ARN,
            Name: input.SecretId,
            VersionIdsToStages: { [version(input.SecretId)]: ['AWSCURRENT'] },
          };
        default:
          throw new Error(`unexpected ${op}`);
      }
    };
  }
}

interface Sim {
  readonly name: string;
  readonly refreshCalls: number;
  readonly perPodHour: number;
  readonly callsInRead: number;
  readonly calls: Record<string, number>;
  readonly extra?: Record<string, number>;
}

/**
 * Scenario 5 — steady-state cost: one pod with S = 50 secrets reads every secret once a second
 * for simulated hours (`@sinonjs/fake-timers` drives setTimeout, Date and performance), and every
 * API call each library makes is counted. Boot calls are excluded; reads start after boot.
 */
export async function steadyStateScenario(ctx: BenchContext): Promise<Row[]> {
  const hours = ctx.quick ? 1 : 24;
  const ids = secretIds('steady', S);
  const sims: Sim[] = [];
  sims.push(await simulate('Hush', hours, ids, simulateHush));
  sims.push(await simulate('Powertools', hours, ids, simulatePowertools));
  sims.push(await simulate('DescribeSecret check', hours, ids, simulateDescribe));
  const [hush, powertools, describe] = sims as [Sim, Sim, Sim];
  const perRefresh = hush.extra!['callsPerRefresh']!;
  check(perRefresh === Math.ceil(S / 20), `Hush made ${perRefresh} calls per refresh, expected ${Math.ceil(S / 20)}`);
  check(hush.callsInRead === 0, `Hush made ${hush.callsInRead} calls inside reads`);
  const monthly = (s: Sim) => s.perPodHour * FLEET * HOURS_PER_MONTH * PRICE_PER_CALL;
  const money = (n: number) => `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  for (const s of sims)
    ctx.log(
      `steady ${s.name}: ${fmt(s.perPodHour)} calls/pod-hour, ${s.callsInRead} in reads, ${JSON.stringify(s.calls)}`,
    );
  // A node holds PODS_PER_NODE pods; a fleet smaller than that is one node holding all of them.
  const agentSims = new Map<number, AgentSim>();
  for (const podsOnNode of new Set(FLEET_SIZES.map((pods) => Math.min(pods, PODS_PER_NODE)))) {
    const a = await simulateAgent(hours, ids, podsOnNode);
    agentSims.set(podsOnNode, a);
    ctx.log(
      `steady agent: ${fmt(a.perNodeHour)} upstream calls/node-hour (${podsOnNode} pods, TTL ${AGENT_TTL_S} s), ` +
        `${a.agentRequests} agent requests, ${a.cacheHits} cache hits, ${JSON.stringify(a.calls)}`,
    );
  }
  const agent = agentSims.get(PODS_PER_NODE)!;
  const agentModelPerNodeHour = (S * 3600) / AGENT_TTL_S;
  const csiPerPodHour = (S * 3600) / CSI_POLL_S;
  const perMonth = (callsPerHour: number) => callsPerHour * HOURS_PER_MONTH * PRICE_PER_CALL;
  const fleetRows: Row[] = FLEET_SIZES.map((pods) => {
    const nodes = Math.ceil(pods / PODS_PER_NODE);
    const podsOnNode = Math.min(pods, PODS_PER_NODE);
    const direct = hush.perPodHour * pods;
    const viaAgent = agentSims.get(podsOnNode)!.perNodeHour * nodes;
    const csi = csiPerPodHour * pods;
    const fig = (callsPerHour: number) => `${fmt(callsPerHour)} calls/h · ${money(perMonth(callsPerHour))}/month`;
    return {
      scenario: '5 Steady state',
      metric: `fleet of ${pods.toLocaleString('en-US')} pods (${nodes.toLocaleString('en-US')} node${nodes === 1 ? '' : 's'} × ${podsOnNode} pods), S=${S}: API calls/hour · $/month`,
      hush: `direct (measured): ${fig(direct)}`,
      baseline: `agent (measured): ${fig(viaAgent)}; CSI rotation (model): ${fig(csi)}`,
      ratio: `agent ${fmt(viaAgent / direct)}× direct; CSI ${fmt(csi / direct, 0)}× direct`,
      target: '—',
      met: '—',
      data: {
        pods,
        nodes,
        podsOnNode,
        callsPerHour: { direct, agent: viaAgent, csi },
        dollarsPerMonth: { direct: perMonth(direct), agent: perMonth(viaAgent), csi: perMonth(csi) },
      },
    };
  });
  return [
    {
      scenario: '5 Steady state',
      metric: `API calls per pod-hour (S=${S}, ${hours} h simulated, reads every ${READ_EVERY_MS / 1000} s)`,
      hush: `${fmt(hush.perPodHour)} (refresh every 5 min ±10%)`,
      baseline: `Powertools (5 s TTL) ${fmt(powertools.perPodHour)}; DescribeSecret per secret every 5 min ${fmt(describe.perPodHour)}`,
      ratio: `Powertools makes ${fmt(powertools.perPodHour / hush.perPodHour, 0)}×; DescribeSecret check ${fmt(describe.perPodHour / hush.perPodHour, 1)}×`,
      target: `⌈S/20⌉ = ${Math.ceil(S / 20)} calls per refresh interval`,
      met: met(perRefresh === Math.ceil(S / 20)),
      data: { sims },
    },
    {
      scenario: '5 Steady state',
      metric: `monthly API cost, fleet of ${FLEET.toLocaleString('en-US')} pods ($0.05 per 10,000 calls)`,
      hush: money(monthly(hush)),
      baseline: `Powertools ${money(monthly(powertools))}; DescribeSecret check ${money(monthly(describe))}`,
      ratio: `${fmt(monthly(powertools) / monthly(hush), 0)}× / ${fmt(monthly(describe) / monthly(hush), 1)}× cheaper`,
      target: '—',
      met: '—',
    },
    {
      scenario: '5 Steady state',
      metric: 'API calls made on the request path (inside a read)',
      hush: String(hush.callsInRead),
      baseline: `Powertools ${powertools.callsInRead}; DescribeSecret check ${describe.callsInRead}`,
      ratio: '—',
      target: '0, ever',
      met: met(hush.callsInRead === 0),
    },
    {
      scenario: '5 Steady state',
      metric:
        `fleet cost inputs ($0.05 per 10,000 calls, ${HOURS_PER_MONTH} h/month): direct = measured calls/pod-hour × pods; ` +
        `agent = measured upstream calls/node-hour × ⌈pods/${PODS_PER_NODE}⌉ nodes; CSI = model`,
      hush: `direct (measured): ${fmt(hush.perPodHour)} calls/pod-hour`,
      baseline:
        `agent (measured, ${PODS_PER_NODE} pods on one agent via secretsManagerAgent(), refresh 5 min ±10%, agent TTL ${AGENT_TTL_S} s, ${hours} h simulated): ` +
        `${fmt(agent.perNodeHour)} upstream calls/node-hour (DescribeSecret ${fmt(agent.perHour['DescribeSecret'] ?? 0)}, GetSecretValue ${fmt(agent.perHour['GetSecretValue'] ?? 0)})` +
        [...agentSims]
          .filter(([n]) => n !== PODS_PER_NODE)
          .map(([n, a]) => `, ${fmt(a.perNodeHour)} with ${n} pods on the node`)
          .join('') +
        '; ' +
        `CSI rotation (model: one GetSecretValue per secret per pod mount per rotationPollInterval ${CSI_POLL_S} s): ${fmt(csiPerPodHour)} calls/pod-hour`,
      ratio: `agent measured / model S×3600/TTL (${fmt(agentModelPerNodeHour)}) = ${fmt(agent.perNodeHour / agentModelPerNodeHour)}`,
      target: '—',
      met: '—',
      data: {
        agent: Object.fromEntries(agentSims),
        agentModelPerNodeHour,
        csiPerPodHour,
        podsPerNode: PODS_PER_NODE,
        agentTtlSeconds: AGENT_TTL_S,
        csiPollSeconds: CSI_POLL_S,
      },
    },
    ...fleetRows,
  ];
}

interface AgentSim {
  readonly hours: number;
  readonly pods: number;
  readonly perNodeHour: number;
  /** Emulator calls (what AWS would bill) over the whole simulation, per operation. */
  readonly calls: Record<string, number>;
  readonly perHour: Record<string, number>;
  readonly agentRequests: number;
  readonly cacheHits: number;
}

/**
 * One node: `pods` Hush stores (default refresh, 5 min ±10%) read through
 * `secretsManagerAgent()` from one `startAgent()` (TTL 300 s) in front of the emulator; the
 * emulator's DescribeSecret + GetSecretValue calls are what AWS would bill. The fake clock drives
 * the stores' timers and the agent's TTL (both use `performance.now()`, which fake-timers also
 * patches in `node:perf_hooks`); the HTTP traffic is real, so the clock advances in 1 s steps and
 * each step waits until every fetch it started has finished. Pods boot one after another (only
 * the first misses the agent cache); boot calls are excluded.
 */
async function simulateAgent(hours: number, ids: readonly string[], pods: number): Promise<AgentSim> {
  const emulator = await startEmulator({ seed: seedFor(ids) });
  const agent = await startAgent({ emulator, token: AGENT_TOKEN, ttlSeconds: AGENT_TTL_S }).catch(
    async (error: unknown) => {
      await emulator.close();
      throw error;
    },
  );
  const stores: SecretStore[] = [];
  let inflight = 0;
  const settle = async () => {
    while (inflight > 0) await new Promise<void>((resolve) => setImmediate(resolve));
  };
  // Installed before any store exists, so every timestamp (stores and agent cache) is on the fake clock.
  const clock = FakeTimers.install({
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'],
    now: Date.UTC(2026, 0, 1),
    shouldClearNativeTimers: true,
  });
  try {
    for (let p = 0; p < pods; p++) {
      const inner = secretsManagerAgent({ url: agent.url, token: AGENT_TOKEN });
      const source: Source = {
        kind: inner.kind,
        fetch: (requests, context) => {
          inflight++;
          return inner.fetch(requests, context).finally(() => inflight--);
        },
        stats: () => inner.stats(),
        close: () => inner.close(),
      };
      const store = new SecretStore(declarationsFor(ids), { source });
      stores.push(store);
      await store.load();
    }
    const boot = emulator.calls();
    check(
      boot.GetSecretValue === ids.length && boot.total === ids.length,
      `agent boot made ${JSON.stringify(boot)} upstream calls, expected ${ids.length} GetSecretValue`,
    );
    emulator.resetCalls();
    agent.resetCalls();
    const end = Date.now() + hours * 3_600_000;
    while (Date.now() < end) {
      await clock.tickAsync(AGENT_STEP_MS);
      await settle();
    }
    const all = emulator.calls();
    const agentCalls = agent.calls();
    const calls: Record<string, number> = {};
    for (const op of ['DescribeSecret', 'GetSecretValue']) if (all[op]) calls[op] = all[op]!;
    const upstream = (calls['DescribeSecret'] ?? 0) + (calls['GetSecretValue'] ?? 0);
    check(upstream === all.total, `agent simulation made unexpected upstream calls: ${JSON.stringify(all)}`);
    check(
      upstream === agentCalls.upstream,
      `agent counted ${agentCalls.upstream} upstream calls, emulator ${upstream}`,
    );
    check(
      agentCalls.requests >= pods * ids.length * Math.floor((hours * 3_600_000) / (HUSH_DEFAULT_REFRESH_MS * 1.1)),
      `pods made only ${agentCalls.requests} agent requests`,
    );
    stores.forEach((store, p) =>
      ids.forEach((_, i) => check(store.get(`s${i}`) === secretValue(i), `pod ${p} read a wrong value for s${i}`)),
    );
    const perHour = Object.fromEntries(Object.entries(calls).map(([op, n]) => [op, n / hours]));
    return {
      hours,
      pods,
      perNodeHour: upstream / hours,
      calls,
      perHour,
      agentRequests: agentCalls.requests,
      cacheHits: agentCalls.cacheHits,
    };
  } finally {
    for (const store of stores) await store.close();
    clock.uninstall();
    await agent.close();
    await emulator.close();
  }
}

type Body = (
  counting: CountingClient,
  ids: readonly string[],
  clock: ReturnType<typeof FakeTimers.install>,
  ms: number,
) => Promise<Record<string, number> | void>;

async function simulate(name: string, hours: number, ids: readonly string[], body: Body): Promise<Sim> {
  const clock = FakeTimers.install({
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'],
    now: Date.UTC(2026, 0, 1),
    shouldClearNativeTimers: true,
  });
  const counting = new CountingClient(ids);
  try {
    const extra = (await body(counting, ids, clock, hours * 3_600_000)) ?? undefined;
    const refreshCalls = counting.total;
    return {
      name,
      refreshCalls,
      perPodHour: refreshCalls / hours,
      callsInRead: counting.callsInRead,
      calls: { ...counting.calls },
      ...(extra ? { extra } : {}),
    };
  } finally {
    clock.uninstall();
    counting.client.destroy();
  }
}

function resetCounts(counting: CountingClient): void {
  for (const k of Object.keys(counting.calls)) delete counting.calls[k];
  counting.total = 0;
  counting.callsInRead = 0;
}

const simulateHush: Body = async (counting, ids, clock, ms) => {
  const decls = declarationsFor(ids);
  const keys = Object.keys(decls);
  const store = new SecretStore(decls, { source: awsSecretsManager({ client: counting.client }) });
  let refreshes = 0;
  store.onEvent((e) => {
    if (e.type === 'fetched' && e.reason === 'refresh') refreshes++;
  });
  await store.load();
  check(counting.total === Math.ceil(ids.length / 20), `Hush boot made ${counting.total} calls`);
  resetCounts(counting);
  let bytes = 0;
  const timer = setInterval(() => {
    counting.inRead = true;
    for (const k of keys) bytes += (store.get(k) as string).length;
    counting.inRead = false;
  }, READ_EVERY_MS);
  await clock.tickAsync(ms);
  clearInterval(timer);
  await store.close();
  check(bytes > 0, 'no reads happened');
  check(refreshes > 0, 'no background refresh happened');
  return { refreshes, callsPerRefresh: counting.total / refreshes, intervalMs: HUSH_DEFAULT_REFRESH_MS };
};

const simulatePowertools: Body = async (counting, ids, clock, ms) => {
  const provider = new SecretsProvider({ awsSdkV3Client: counting.client });
  await Promise.all(ids.map((id) => provider.get(id, { maxAge: POWERTOOLS_TTL_S })));
  resetCounts(counting);
  const timer = setInterval(() => {
    counting.inRead = true;
    // Powertools' documented default TTL (5 s); passing it explicitly skips no code path that matters here.
    for (const id of ids) void provider.get(id);
    counting.inRead = false;
  }, READ_EVERY_MS);
  await clock.tickAsync(ms);
  clearInterval(timer);
};

/** The AWS caching clients' pattern: on a read older than the TTL, DescribeSecret, then GetSecretValue if the version moved. */
const simulateDescribe: Body = async (counting, ids, clock, ms) => {
  const cache = new Map<string, { value: string; version: string; checkedAt: number }>();
  const client = counting.client;
  await Promise.all(
    ids.map(async (id) => {
      const out = await client.send(new GetSecretValueCommand({ SecretId: id }));
      cache.set(id, { value: out.SecretString!, version: out.VersionId!, checkedAt: Date.now() });
    }),
  );
  resetCounts(counting);
  const check = async (id: string, item: { value: string; version: string; checkedAt: number }) => {
    item.checkedAt = Date.now();
    const d = await client.send(new DescribeSecretCommand({ SecretId: id }));
    const current = Object.entries(d.VersionIdsToStages ?? {}).find(([, stages]) => stages.includes('AWSCURRENT'))?.[0];
    if (current !== item.version) {
      const out = await client.send(new GetSecretValueCommand({ SecretId: id }));
      Object.assign(item, { value: out.SecretString!, version: out.VersionId! });
    }
  };
  const timer = setInterval(() => {
    counting.inRead = true;
    for (const id of ids) {
      const item = cache.get(id)!;
      if (Date.now() - item.checkedAt >= HUSH_DEFAULT_REFRESH_MS) void check(id, item);
    }
    counting.inRead = false;
  }, READ_EVERY_MS);
  await clock.tickAsync(ms);
  clearInterval(timer);
};
