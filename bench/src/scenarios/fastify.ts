import { fork } from 'node:child_process';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { SecretStore, awsSecretsManager } from '@hush/core';
import { startEmulator } from '@hush/emulator';
import { hushSecrets } from '@hush/fastify';
import type { LoadResult } from '../load-driver';
import { met, type Row } from '../report';
import {
  check,
  declarationsFor,
  fmt,
  median,
  podClient,
  secretIds,
  seedFor,
  shuffle,
  type BenchContext,
} from '../util';
import { load, once } from './middleware';

type Variant = 'bare Fastify' | 'plugin' | 'plugin+2 reads' | 'hook field+2 reads';
type Secrets = Record<string, string>;

const KEYS = 8;
const VALUE_BYTES = 64;
const kField = Symbol('bench.secretsField');

/**
 * Scenario 12 — `@hush/fastify`. Two questions, both side by side in one run:
 *
 * 1. Request cost: Fastify 5 apps in this process — bare hello world; with the plugin (its
 *    `onRequest` hook pins the generation); with the plugin and a route reading two secrets through
 *    `request.secrets` (an accessor on Fastify's request prototype reading the pinned view); and the
 *    design the plugin did not take, a hook that assigns the view to a plain decorated request field
 *    (`decorateRequest(field, null)`, writable), also reading two secrets. autocannon runs in a
 *    forked process, rounds rotate the order, medians are compared (as scenario 3).
 * 2. Hot read: ns per `request.secrets.x` on real requests captured from a real app (8 requests,
 *    `i & 7`), against `Map#get` and against the plain-field design, in shuffled rounds (as scenario 2).
 */
