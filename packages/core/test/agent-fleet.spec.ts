import { spawn } from 'node:child_process';
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  defineSecrets,
  SecretsConfigError,
  SecretsLoadError,
  SecretStore,
  secretsManagerAgent,
  type SecretsEvent,
} from '@hush/core';
import { startAgent, startEmulator, type Agent, type Emulator } from '@hush/emulator';
import { recordingLogger, selfSignedCert, sleep, waitFor } from '../../../test/support';

/**
 * The agent behaviours read in aws/aws-workload-credentials-provider (d47a49d) and
 * aws/aws-secretsmanager-agent, reproduced by small fronts on the emulated Agent:
 * - WCP `parse.rs`: `roleArn` accepted (validated), older agents answer 400 `unknown parameter: roleArn`;
 * - the Lambda extension does not document `refreshNow`; if it rejects it like an unknown parameter,
 *   a forced refresh must not become a permanent 400;
 * - `server.rs`: every connection is served under `timeout(MAX_REQ_TIME_SEC = 61 s)` and dropped
 *   after it, mid-request or not (here 300 ms, with `connectionMaxAge` scaled alike).
 */

const TOKEN = 'agent-fleet-token';
const ROLE = 'arn:aws:iam::123456789012:role/cross-account-reader';

let emu: Emulator;
let agent: Agent;
const closers: Array<() => Promise<unknown> | unknown> = [];

