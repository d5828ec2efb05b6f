/**
 * Faults injected into @hush/emulator, read through the real AWS SDK v3 client over HTTP:
 * throttling storms, 5xx bursts, latency, hung connections, an outage during refresh, and
 * per-secret failures while the app runs. Every test bounds its time.
 */
import { z } from 'zod';
import {
  awsSecretsManager,
  defineSecrets,
  SecretsLoadError,
  SecretStore,
  type SecretsEvent,
  type SecretStoreOptions,
} from '@hush/core';
import { startEmulator, type Emulator } from '@hush/emulator';
import { destroyClients, emulatorClient, recordingLogger, sleep, timed, waitFor } from './helpers';

const seed = {
  'app/a': 'a-CANARY-1',
  'app/b': 'b-CANARY-1',
  'app/c': 'c-CANARY-1',
  'app/db': JSON.stringify({ username: 'app', password: 'pw-CANARY-1' }),
  'app/cfg': JSON.stringify({ url: 'https://x.test', token: 'tok-CANARY-1' }),
};

const secrets = defineSecrets({
  a: 'app/a',
  b: 'app/b',
  c: 'app/c',
  db: { id: 'app/db', format: 'json' },
  cfg: { id: 'app/cfg', format: 'json', schema: z.object({ url: z.string().url(), token: z.string().min(8) }) },
});

let emu: Emulator;
const stores: SecretStore<any>[] = [];
const log = recordingLogger();

function store(options: Partial<SecretStoreOptions> = {}): SecretStore<typeof secrets> {
  const s = new SecretStore(secrets, {
    source: awsSecretsManager({ client: emulatorClient(emu) }),
    refreshInterval: false,
    backoff: { initial: 50, max: 250 },
    logger: log,
    ...options,
  });
  stores.push(s);
  return s;
}

beforeEach(async () => {
  emu = await startEmulator({ seed });
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  destroyClients();
  await emu.close();
});
afterAll(() => {
  // Logger lines are also scanned by the global canary scan; this makes the check explicit here.
  expect(log.lines.join('\n')).not.toContain('CANARY');
});

describe('throttling storm at boot', () => {
  it('boots within bootTimeout through a storm throttling 95% of calls', async () => {
    // The first 4 calls are always throttled (else a lucky 5% first call would skip the storm).
    emu.injectFault({ error: 'ThrottlingException', times: 4 });
    emu.injectFault({ error: 'ThrottlingException', probability: 0.95 });
    const stormEnds = setTimeout(() => emu.clearFaults(), 1_500);
    const s = store({ bootTimeout: 5_000 });
    const { ms, error } = await timed(() => s.load());
    clearTimeout(stormEnds);
    expect(error).toBeUndefined();
    expect(ms).toBeLessThan(5_000);
    expect(emu.throttled()).toBeGreaterThanOrEqual(4);
    expect(s.get('a')).toBe('a-CANARY-1');
    expect(s.get('cfg').token).toBe('tok-CANARY-1');
    expect(s.health().status).toBe('up');
    expect(s.stats().throttles).toBeGreaterThan(0);
  });

  it('fails in bounded time with a SecretsLoadError naming only the throttled secrets when the storm outlasts bootTimeout', async () => {
    emu.injectFault({ secretId: 'app/a', error: 'ThrottlingException' });
    emu.injectFault({ secretId: 'app/b', error: 'ThrottlingException' });
    const s = store({ bootTimeout: 1_000 });
    const { ms, error } = await timed(() => s.load());
    expect(error).toBeInstanceOf(SecretsLoadError);
    const e = error as SecretsLoadError;
    expect(e.code).toBe('SECRETS_LOAD_FAILED');
    expect(e.failures.map((f) => [f.name, f.code])).toEqual([
      ['a', 'ThrottlingException'],
      ['b', 'ThrottlingException'],
    ]);
    expect(e.message).toMatch(/\ba \(id "app\/a"\): ThrottlingException/);
    expect(e.message).toMatch(/\bb \(id "app\/b"\): ThrottlingException/);
    expect(e.message).not.toContain('CANARY');
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(1_000 + 700);
    expect(s.health().secrets.c?.status).toBe('fresh');
    expect(s.health().status).toBe('down');
  });
});

