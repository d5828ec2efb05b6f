import { fork, type ChildProcess } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import { awsSecretsManager } from '@hush/core';
import { startEmulator } from '@hush/emulator';
import { createSecrets } from '@hush/express';
import type { LoadRequest, LoadResult } from '../load-driver';
import { met, type Row } from '../report';
import { check, declarationsFor, fmt, median, podClient, secretIds, seedFor, type BenchContext } from '../util';

type Variant = 'baseline' | 'no-op middleware' | 'middleware' | 'middleware+2 reads';

/**
 * Scenario 3 — middleware overhead: Express 5 apps in this process (hello world; the same with a
 * no-op middleware, to separate Express's per-layer cost; with `hush.middleware()`; and a route that
 * also reads two secrets), loaded by autocannon in a
 * forked process over loopback. Runs alternate A/B/C, A/B/C…; medians per variant are compared.
 */
export async function middlewareScenario(ctx: BenchContext): Promise<Row[]> {
  const ids = secretIds('mw', 4);
  const emu = await startEmulator({ seed: seedFor(ids, 64) });
  const client = podClient(emu);
  const hush = await createSecrets({
    secrets: declarationsFor(ids),
    source: awsSecretsManager({ client }),
    refreshInterval: false,
  });
  const servers: Server[] = [];
  const driver = fork(join(__dirname, '..', 'load-driver.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const apps: Record<Variant, express.Express> = {
      baseline: express(),
      'no-op middleware': express(),
      middleware: express(),
      'middleware+2 reads': express(),
    };
    apps.baseline.get('/', (_req, res) => void res.send('hello'));
    // Diagnostic: what one Express middleware layer costs by itself, whatever it does.
    apps['no-op middleware'].use((_req, _res, next) => next());
    apps['no-op middleware'].get('/', (_req, res) => void res.send('hello'));
    apps.middleware.use(hush.middleware());
    apps.middleware.get('/', (_req, res) => void res.send('hello'));
    apps['middleware+2 reads'].use(hush.middleware());
    apps['middleware+2 reads'].get('/', (req, res) => {
      const secrets = (req as unknown as { secrets: Record<string, string> }).secrets;
      // Consume both values without echoing them: the body is their combined length.
      void res.send(String(secrets['s0']!.length + secrets['s1']!.length));
    });
    const urls = {} as Record<Variant, string>;
    for (const [name, app] of Object.entries(apps) as [Variant, express.Express][]) {
      const server = app.listen(0, '127.0.0.1');
      await new Promise<void>((resolve) => server.once('listening', resolve));
      servers.push(server);
      urls[name] = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    }
    const expectBody: Record<Variant, string> = {
      baseline: 'hello',
      'no-op middleware': 'hello',
      middleware: 'hello',
      'middleware+2 reads': '128',
    };
    await once(driver, 'ready');

    const seconds = ctx.loadSeconds ?? (ctx.quick ? 0.3 : 3);
    const rounds = Math.round(ctx.loadRounds ?? (ctx.quick ? 1 : 5));
    const connections = 32;
    const variants: Variant[] = ['baseline', 'no-op middleware', 'middleware', 'middleware+2 reads'];
    type Measured = LoadResult & { readonly cpuUs: number };
    const results: Record<Variant, Measured[]> = {
      baseline: [],
      'no-op middleware': [],
      middleware: [],
      'middleware+2 reads': [],
    };
    // Warm-up: one short run per variant (JIT, sockets), discarded.
    for (const v of variants)
      await load(driver, { url: urls[v], seconds: ctx.quick ? 0.2 : 1, connections, expectBody: expectBody[v] });
    for (let round = 0; round < rounds; round++) {
      // A/B/C, then B/C/A…: each variant runs at every position once over three rounds.
      const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
      for (const v of order) {
        const cpu0 = process.cpuUsage();
        const r = await load(driver, { url: urls[v], seconds, connections, expectBody: expectBody[v] });
        const cpu = process.cpuUsage(cpu0);
        check(r.total > 0 && r.errors === 0 && r.non2xx === 0 && r.mismatches === 0, `${v}: ${JSON.stringify(r)}`);
        // CPU time of this (server) process per request: far less sensitive to other load on the machine than req/s.
        results[v].push({ ...r, cpuUs: (cpu.user + cpu.system) / r.total });
      }
    }
    const base = results.baseline;
    const baseRps = median(base.map((r) => r.rps));
    const baseP99 = median(base.map((r) => r.p99));
    const baseCpu = median(base.map((r) => r.cpuUs));
    const rows: Row[] = [];
    for (const v of ['no-op middleware', 'middleware', 'middleware+2 reads'] as const) {
      const judged = v !== 'no-op middleware';
      const rps = median(results[v].map((r) => r.rps));
      const p99 = median(results[v].map((r) => r.p99));
      const rpsRatio = rps / baseRps;
      const p99Ratio = p99 / baseP99;
      rows.push({
        scenario: '3 Middleware',
        metric: `${v}: req/s (median of ${rounds} × ${seconds} s, ${connections} conns)`,
        hush: fmt(rps, 0),
        baseline: `hello world ${fmt(baseRps, 0)}`,
        ratio: `${fmt(rpsRatio * 100, 1)}% of baseline`,
        target: judged ? '≥ 97%' : '— (diagnostic: Express layer cost)',
        met: ctx.quick || !judged ? '—' : met(rpsRatio >= 0.97),
        data: { variant: v, results: results[v], baseline: base },
      });
      rows.push({
        scenario: '3 Middleware',
        metric: `${v}: p99 latency`,
        hush: `${fmt(p99)} ms`,
        baseline: `hello world ${fmt(baseP99)} ms`,
        ratio: `${fmt(p99Ratio, 3)}×`,
        target: judged ? '≤ 1.05×' : '—',
        met: ctx.quick || !judged ? '—' : met(p99Ratio <= 1.05),
      });
      // Paired by round (the baseline run next to it in time), so a slow patch of the machine cancels out.
      const cpuDelta = median(results[v].map((r, i) => r.cpuUs - base[i]!.cpuUs));
      const signed = `${cpuDelta >= 0 ? '+' : ''}${fmt(cpuDelta, 2)}`;
      rows.push({
        scenario: '3 Middleware',
        metric: `${v}: server CPU per request (median of ${rounds})`,
        hush: `${fmt(median(results[v].map((r) => r.cpuUs)), 1)} µs`,
        baseline: `hello world ${fmt(baseCpu, 1)} µs`,
        ratio: `${signed} µs (paired by round)`,
        target: '— (diagnostic)',
        met: '—',
      });
      ctx.log(
        `middleware ${v}: ${fmt(rps, 0)} req/s vs ${fmt(baseRps, 0)}; p99 ${p99} vs ${baseP99} ms; CPU ${signed} µs/req`,
      );
    }
    return rows;
  } finally {
    driver.send('exit');
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
    await hush.close();
    client.destroy();
    await emu.close();
  }
}

export function once(child: ChildProcess, expected: string): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('message', (m) =>
      m === expected ? resolve() : reject(new Error(`load driver said ${JSON.stringify(m)}`)),
    );
    child.once('exit', (code) => reject(new Error(`load driver exited (${code})`)));
  });
}

export function load(child: ChildProcess, request: LoadRequest): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: LoadResult | { error: string }) => {
      child.off('exit', onExit);
      if ('error' in m) reject(new Error(`load driver: ${m.error}`));
      else resolve(m);
    };
    const onExit = (code: number | null) => reject(new Error(`load driver exited (${code})`));
    child.once('message', onMessage);
    child.once('exit', onExit);
    child.send(request);
  });
}