beforeAll(async () => {
  emu = await startEmulator({ seed: { 'fleet/db': 'db-CANARY-0', 'fleet/api': 'api-CANARY-0' } });
  agent = await startAgent({ emulator: emu, token: TOKEN });
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
afterAll(async () => {
  await agent.close();
  await emu.close();
});

/** An HTTP front on the emulated agent: `rewrite` may answer itself, or change the query it forwards. */
async function front(rewrite: (url: URL, res: http.ServerResponse) => boolean): Promise<string> {
  const target = new URL(agent.url);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', agent.url);
    if (rewrite(url, res)) return;
    const up = http.request(
      { host: target.hostname, port: target.port, path: `${url.pathname}${url.search}`, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    up.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(resolve)));
  closers.push(() => server.closeAllConnections());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function newStore(url: string, extra: Parameters<typeof secretsManagerAgent>[0] = {}) {
  const logger = recordingLogger();
  const events: SecretsEvent[] = [];
  const store = new SecretStore(defineSecrets({ db: 'fleet/db', api: 'fleet/api' }), {
    source: secretsManagerAgent({ url, token: TOKEN, ...extra }),
    refreshInterval: false,
    minRefreshInterval: 0,
    bootTimeout: '5s',
    logger,
  });
  store.onEvent((e) => void events.push(e));
  closers.push(() => store.close());
  return { store, logger, events };
}

describe('roleArn (Workload Credentials Provider cross-account reads)', () => {
  it('is sent on every request to a provider that accepts it', async () => {
    const seen: string[] = [];
    const url = await front((u) => {
      // WCP validates and consumes roleArn; the emulated agent underneath is the older agent.
      const role = u.searchParams.get('roleArn');
      if (role !== null) seen.push(role);
      u.searchParams.delete('roleArn');
      return false;
    });
    const { store } = newStore(url, { roleArn: ROLE });
    await store.load();
    await store.refresh();
    expect(store.get('db')).toBe('db-CANARY-0');
    expect(seen).toEqual([ROLE, ROLE, ROLE, ROLE]);
  });

  it('fails at once, naming the cause, against an agent that does not know it', async () => {
    const { store } = newStore(agent.url, { roleArn: ROLE });
    const started = performance.now();
    const error = (await store.load().catch((e: unknown) => e)) as SecretsLoadError;
    expect(error).toBeInstanceOf(SecretsLoadError);
    expect(error.failures.map((f) => f.code)).toEqual(['AgentRoleArnUnsupported', 'AgentRoleArnUnsupported']);
    expect(error.message).toContain('Workload Credentials Provider');
    expect(performance.now() - started).toBeLessThan(2_000); // not retried until bootTimeout
  });

  it('rejects a malformed role ARN at construction', () => {
    expect(() => secretsManagerAgent({ token: TOKEN, roleArn: 'reader' })).toThrow(SecretsConfigError);
    expect(() => secretsManagerAgent({ token: TOKEN, roleArn: 'arn:aws:iam::12:role/x' })).toThrow(/roleArn/);
  });
});

describe('refreshNow against an agent that rejects it (the Lambda extension does not document it)', () => {
  it('a forced refresh is sent again without it, succeeds, and refreshNow is never sent again', async () => {
    let rejected = 0;
    let forwarded = 0;
    const url = await front((u, res) => {
      if (u.searchParams.has('refreshNow')) {
        rejected++;
        res.writeHead(400, { 'content-type': 'text/plain' }).end('unknown parameter: refreshNow');
        return true;
      }
      forwarded++;
      return false;
    });
    const { store, logger, events } = newStore(url);
    await store.load();
    emu.putSecret('fleet/db', 'db-CANARY-1');
    await store.refresh();
    await store.refresh('db');
    await store.refresh();
    expect(rejected).toBe(2); // the two ids of the first forced round, once each
    expect(forwarded).toBe(2 + 2 + 1 + 2);
    expect(events.filter((e) => e.type === 'refresh-failed')).toEqual([]);
    expect(store.health().status).toBe('up');
    expect(logger.at('warn').filter((m) => m.includes('refreshNow'))).toHaveLength(1);
    // Without refreshNow the agent answers from its cache (TTL 300 s): the old value, by design.
    expect(store.get('db')).toBe('db-CANARY-0');
    expect(store.stats().outcomes['AgentGet']).toEqual({ ok: 7 });
  });
});

describe('error bodies the older Agent does not escape', () => {
  it('a throttle whose message breaks the JSON is still a retryable throttle, not a permanent 400', async () => {
    let n = 0;
    const url = await front((_u, res) => {
      if (n++ >= 2) return false; // answer the two ids of the first round, then recover
      // aws-secretsmanager-agent utils.rs err_response: format!("{{\"__type\":\"{}\", \"message\":\"{}\"}}").
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end('{"__type":"ThrottlingException", "message":"Rate "exceeded""}');
      return true;
    });
    const { store } = newStore(url);
    await store.load(); // the boot loop retries the throttle and loads
    expect(store.get('db')).toBe('db-CANARY-0');
    expect(store.stats().outcomes['AgentGet']).toEqual({ throttled: 2, ok: 2 });
  });
});

describe('connections the agent cuts 61 s after opening', () => {
  /**
   * A TCP front that drops every connection `lifeMs` after accepting it, like the agent's
   * per-connection timeout. `cutOnNextRequest()` makes every connection open now reset when its
   * next request arrives: a cut the client learns of only by sending on it.
   */
  async function cutter(lifeMs: number): Promise<{ url: string; cuts: () => number; cutOnNextRequest: () => void }> {
    const target = new URL(agent.url);
    let cuts = 0;
    const sockets = new Set<net.Socket>();
    const doomed = new Set<net.Socket>();
    const server = net.createServer((client) => {
      const upstream = net.connect(Number(target.port), target.hostname);
      sockets.add(client).add(upstream);
      client.on('data', (chunk) => {
        if (!doomed.has(client)) return void upstream.write(chunk);
        cuts++;
        client.resetAndDestroy();
        upstream.destroy();
      });
      upstream.pipe(client);
      const drop = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', drop);
      upstream.on('error', drop);
      setTimeout(() => {
        if (!client.destroyed) cuts++;
        drop();
      }, lifeMs).unref();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => server.close(resolve)));
    closers.push(() => sockets.forEach((s) => s.destroy()));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      cuts: () => cuts,
      cutOnNextRequest: () => [...sockets].filter((s) => !s.destroyed).forEach((s) => doomed.add(s)),
    };
  }

  it('the retry after a reset goes on a new connection, not on a pooled one the agent cut at the same moment', async () => {
    const { url, cuts, cutOnNextRequest } = await cutter(3_600_000);
    const { store, events } = newStore(url, { connectionMaxAge: '1h', concurrency: 2 });
    await store.load(); // two secrets at concurrency 2: two pooled connections, opened together
    cutOnNextRequest(); // both are cut, as the agent cuts connections opened together
    await store.refresh('db');
    // One request met the cut; on a pooled sibling its retry would have met the second one.
    expect(cuts()).toBe(1);
    expect(events.filter((e) => e.type === 'refresh-failed')).toEqual([]);
    expect(store.stats().failures).toBe(0);
  });

  /**
   * A TCP front on the emulated agent that does, for the n-th request it sees (from 0), what
   * `plan(n)` says: `pass` it on, `reset` its connection, `hang` (never answer), or answer the
   * given raw HTTP response itself. Records each request's head.
   */
  async function scripted(
    plan: (n: number) => 'pass' | 'reset' | 'hang' | string,
  ): Promise<{ url: string; heads: string[]; open: () => number }> {
    const target = new URL(agent.url);
    const heads: string[] = [];
    const sockets = new Set<net.Socket>();
    const server = net.createServer((client) => {
      const upstream = net.connect(Number(target.port), target.hostname);
      sockets.add(client).add(upstream);
      upstream.pipe(client);
      client.on('data', (chunk) => {
        const step = plan(heads.push(chunk.toString('latin1')) - 1);
        if (step === 'pass') upstream.write(chunk);
        else if (step === 'reset') {
          client.resetAndDestroy();
          upstream.destroy();
        } else if (step !== 'hang') client.write(step);
      });
      client.on('close', () => upstream.destroy());
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => server.close(resolve)));
    closers.push(() => sockets.forEach((s) => s.destroy()));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      heads,
      open: () => [...sockets].filter((s) => !s.destroyed).length,
    };
  }

  it('a reset met after a token re-read (403) is still sent once more on a new connection', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hush-agent-retry-'));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    const tokenFile = join(dir, 'awssmatoken');
    await writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const forbidden = 'HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\nConnection: keep-alive\r\n\r\nBad Token';
    // Load (2 requests) passes; then the agent restarted: a 403, and the connection it came on is cut.
    const { url, heads } = await scripted((n) => (n === 2 ? forbidden : n === 3 ? 'reset' : 'pass'));
    const { store, events } = newStore(url, { token: `file://${tokenFile}`, connectionMaxAge: '1h', concurrency: 1 });
    await store.load();
    await store.refresh('db');
    expect(heads).toHaveLength(5); // 403, the re-read token's request cut, its retry on a new connection
    expect(heads[4]).toMatch(/\r\nConnection: close\r\n/);
    // The retry carries the same token header as every other request.
    expect(heads.map((h) => /\r\nX-Aws-Parameters-Secrets-Token: ([^\r]*)\r\n/i.exec(h)?.[1])).toEqual(
      heads.map(() => TOKEN),
    );
    expect(events.filter((e) => e.type === 'refresh-failed')).toEqual([]);
    expect(store.stats().failures).toBe(0);
    expect(store.stats().attempts['AgentGet']).toBe(2 + 3);
  });

  it('requestTimeout holds on the retry: a retry the agent never answers is a TimeoutError, its connection closed', async () => {
    const { url, heads, open } = await scripted((n) => (n < 2 ? 'pass' : n === 2 ? 'reset' : 'hang'));
    const { store, events } = newStore(url, { connectionMaxAge: '1h', concurrency: 1, requestTimeout: '300ms' });
    await store.load();
    const started = performance.now();
    await store.refresh('db');
    expect(performance.now() - started).toBeLessThan(3_000); // not the 10 s default, nor fetchTimeout
    expect(store.health().secrets.db).toMatchObject({ status: 'error', error: 'TimeoutError' });
    expect(events.filter((e) => e.type === 'refresh-failed')).toHaveLength(1);
    const { calls, attempts, outcomes } = store.stats();
    // The cut request and its retry are one call of two attempts; a later round's request one more.
    expect(outcomes['AgentGet']).toEqual({ ok: 2, TimeoutError: calls['AgentGet']! - 2 });
    expect(attempts['AgentGet']).toBe(heads.length);
    expect(heads[3]).toMatch(/\r\nConnection: close\r\n/);
    await waitFor(() => open() === 0, 2_000, 'the hung connections to be closed');
  });

  it('source.close() ends a request in flight, pooled or the retry on its new connection, and starts no retry', async () => {
    const cases: [string, (n: number) => 'reset' | 'hang', number][] = [
      ['the retry hangs on its new connection', (n) => (n === 0 ? 'reset' : 'hang'), 2],
      ['the pooled request hangs (close() cuts its connection)', () => 'hang', 1],
    ];
    for (const [what, plan, sent] of cases) {
      const { url, heads, open } = await scripted(plan);
      const source = secretsManagerAgent({ url, token: TOKEN, requestTimeout: '60s' });
      const signal = new AbortController().signal; // never aborted: only close() ends the request
      const fetching = source.fetch([{ id: 'fleet/db' }], { signal, force: false, reason: 'refresh' });
      await waitFor(() => heads.length === sent, 5_000, `${what}: the request to reach the agent`);
      await source.close();
      const outcome = await Promise.race([fetching.then(([o]) => o), sleep(3_000).then(() => 'still running')]);
      expect([what, outcome]).toMatchObject([what, { ok: false, error: { awsCode: 'AbortError' } }]);
      await sleep(100);
      expect([what, heads.length]).toEqual([what, sent]); // nothing sent after close()
      await waitFor(() => open() === 0, 2_000, `${what}: every connection to be closed`);
    }
  });

  it('a front that resets every request gets two requests per id per round, never more, each with the token', async () => {
    let hostile = false;
    const { url, heads } = await scripted(() => (hostile ? 'reset' : 'pass'));
    const { store } = newStore(url, { connectionMaxAge: '1h', concurrency: 2 });
    await store.load();
    const loaded = store.get('db');
    hostile = true;
    for (let i = 0; i < 5; i++) await store.refresh();
    const { calls, attempts, outcomes } = store.stats();
    const rounds = calls['AgentGet']! - 2; // one call per id per round
    expect(rounds).toBeGreaterThanOrEqual(2 * 5);
    expect(heads.length - 2).toBe(2 * rounds); // the request and its one retry on a new connection
    expect(attempts['AgentGet']! - 2).toBe(2 * rounds);
    expect(outcomes['AgentGet']).toEqual({ ok: 2, ECONNRESET: rounds });
    expect(heads.map((h) => /\r\nX-Aws-Parameters-Secrets-Token: ([^\r]*)\r\n/i.exec(h)?.[1])).toEqual(
      heads.map(() => TOKEN),
    );
    expect(store.get('db')).toBe(loaded); // the last good value, served through it
  });

  it.each([
    ['sockets retired before the cut (connectionMaxAge below the cut)', '200ms', false],
    ['sockets reused up to the cut (retry once on a reset connection)', '1h', true],
  ] as const)('no fetch fails: %s', async (_, connectionMaxAge, reachesCut) => {
    const { url, cuts } = await cutter(300);
    const { store, events } = newStore(url, { connectionMaxAge, concurrency: 2 });
    await store.load();
    // Answers take 15 ms, so a cut often lands on a request in flight (the agent cuts mid-request too).
    agent.injectFault({ latencyMs: 15 });
    closers.push(() => agent.clearFaults());
    for (let i = 0; i < 40; i++) {
      await store.refresh();
      await new Promise((r) => setTimeout(r, Math.random() * 10));
    }
    if (reachesCut) expect(cuts()).toBeGreaterThan(0);
    expect(events.filter((e) => e.type === 'refresh-failed')).toEqual([]);
    expect(store.stats().failures).toBe(0);
    expect(store.stats().calls['AgentGet']).toBe(2 * 41);
  });
});