describe('5xx bursts, latency spikes and hung connections', () => {
  it('boots through a burst of 500 and 503 answers', async () => {
    emu.injectFault({ error: 'InternalServiceError', status: 500, times: 4 });
    emu.injectFault({ error: 'ServiceUnavailable', status: 503, times: 4 });
    const s = store({ bootTimeout: 3_000 });
    const { ms, error } = await timed(() => s.load());
    expect(error).toBeUndefined();
    expect(ms).toBeLessThan(3_000);
    expect(emu.calls().total).toBeGreaterThan(8);
    expect(s.get('b')).toBe('b-CANARY-1');
  });

  it('keeps serving through a 5xx burst during refresh and recovers on the next refresh', async () => {
    const s = store({ minRefreshInterval: 0 });
    await s.load();
    emu.putSecret('app/a', 'a-CANARY-2');
    emu.injectFault({ error: 'InternalServiceError', status: 500 });
    await expect(s.refresh()).resolves.toBeUndefined();
    expect(s.get('a')).toBe('a-CANARY-1');
    expect(s.health().secrets.a).toMatchObject({ status: 'error', error: 'InternalServiceError' });
    emu.clearFaults();
    await s.refresh();
    expect(s.get('a')).toBe('a-CANARY-2');
    expect(s.health().secrets.a).toMatchObject({ status: 'fresh' });
    expect(s.health().secrets.a?.error).toBeUndefined();
  });

  it('absorbs latency spikes shorter than the request timeout', async () => {
    emu.injectFault({ latencyMs: 300, times: 3 });
    const s = store({ bootTimeout: 3_000 });
    const { ms, error } = await timed(() => s.load());
    expect(error).toBeUndefined();
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(3_000);
  });

  it('fails boot at bootTimeout, not later, when every answer is slower than the request timeout', async () => {
    emu.injectFault({ latencyMs: 900 });
    const s = store({ bootTimeout: 1_200 });
    const { ms, error } = await timed(() => s.load());
    expect(error).toBeInstanceOf(SecretsLoadError);
    expect((error as SecretsLoadError).failures.map((f) => f.code)).toEqual(Array(5).fill('TimeoutError'));
    expect(ms).toBeLessThan(1_200 + 600);
  });

  it('fails boot at bootTimeout when connections hang with no response at all', async () => {
    emu.injectFault({ hang: true });
    const s = store({ bootTimeout: 1_000 });
    const { ms, error } = await timed(() => s.load());
    expect(error).toBeInstanceOf(SecretsLoadError);
    const failures = (error as SecretsLoadError).failures;
    expect(failures.map((f) => f.name)).toEqual(['a', 'b', 'c', 'db', 'cfg']);
    expect(new Set(failures.map((f) => f.code))).toEqual(new Set(['TimeoutError']));
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(1_000 + 600);
  });

  it('ends a refresh against hung connections within fetchTimeout and keeps the last good values', async () => {
    const s = store({ fetchTimeout: 800, minRefreshInterval: 0 });
    await s.load();
    emu.injectFault({ hang: true });
    const { ms, error } = await timed(() => s.refresh());
    expect(error).toBeUndefined();
    expect(ms).toBeLessThan(800 + 500);
    expect(s.get('db')).toEqual({ username: 'app', password: 'pw-CANARY-1' });
    expect(s.health().secrets.db).toMatchObject({ status: 'error', error: 'TimeoutError' });
    emu.clearFaults();
    await s.refresh();
    expect(s.health().secrets.db?.status).toBe('fresh');
  });
});

describe('close() during a fault', () => {
  it('rejects a boot stuck on hung connections with SecretsStoreClosedError as soon as the store closes', async () => {
    emu.injectFault({ hang: true });
    const s = store({ bootTimeout: 10_000 });
    const loading = timed(() => s.load());
    await sleep(100);
    await s.close();
    const { ms, error } = await loading;
    expect(error).toMatchObject({ name: 'SecretsStoreClosedError', code: 'SECRETS_STORE_CLOSED' });
    expect(ms).toBeLessThan(600);
  });
});

