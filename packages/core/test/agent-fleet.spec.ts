import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as net from 'node:net';
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
import { recordingLogger } from '../../../test/support';

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