/**
 * A store on the agent at AGENT_URL in its own `node` process (the built package), driven by
 * lines on stdin: `refresh` (awaited, then prints db's health status and error code, the
 * message of a refresh failure and the stats), `refresh-bg`
 * (started, not awaited), `close`. Prints `{"loaded":true}` after load.
 */
const CHILD = `
const { SecretStore, defineSecrets, secretsManagerAgent } = require(process.env.HUSH_CORE);
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const store = new SecretStore(defineSecrets({ db: 'fleet/db', api: 'fleet/api' }), {
  source: secretsManagerAgent({ url: process.env.AGENT_URL, token: process.env.AGENT_TOKEN, concurrency: 2,
    connectionMaxAge: '1h', requestTimeout: '60s' }),
  refreshInterval: false, minRefreshInterval: 0, bootTimeout: '5s', fetchTimeout: '60s', logger: false,
});
let failure;
store.onEvent((e) => { if (e.type === 'refresh-failed') failure = e.message; });
const lines = require('node:readline').createInterface({ input: process.stdin });
store.load().then(() => say({ loaded: true }), (e) => { say({ loadFailed: e.message }); process.exit(2); });
lines.on('line', async (command) => {
  if (command === 'refresh-bg') store.refresh('db').catch(() => {});
  if (command === 'refresh') {
    await store.refresh('db');
    const { status, error } = store.health().secrets.db;
    say({ status, error, failure, stats: store.stats() });
    failure = undefined;
  }
  if (command === 'close') {
    await store.close();
    lines.close();
    process.stdin.destroy();
    say({ closed: true });
  }
});
`;