describe('outage during refresh (emulator stopped), then restored', () => {
  it('serves the last good values, turns degraded after maxStaleness, and recovers within one backoff period', async () => {
    const events: SecretsEvent[] = [];
    const backoffMax = 200;
    const maxStaleness = 300;
    // Staleness counts from the last good answer, which came up to a refresh interval before the
    // pause (and the pause itself takes a while): the bounds below are measured from that answer.
    // The SDK resolves it before the store reads its clock for it, so `lastAnswerAt` is never
    // later than the store's own time of the good value.
    const client = emulatorClient(emu);
    let lastAnswerAt = 0;
    client.middlewareStack.add(
      (next) => async (args) => {
        const out = await next(args);
        lastAnswerAt = performance.now();
        return out;
      },
      { step: 'initialize' },
    );
    const s = store({
      source: awsSecretsManager({ client }),
      refreshInterval: 100,
      refreshJitter: 0,
      maxStaleness,
      backoff: { initial: 50, max: backoffMax },
    });
    let firstFailure: { status: string; sinceGood: number } | undefined;
    let staleAt = 0;
    s.onEvent((e) => {
      events.push(e);
      if (e.type === 'refresh-failed' && !firstFailure)
        firstFailure = { status: s.health().status, sinceGood: performance.now() - lastAnswerAt };
      if (e.type === 'became-stale' && !staleAt) staleAt = performance.now();
    });
    await s.load();
    const cfg = s.get('cfg');
    await emu.pause();
    emu.putSecret('app/c', 'c-CANARY-2'); // rotated during the outage, seen after it
    // Before maxStaleness: still up, values unchanged, errors recorded (health read as the first
    // failure lands, not some polling steps later).
    await waitFor(() => s.health().secrets.a?.error !== undefined, 1_000, 'the first failed refresh');
    // The first retry is due a refresh interval after the last good answer, well inside
    // maxStaleness: up. (Only a timer held back past maxStaleness by a stalled machine makes it
    // legitimately degraded already; health follows the age either way.)
    expect(firstFailure!.status).toBe(firstFailure!.sinceGood > maxStaleness ? 'degraded' : 'up');
    expect(s.get('a')).toBe('a-CANARY-1');
    // After maxStaleness: degraded, each secret stale with the network error code, values still served.
    await waitFor(() => s.health().status === 'degraded', 1_500, 'degraded health');
    await waitFor(() => events.filter((e) => e.type === 'became-stale').length === 5, 200, 'became-stale events');
    // Not before maxStaleness after the last good answer.
    expect(staleAt - lastAnswerAt).toBeGreaterThan(maxStaleness);
    const h = s.health();
    for (const name of s.names) {
      expect(h.secrets[name]).toMatchObject({ status: 'stale', error: 'ECONNREFUSED' });
    }
    expect(s.get('cfg')).toBe(cfg);
    expect(s.get('c')).toBe('c-CANARY-1');
    expect(events.filter((e) => e.type === 'became-stale').length).toBe(5);
    await sleep(300); // a longer outage: backoff keeps retrying but is capped

    await emu.resume();
    const resumedAt = performance.now();
    await waitFor(() => s.health().status === 'up' && s.get('c') === 'c-CANARY-2', 2_000, 'recovery');
    const recoveryMs = performance.now() - resumedAt;
    // One backoff period (capped at min(backoff.max, refreshInterval) while refreshing) plus request time.
    expect(recoveryMs).toBeLessThan(backoffMax + 250);
    expect(
      events
        .filter((e) => e.type === 'recovered')
        .map((e) => (e as { name: string }).name)
        .sort(),
    ).toEqual(['a', 'b', 'c', 'cfg', 'db']);
    expect(s.health().secrets.c).toMatchObject({ status: 'fresh', ageSeconds: 0 });
  });
});

describe('per-secret failures while the app runs', () => {
  it('keeps the last good value of a deleted, denied, undecryptable or invalid secret while the others keep refreshing', async () => {
    const s = store({ minRefreshInterval: 0 });
    await s.load();
    emu.deleteSecret('app/a', { force: true });
    emu.injectFault({
      operation: 'BatchGetSecretValue',
      secretId: 'app/b',
      error: 'AccessDeniedException',
      perSecret: true,
    });
    emu.injectFault({
      operation: 'BatchGetSecretValue',
      secretId: 'app/db',
      error: 'DecryptionFailure',
      perSecret: true,
    });
    emu.putSecret('app/cfg', JSON.stringify({ url: 'not a url', token: 'short-CANARY' }));
    emu.putSecret('app/c', 'c-CANARY-2');

    await s.refresh();
    expect(s.get('a')).toBe('a-CANARY-1');
    expect(s.get('b')).toBe('b-CANARY-1');
    expect(s.get('db')).toEqual({ username: 'app', password: 'pw-CANARY-1' });
    expect(s.get('cfg')).toEqual({ url: 'https://x.test', token: 'tok-CANARY-1' });
    expect(s.get('c')).toBe('c-CANARY-2');
    const h = s.health();
    expect(h.secrets).toMatchObject({
      a: { status: 'error', error: 'ResourceNotFoundException' },
      b: { status: 'error', error: 'AccessDeniedException' },
      db: { status: 'error', error: 'DecryptionFailure' },
      cfg: { status: 'error', error: 'SECRET_VALIDATION_FAILED' },
      c: { status: 'fresh' },
    });
    expect(JSON.stringify(h)).not.toContain('CANARY');

    // The healthy secret keeps rotating; the failing ones keep their last good value and error.
    emu.putSecret('app/c', 'c-CANARY-3');
    await s.refresh();
    expect(s.get('c')).toBe('c-CANARY-3');
    expect(s.get('cfg').token).toBe('tok-CANARY-1');
    expect(s.health().secrets.cfg?.error).toBe('SECRET_VALIDATION_FAILED');

    // A fixed version of the invalid secret is picked up.
    emu.putSecret('app/cfg', JSON.stringify({ url: 'https://y.test', token: 'tok-CANARY-2' }));
    emu.clearFaults();
    await s.refresh();
    expect(s.get('cfg').token).toBe('tok-CANARY-2');
    expect(s.get('db')).toEqual({ username: 'app', password: 'pw-CANARY-1' });
    expect(s.health().secrets).toMatchObject({
      cfg: { status: 'fresh' },
      b: { status: 'fresh' },
      db: { status: 'fresh' },
    });
    expect(s.health().secrets.a?.error).toBe('ResourceNotFoundException');
  });

  it('reports a secret scheduled for deletion (InvalidRequestException) without dropping its value', async () => {
    const s = store({ minRefreshInterval: 0 });
    await s.load();
    emu.deleteSecret('app/b');
    await s.refresh('b');
    expect(s.get('b')).toBe('b-CANARY-1');
    expect(s.health().secrets.b).toMatchObject({ status: 'error', error: 'InvalidRequestException' });
  });
});
