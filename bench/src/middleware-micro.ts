/**
 * `node bench/dist/middleware-micro.js [rounds]` — a diagnostic for scenario 3, not part of run.ts.
 *
 * 1. Isolated: ns per middleware call on fresh `http.IncomingMessage` objects prepared the way
 *    Express prepares them (prototype switched to `app.request`, then `next`, `baseUrl`,
 *    `originalUrl` added). Each object is used once, as a real request is.
 * 2. Pipeline: ns per request through a whole Express 5 app called in-process (`app(req, res)` on
 *    a synthetic request and a socket-less `ServerResponse`), paired with a hello-world app
 *    measured right before or after, so a slow patch of the machine cancels out.
 *
 * References: `no-op`, `add one property` (`req.x = 1`) and `WeakMap#set(req)`. On Node 20, once
 * Express has switched a request's prototype every property added to it builds a new hidden class
 * (microseconds each, mostly garbage collection), which is why `hush.middleware()` keeps its
 * per-request state in a WeakMap instead of on `req`.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import express from 'express';
import { defineSecrets, memorySource } from '@hush/core';
import { createSecrets } from '@hush/express';
import { median } from './util';

type Middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

const socket = new Socket();

function incoming(url: string): IncomingMessage {
  const req = new IncomingMessage(socket);
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  req.httpVersion = '1.1';
  req.headers = { host: 'localhost', connection: 'keep-alive' };
  req.url = url;
  req.method = 'GET';
  return req;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 15);
  const hush = await createSecrets({
    secrets: defineSecrets({ s0: 'a', s1: 'b' }),
    source: memorySource({ a: 'x'.repeat(64), b: 'y'.repeat(64) }),
    refreshInterval: false,
  });
  const held = new WeakMap<object, number>();
  const variants: Record<string, Middleware> = {
    'no-op': (_req, _res, next) => next(),
    'add one property': (req, _res, next) => {
      (req as unknown as { x: number }).x = 1;
      next();
    },
    'WeakMap#set(req)': (req, _res, next) => {
      held.set(req, 1);
      next();
    },
    'hush.middleware()': hush.middleware(),
  };
  const hello = (_req: unknown, res: express.Response) => void res.send('hello');
  const baseline = express();
  baseline.get('/', hello);
  const apps: Record<string, express.Express> = {};
  for (const [name, mw] of Object.entries(variants)) {
    const app = express();
    app.use(mw);
    app.get('/', hello);
    apps[name] = app;
  }

  let sink = 0;
  const next = () => void sink++;
  const isolated = (name: string): number => {
    const n = 10_000;
    const reqs: IncomingMessage[] = [];
    for (let i = 0; i < n; i++) {
      const req = incoming('/');
      Object.setPrototypeOf(req, apps[name]!.request);
      Object.assign(req, { next, baseUrl: '', originalUrl: '/' });
      reqs.push(req);
    }
    const mw = variants[name]!;
    const t0 = process.hrtime.bigint();
    for (const req of reqs) mw(req, undefined as never, next);
    return Number(process.hrtime.bigint() - t0) / n;
  };
  const pipeline = (app: express.Express): number => {
    const n = 4_000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const req = incoming('/');
      const res = new ServerResponse(req);
      app(req as express.Request, res as express.Response);
      if (!res.writableEnded) throw new Error('the hello-world route did not answer synchronously');
      sink += res.statusCode;
    }
    return Number(process.hrtime.bigint() - t0) / n;
  };

  const names = Object.keys(variants);
  const iso: Record<string, number[]> = {};
  const delta: Record<string, number[]> = {};
  const base: number[] = [];
  for (const name of names) {
    iso[name] = [];
    delta[name] = [];
  }
  for (let round = -2; round < rounds; round++) {
    for (const name of names.map((_, i) => names[(i + Math.max(round, 0)) % names.length]!)) {
      const first = round % 2 === 0;
      const a = first ? pipeline(baseline) : pipeline(apps[name]!);
      const b = first ? pipeline(apps[name]!) : pipeline(baseline);
      const i = isolated(name);
      if (round < 0) continue; // warm-up
      const [b0, v] = first ? [a, b] : [b, a];
      base.push(b0);
      delta[name]!.push(v - b0);
      iso[name]!.push(i);
    }
  }
  await hush.close();
  const baseNs = median(base);
  process.stdout.write(
    `Node ${process.version}; medians of ${rounds} rounds; hello-world pipeline ${baseNs.toFixed(0)} ns/request\n\n`,
  );
  process.stdout.write(
    '| variant | isolated ns/call | pipeline Δ ns/request (paired) | % of hello-world |\n| --- | --- | --- | --- |\n',
  );
  for (const name of names) {
    const d = median(delta[name]!);
    process.stdout.write(
      `| ${name} | ${median(iso[name]!).toFixed(1)} | ${d.toFixed(0)} | ${((100 * baseNs) / (baseNs + d)).toFixed(1)}% |\n`,
    );
  }
  if (sink === -1) process.stdout.write('\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