/** Runs {@link CHILD}; `next()` resolves with its next line of JSON, `exited` with its code and the time it exited. */
function child(url: string, env: Record<string, string> = {}) {
  const proc = spawn(process.execPath, ['-e', CHILD], {
    env: {
      ...process.env,
      ...env,
      HUSH_CORE: join(__dirname, '..', 'dist', 'index.js'),
      AGENT_URL: url,
      AGENT_TOKEN: TOKEN,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let stderr = '';
  const waiting: Array<(line: Record<string, unknown>) => void> = [];
  const lines: Record<string, unknown>[] = [];
  proc.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
  proc.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    let at: number;
    while ((at = out.indexOf('\n')) >= 0) {
      const line = JSON.parse(out.slice(0, at)) as Record<string, unknown>;
      out = out.slice(at + 1);
      const wake = waiting.shift();
      if (wake) wake(line);
      else lines.push(line);
    }
  });
  const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
    proc.on('exit', (code) => resolve({ code, at: performance.now() })),
  );
  closers.push(() => proc.kill('SIGKILL'));
  return {
    send: (command: string) => proc.stdin.write(`${command}\n`),
    next: () =>
      lines.length > 0
        ? Promise.resolve(lines.shift()!)
        : new Promise<Record<string, unknown>>((resolve) => waiting.push(resolve)),
    exited,
    stderr: () => stderr,
  };
}