export async function fastifyScenario(ctx: BenchContext): Promise<Row[]> {
  const ids = secretIds('fastify', KEYS);
  const emu = await startEmulator({ seed: seedFor(ids, VALUE_BYTES) });
  const client = podClient(emu);
  const decls = declarationsFor(ids);
  const store = new SecretStore(decls, { source: awsSecretsManager({ client }), refreshInterval: false });
  await store.load();
  const apps: FastifyInstance[] = [];
  const driver = fork(join(__dirname, '..', 'load-driver.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    // The views the field design assigns: the plugin's own (the same object kind as request.secrets),
    // from an app that registered it on the same store.
    const holder = Fastify({ logger: false });
    apps.push(holder);
    await holder.register(hushSecrets, { store });
    await holder.ready();
    const make = async (variant: Variant, capture?: FastifyRequest[]): Promise<FastifyInstance> => {
      const app = Fastify({ logger: false });
      apps.push(app);
      if (variant === 'hook field+2 reads') {
        app.decorateRequest(kField, null);
        app.addHook('onRequest', (request, _reply, done) => {
          (request as unknown as Record<symbol, unknown>)[kField] = holder.secrets;
          done();
        });
      } else if (variant !== 'bare Fastify') {
        await app.register(hushSecrets, { store });
      }
      const read = (request: FastifyRequest): Secrets =>
        variant === 'hook field+2 reads'
          ? ((request as unknown as Record<symbol, unknown>)[kField] as Secrets)
          : (request.secrets as unknown as Secrets);
      app.get('/', (request, reply) => {
        capture?.push(request);
        if (variant === 'bare Fastify' || variant === 'plugin') return reply.send('hello');
        const secrets = read(request);
        // Consume both values without echoing them: the body is their combined length.
        return reply.send(String(secrets['s0']!.length + secrets['s1']!.length));
      });
      await app.ready();
      return app;
    };

    // Part 1: requests per second and p99.
    const variants: Variant[] = ['bare Fastify', 'plugin', 'plugin+2 reads', 'hook field+2 reads'];
    const urls = {} as Record<Variant, string>;
    for (const v of variants) urls[v] = `${await (await make(v)).listen({ port: 0, host: '127.0.0.1' })}/`;
    const expectBody = (v: Variant) => (v === 'bare Fastify' || v === 'plugin' ? 'hello' : String(2 * VALUE_BYTES));
    await once(driver, 'ready');
    const seconds = ctx.loadSeconds ?? (ctx.quick ? 0.3 : 3);
    const rounds = Math.round(ctx.loadRounds ?? (ctx.quick ? 1 : 5));
    const connections = 32;
    type Measured = LoadResult & { readonly cpuUs: number };
    const results = Object.fromEntries(variants.map((v) => [v, [] as Measured[]])) as Record<Variant, Measured[]>;
    for (const v of variants)
      await load(driver, { url: urls[v], seconds: ctx.quick ? 0.2 : 1, connections, expectBody: expectBody(v) });
    for (let round = 0; round < rounds; round++) {
      const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
      for (const v of order) {
        const cpu0 = process.cpuUsage();
        const r = await load(driver, { url: urls[v], seconds, connections, expectBody: expectBody(v) });
        const cpu = process.cpuUsage(cpu0);
        check(r.total > 0 && r.errors === 0 && r.non2xx === 0 && r.mismatches === 0, `${v}: ${JSON.stringify(r)}`);
        // CPU time of this (server) process per request: far less sensitive to other load than req/s.
        results[v].push({ ...r, cpuUs: (cpu.user + cpu.system) / r.total });
      }
    }
    const base = results['bare Fastify'];
    const baseRps = median(base.map((r) => r.rps));
    const baseP99 = median(base.map((r) => r.p99));
    const rows: Row[] = [];
    for (const v of ['plugin', 'plugin+2 reads', 'hook field+2 reads'] as const) {
      const judged = v !== 'hook field+2 reads';
      const rps = median(results[v].map((r) => r.rps));
      const p99 = median(results[v].map((r) => r.p99));
      rows.push(
        {
          scenario: '12 Fastify',
          metric: `${v}: req/s (median of ${rounds} × ${seconds} s, ${connections} conns)`,
          hush: fmt(rps, 0),
          baseline: `bare Fastify ${fmt(baseRps, 0)}`,
          ratio: `${fmt((rps / baseRps) * 100, 1)}% of bare`,
          target: judged ? '≥ 97%' : '— (the design not taken)',
          met: ctx.quick || !judged ? '—' : met(rps / baseRps >= 0.97),
          data: { variant: v, results: results[v], baseline: base },
        },
        {
          scenario: '12 Fastify',
          metric: `${v}: p99 latency`,
          hush: `${fmt(p99)} ms`,
          baseline: `bare Fastify ${fmt(baseP99)} ms`,
          ratio: `${fmt(p99 / baseP99, 3)}×`,
          target: judged ? '≤ 1.05×' : '—',
          met: ctx.quick || !judged ? '—' : met(p99 / baseP99 <= 1.05),
        },
      );
      // Paired by round (the bare run next to it in time), so a slow patch of the machine cancels out.
      const cpuDelta = median(results[v].map((r, i) => r.cpuUs - base[i]!.cpuUs));
      const signed = `${cpuDelta >= 0 ? '+' : ''}${fmt(cpuDelta, 2)}`;
      rows.push({
        scenario: '12 Fastify',
        metric: `${v}: server CPU per request (median of ${rounds})`,
        hush: `${fmt(median(results[v].map((r) => r.cpuUs)), 1)} µs`,
        baseline: `bare Fastify ${fmt(median(base.map((r) => r.cpuUs)), 1)} µs`,
        ratio: `${signed} µs (paired by round)`,
        target: '— (diagnostic)',
        met: '—',
      });
      ctx.log(
        `fastify ${v}: ${fmt(rps, 0)} req/s vs ${fmt(baseRps, 0)}; p99 ${p99} vs ${baseP99} ms; CPU ${signed} µs/req`,
      );
    }

    // Part 2: the hot read on captured requests.
    const capture = async (v: Variant): Promise<FastifyRequest[]> => {
      const requests: FastifyRequest[] = [];
      const app = await make(v, requests);
      for (let i = 0; i < KEYS; i++) check((await app.inject('/')).statusCode === 200, `${v}: capture`);
      return requests;
    };
    const viaGetter = (await capture('plugin+2 reads')) as unknown as { secrets: Secrets }[];
    const viaField = (await capture('hook field+2 reads')) as unknown as Record<symbol, Secrets>[];
    const map = new Map(Object.keys(decls).map((k) => [k, store.get(k) as string]));
    const keys = Object.keys(decls);
    const n = ctx.quick ? 20_000 : 2_000_000;
    const candidates = [
      { name: 'Map#get', ns: [] as number[], loop: (c: number) => loopMap(map, keys, c) },
      { name: 'request.secrets.x (plugin: getter)', ns: [] as number[], loop: (c: number) => loopGetter(viaGetter, c) },
      {
        name: 'request[field].x (hook-assigned field)',
        ns: [] as number[],
        loop: (c: number) => loopField(viaField, c),
      },
    ];
    const readRounds = ctx.quick ? 2 : 9;
    for (let round = -1; round < readRounds; round++) {
      for (const c of shuffle([...candidates])) {
        const t0 = process.hrtime.bigint();
        const sum = c.loop(n);
        const elapsed = Number(process.hrtime.bigint() - t0);
        check(sum === n * VALUE_BYTES, `${c.name}: read ${sum} bytes, expected ${n * VALUE_BYTES}`);
        ctx.sink += sum;
        if (round >= 0) c.ns.push(elapsed / n);
      }
    }
    const mapNs = median(candidates[0]!.ns);
    const getterNs = median(candidates[1]!.ns);
    const fieldNs = median(candidates[2]!.ns);
    rows.push(
      {
        scenario: '12 Fastify',
        metric: `request.secrets.x hot read ns/op (median of ${readRounds})`,
        hush: fmt(getterNs),
        baseline: `Map#get ${fmt(mapNs)}; hook-assigned field ${fmt(fieldNs)}`,
        ratio: `${fmt(getterNs / mapNs)}× Map#get; ${fmt(getterNs / fieldNs)}× the field`,
        target: '≤ 2× Map#get',
        met: ctx.quick ? '—' : met(getterNs / mapNs <= 2, `${fmt(getterNs / mapNs)}× Map#get`),
        data: { getterNs: candidates[1]!.ns, fieldNs: candidates[2]!.ns, mapNs: candidates[0]!.ns },
      },
      {
        scenario: '12 Fastify',
        metric: 'fastify-secrets-aws 1.0.0 (Fastify 3, aws-sdk v2)',
        hush: 'not run',
        baseline: '—',
        ratio: '—',
        target: '—',
        met: 'not measured: needs Fastify 3 and aws-sdk v2 installed beside Fastify 5; it never refreshes',
      },
    );
    ctx.log(`fastify hot read: getter ${fmt(getterNs)} ns, field ${fmt(fieldNs)} ns, Map#get ${fmt(mapNs)} ns`);
    return rows;
  } finally {
    driver.send('exit');
    for (const app of apps) {
      const closed = app.close();
      app.server.closeAllConnections();
      await closed;
    }
    await store.close();
    client.destroy();
    await emu.close();
  }
}

// One function per candidate keeps each call site monomorphic.
function loopMap(map: Map<string, string>, keys: readonly string[], n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += map.get(keys[i & 7]!)!.length;
  return sum;
}
function loopGetter(requests: readonly { secrets: Secrets }[], n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += requests[i & 7]!.secrets['s0']!.length;
  return sum;
}
function loopField(requests: readonly Record<symbol, Secrets>[], n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += requests[i & 7]![kField]!['s0']!.length;
  return sum;
}