describe('the retry on a new connection, in its own process', () => {
  it('close() during a retry the agent never answers ends it: the process exits at once', async () => {
    // Load (2 requests) passes; then the pooled connection is cut and the retry's connection hangs.
    const hung: net.Socket[] = [];
    const target = new URL(agent.url);
    let requests = 0;
    const server = net.createServer((client) => {
      const upstream = net.connect(Number(target.port), target.hostname);
      upstream.pipe(client);
      client.on('data', (chunk) => {
        const n = requests++;
        if (n < 2) upstream.write(chunk);
        else if (n === 2) {
          client.resetAndDestroy();
          upstream.destroy();
        } else hung.push(client);
      });
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => server.close(resolve)));
    closers.push(() => server.listening && hung.forEach((s) => s.destroy()));
    const app = child(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    expect(await app.next()).toEqual({ loaded: true });
    app.send('refresh-bg');
    await waitFor(() => hung.length === 1, 5_000, 'the retry to reach the agent');
    const closing = performance.now();
    app.send('close');
    expect(await app.next()).toEqual({ closed: true });
    const { code, at } = await Promise.race([app.exited, sleep(5_000).then(() => ({ code: 'still running', at: 0 }))]);
    expect(code).toBe(0);
    // requestTimeout and fetchTimeout are 60 s: only close() ends the request on the new connection.
    expect(at - closing).toBeLessThan(3_000);
    await waitFor(() => hung[0]!.destroyed || hung[0]!.readableEnded, 2_000, 'the hung connection to be closed');
    expect(app.stderr()).toBe('');
  });

  describe('over https', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'hush-agent-tls-'));
      for (const name of ['trusted', 'untrusted']) selfSignedCert(dir, name);
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    /** A TLS front on the agent with the named certificate; counts the requests it forwards. */
    async function tlsFront(name: string): Promise<{ port: number; requests: () => number }> {
      const target = new URL(agent.url);
      let requests = 0;
      const [key, cert] = await Promise.all([readFile(join(dir, `${name}.key`)), readFile(join(dir, `${name}.crt`))]);
      const server = tls.createServer({ key, cert }, (client) => {
        const upstream = net.connect(Number(target.port), target.hostname);
        client.on('data', () => void requests++);
        client.pipe(upstream).pipe(client);
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
      });
      server.on('tlsClientError', () => undefined);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      closers.push(() => new Promise((resolve) => server.close(resolve)));
      return { port: (server.address() as AddressInfo).port, requests: () => requests };
    }

    it('the retry verifies the certificate like the pooled request: never sent to an untrusted one, its code named', async () => {
      const trusted = await tlsFront('trusted');
      const untrusted = await tlsFront('untrusted');
      // A TCP router: connections go to `to`; `cut()` resets every open one on its next request.
      let to = trusted.port;
      const open = new Set<net.Socket>();
      const doomed = new Set<net.Socket>();
      const router = net.createServer((client) => {
        const upstream = net.connect(to, '127.0.0.1');
        open.add(client).add(upstream);
        upstream.pipe(client);
        client.on('data', (chunk) => {
          if (!doomed.has(client)) return void upstream.write(chunk);
          client.resetAndDestroy();
          upstream.destroy();
        });
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
      });
      await new Promise<void>((resolve) => router.listen(0, '127.0.0.1', resolve));
      closers.push(() => new Promise((resolve) => router.close(resolve)));
      closers.push(() => open.forEach((s) => s.destroy()));

      const app = child(`https://127.0.0.1:${(router.address() as AddressInfo).port}`, {
        NODE_EXTRA_CA_CERTS: join(dir, 'trusted.crt'),
      });
      expect(await app.next()).toEqual({ loaded: true });
      expect(trusted.requests()).toBe(2);
      // The pooled connections are cut, and a new connection meets a certificate Node does not trust.
      open.forEach((s) => doomed.add(s));
      to = untrusted.port;
      app.send('refresh');
      const failed = await app.next();
      expect(failed).toMatchObject({ status: 'error', error: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
      expect(failed['failure']).toContain('TLS with the agent failed');
      expect(untrusted.requests()).toBe(0); // the token never went to it
      // The agent's certificate is trusted again: the next retry on a new connection succeeds.
      to = trusted.port;
      open.forEach((s) => doomed.add(s));
      app.send('refresh');
      expect(await app.next()).toMatchObject({ status: 'fresh' });
      app.send('close');
      expect(await app.next()).toEqual({ closed: true });
      expect((await app.exited).code).toBe(0);
      expect(app.stderr()).toBe('');
    });
  });
});
