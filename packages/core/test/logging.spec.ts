import { Console } from 'node:console';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import {
  awsSecretsManager,
  defineSecrets,
  memorySource,
  SecretsConfigError,
  SecretsLoadError,
  SecretStore,
  type SecretsEvent,
  type SecretStoreOptions,
} from '@hush/core';
import { recordingLogger } from '../../../test/support';

const secrets = defineSecrets({
  db: { id: 'prod/app/db', format: 'json' },
  dbUser: { id: 'prod/app/db', key: 'username' },
  apiKey: 'prod/app/api-key',
});

function setup(options: Partial<SecretStoreOptions> = {}) {
  const source = memorySource({
    'prod/app/db': { username: 'app', password: 'pw-CANARY-log-1' },
    'prod/app/api-key': 'key-CANARY-log-1',
  });
  const logger = recordingLogger();
  const store = new SecretStore(secrets, {
    source,
    logger,
    refreshInterval: false,
    minRefreshInterval: 0,
    meterProvider: false,
    ...options,
  });
  const events: SecretsEvent[] = [];
  store.onEvent((e) => events.push(e));
  return { source, store, logger, events };
}

/** No value in any line or event: the canary never appears. */
function expectNoValues(...things: unknown[]): void {
  for (const thing of things) expect(JSON.stringify(thing)).not.toContain('CANARY');
}

describe('lifecycle events and log lines', () => {
  it('logs the load and each rotation at info, with names and versions only', async () => {
    const { source, store, logger, events } = setup();
    await store.load();
    const v2 = source.set('prod/app/db', { username: 'app', password: 'pw-CANARY-log-2' });
    await store.refresh('db');

    expect(logger.at('info')).toEqual([
      expect.stringMatching(/^Loaded 3 secrets in \d+ ms$/),
      `Secret "db" rotated to version ${v2.slice(0, 8)}`,
      `Secret "dbUser" rotated to version ${v2.slice(0, 8)}`,
    ]);
    expect(logger.at('warn')).toEqual([]);
    expect(logger.records.find((l) => l.message.startsWith('Secret "db" rotated'))?.fields).toEqual({
      event: 'rotated',
      secret: 'db',
      version: v2,
      previousVersion: expect.any(String),
    });
    expect(events.filter((e) => e.type !== 'fetched').map((e) => [e.type, 'name' in e ? e.name : undefined])).toEqual([
      ['loaded', undefined],
      ['rotated', 'db'],
      ['rotated', 'dbUser'],
      ['refreshed', 'db'],
      ['refreshed', 'dbUser'],
    ]);
    await store.close();
    expect(events.at(-1)).toEqual({ type: 'closed' });
    expectNoValues(logger.records, events);
  });

  it('warns once per failure streak, not once per retry, and logs the recovery at info', async () => {
    const { source, store, logger, events } = setup();
    await store.load();
    source.fail('prod/app/api-key', 'InternalServiceError');
    for (let i = 0; i < 3; i++) await store.refresh('apiKey');

    expect(events.filter((e) => e.type === 'refresh-failed')).toEqual(
      [1, 2, 3].map((failures) => ({
        type: 'refresh-failed',
        name: 'apiKey',
        code: 'InternalServiceError',
        message: expect.any(String),
        failures,
      })),
    );
    expect(logger.at('warn')).toEqual([
      'Refreshing secret "apiKey" failed (InternalServiceError); serving the last good value',
    ]);
    expect(logger.records.find((l) => l.level === 'warn')?.fields).toEqual({
      event: 'refresh-failed',
      secret: 'apiKey',
      code: 'InternalServiceError',
    });

    source.recover();
    await store.refresh('apiKey');
    expect(logger.at('info').slice(1)).toEqual(['Secret "apiKey" recovered']);
    expect(events.filter((e) => e.type === 'recovered')).toEqual([
      { type: 'recovered', name: 'apiKey', version: expect.any(String) },
    ]);

    // A new streak warns again, once.
    source.fail('prod/app/api-key', 'ThrottlingException');
    await store.refresh('apiKey');
    await store.refresh('apiKey');
    expect(logger.at('warn')).toEqual([
      'Refreshing secret "apiKey" failed (InternalServiceError); serving the last good value',
      'Refreshing secret "apiKey" failed (ThrottlingException); serving the last good value',
    ]);
    await store.close();
    expectNoValues(logger.records, events);
  });

  it('writes one line when load() has to retry, naming what it waits for and until when, not one per secret', async () => {
    const { source, store, logger, events } = setup({ backoff: { initial: 5 } });
    source.fail('*', 'ThrottlingException', { times: 3 });
    const before = Date.now();
    await store.load();
    // More failed attempts than lines: the boot writes one line, whatever the number of rounds.
    expect(events.filter((e) => e.type === 'refresh-failed').length).toBeGreaterThan(3);
    expect(logger.at('warn')).toEqual([
      expect.stringMatching(
        /^Waiting for secrets "db", "dbUser", "apiKey" from memory: ThrottlingException; retrying until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \(bootTimeout 30 s\)$/,
      ),
    ]);
    const fields = logger.records.find((r) => r.level === 'warn')!.fields;
    expect(fields).toEqual({
      event: 'load-retrying',
      secrets: ['db', 'dbUser', 'apiKey'],
      codes: ['ThrottlingException'],
      source: 'memory',
      bootTimeoutMs: 30_000,
      until: expect.any(String),
    });
    // Until: the start plus bootTimeout.
    const until = Date.parse(fields['until'] as string);
    expect(until).toBeGreaterThanOrEqual(before + 30_000 - 1_000);
    expect(until).toBeLessThanOrEqual(Date.now() + 30_000);
    // A successful load after failures is the load itself, not a recovery.
    expect(logger.at('info')).toEqual([expect.stringMatching(/^Loaded 3 secrets in \d+ ms$/)]);
    await store.close();
    expectNoValues(logger.records, events);
  });

  it('logs a missing optional secret once, at info (expected: e.g. AWSPENDING outside a rotation)', async () => {
    const source = memorySource({ 'prod/app/db': { username: 'app', password: 'pw-CANARY-log-1' } });
    const logger = recordingLogger();
    const store = new SecretStore(
      defineSecrets({ db: { id: 'prod/app/db', format: 'json' }, pending: { id: 'prod/app/next', optional: true } }),
      { source, logger, refreshInterval: false, meterProvider: false },
    );
    await store.load();
    expect(logger.at('warn')).toEqual([]);
    expect(logger.at('info')).toEqual([
      'Optional secret "pending" is missing: ResourceNotFoundException',
      expect.stringMatching(/^Loaded 2 secrets in \d+ ms$/),
    ]);
    await store.close();
    expectNoValues(logger.records);
  });

  it('warns once about an optional secret that failed for another reason than not existing', async () => {
    const source = memorySource({ 'prod/app/next': 'pw-CANARY-log-1' });
    source.fail('prod/app/next', 'AccessDeniedException');
    const logger = recordingLogger();
    const store = new SecretStore(defineSecrets({ pending: { id: 'prod/app/next', optional: true } }), {
      source,
      logger,
      refreshInterval: false,
      meterProvider: false,
    });
    await store.load();
    expect(logger.at('warn')).toEqual(['Optional secret "pending" is missing: AccessDeniedException']);
    await store.close();
    expectNoValues(logger.records);
  });

  it('warns when a secret becomes stale', async () => {
    const { store, logger, events } = setup({ maxStaleness: 30, refreshInterval: '1h' });
    const stale = new Promise<void>((resolve) =>
      store.onEvent((e) => e.type === 'became-stale' && e.name === 'apiKey' && resolve()),
    );
    await store.load();
    await stale;
    expect(logger.at('warn').sort()).toEqual([
      expect.stringMatching(/^Secret "apiKey" is stale \(\d+ s since the last good fetch\)$/),
      expect.stringMatching(/^Secret "db" is stale/),
      expect.stringMatching(/^Secret "dbUser" is stale/),
    ]);
    expect(store.health().status).toBe('degraded');
    await store.close();
    expectNoValues(logger.records, events);
  });

  it('warns once for a version that fails to parse, and logs the rotation and recovery when a good one lands', async () => {
    const { source, store, logger, events } = setup();
    await store.load();
    const bad = source.set('prod/app/db', 'not-json-CANARY');
    await store.refresh('db');
    await store.refresh('db');
    expect(logger.at('warn')).toEqual([
      'Refreshing secret "db" failed (SECRET_PARSE_FAILED:INVALID_JSON); serving the last good value',
      'Refreshing secret "dbUser" failed (SECRET_PARSE_FAILED:INVALID_JSON); serving the last good value',
    ]);
    expect(store.health().secrets['db']).toMatchObject({ status: 'error', error: 'SECRET_PARSE_FAILED:INVALID_JSON' });
    // A version that failed to parse is not a successful refresh of that secret.
    expect(events.filter((e) => e.type === 'refreshed' && e.version === bad)).toEqual([]);

    const good = source.set('prod/app/db', { username: 'app', password: 'pw-CANARY-log-3' });
    await store.refresh('db');
    expect(logger.at('info').slice(1)).toEqual([
      `Secret "db" rotated to version ${good.slice(0, 8)}`,
      `Secret "dbUser" rotated to version ${good.slice(0, 8)}`,
      'Secret "db" recovered',
      'Secret "dbUser" recovered',
    ]);
    expect(store.health().secrets['db']?.status).toBe('fresh');
    await store.close();
    expectNoValues(logger.records, events);
  });

  it('writes structured pino lines (fields first, component hush) at the same levels', async () => {
    const out: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean))
          out.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const { source, store } = setup({ logger: pino({ level: 'debug' }, stream) });
    await store.load();
    source.set('prod/app/api-key', 'key-CANARY-log-2');
    await store.refresh('apiKey');
    source.fail('prod/app/api-key', 'AccessDeniedException');
    await store.refresh('apiKey');
    await store.refresh('apiKey');
    await store.close();

    const lifecycle = out.filter((l) => l['event'] !== 'fetched' && l['event'] !== 'refreshed');
    expect(lifecycle.map((l) => [l['level'], l['event'], l['secret']])).toEqual([
      [30, 'loaded', undefined],
      [30, 'rotated', 'apiKey'],
      [40, 'refresh-failed', 'apiKey'],
      [20, 'closed', undefined],
    ]);
    expect(out.every((l) => l['component'] === 'hush')).toBe(true);
    expect(lifecycle[2]).toMatchObject({ code: 'AccessDeniedException', msg: expect.stringContaining('"apiKey"') });
    expect(out.filter((l) => l['event'] === 'fetched')).toHaveLength(4);
    expectNoValues(out);
  });
});

/** A `console` of its own (node:console), writing to a buffer: what `logger: console` prints. */
function capturedConsole(): { console: Console; writes: string[] } {
  const writes: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      writes.push(chunk.toString());
      done();
    },
  });
  return { console: new Console({ stdout: stream, stderr: stream }), writes };
}

describe('logger: console (a logger without levels)', () => {
  it('gets info and above, one line per event: no debug records, no fields objects', async () => {
    const { console: out, writes } = capturedConsole();
    const { source, store, events } = setup({ logger: out });
    await store.load();
    const v2 = source.set('prod/app/db', { username: 'app', password: 'pw-CANARY-log-2' });
    await store.refresh();
    source.fail('prod/app/api-key', 'InternalServiceError');
    await store.refresh('apiKey');
    await store.close();

    expect(writes).toEqual([
      expect.stringMatching(/^Loaded 3 secrets in \d+ ms\n$/),
      `Secret "db" rotated to version ${v2.slice(0, 8)}\n`,
      `Secret "dbUser" rotated to version ${v2.slice(0, 8)}\n`,
      'Refreshing secret "apiKey" failed (InternalServiceError); serving the last good value\n',
    ]);
    // The events (fetched, refreshed, closed…) still reach listeners.
    expect(events.filter((e) => e.type === 'fetched').length).toBeGreaterThanOrEqual(3);
    expectNoValues(writes, events);
  });
});

describe('the name option', () => {
  it('is carried by every log line (a store field; a [name] prefix on console) and by health()', async () => {
    const logger = recordingLogger();
    const { source, store } = setup({ name: 'payments', logger });
    await store.load();
    source.set('prod/app/api-key', 'key-CANARY-log-2');
    await store.refresh('apiKey');
    expect(logger.records.length).toBeGreaterThanOrEqual(2);
    for (const record of logger.records) expect(record.fields['store']).toBe('payments');
    expect(store.name).toBe('payments');
    expect(store.health()).toMatchObject({ name: 'payments', status: 'up' });
    await store.close();

    const { console: out, writes } = capturedConsole();
    const second = setup({ name: 'orders', logger: out });
    await second.store.load();
    await second.store.close();
    expect(writes).toEqual([expect.stringMatching(/^\[orders\] Loaded 3 secrets in \d+ ms\n$/)]);

    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const third = setup({ name: 'ledger', logger: pino({ level: 'debug' }, stream) });
    await third.store.load();
    await third.store.close();
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) expect(line).toMatchObject({ component: 'hush', store: 'ledger' });
  });

  it('an unnamed store logs and reports as before: no store field, no name in health', async () => {
    const { store, logger } = setup();
    await store.load();
    expect(logger.records.every((r) => !('store' in r.fields))).toBe(true);
    expect(store.name).toBeUndefined();
    expect('name' in store.health()).toBe(false);
    await store.close();
  });

  it.each([
    ['empty', ''],
    ['a space', 'pay ments'],
    ['a newline', 'pay\nments'],
    ['a quote', 'pay"ments'],
    ['non-ASCII', 'zahlungsverkehr-ü'],
    ['65 characters', 'x'.repeat(65)],
    ['a number', 42],
  ])('refuses a name with %s, naming the option', (_, name) => {
    const build = () =>
      new SecretStore(secrets, { source: memorySource({}), name: name as string, meterProvider: false });
    expect(build).toThrow(SecretsConfigError);
    expect(build).toThrow(/SecretStore\.name.*1 to 64 letters, digits or \. _ : \/ -/);
  });
});

describe('a boot that cannot reach the source', () => {
  it('says on the first failed round what it waits for (names, endpoint, code) and until when, once', async () => {
    // A port nothing listens on: connections are refused at once.
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as AddressInfo;
        probe.close(() => resolve(free));
      });
    });
    const endpoint = `http://127.0.0.1:${port}`;
    const stamped: { at: number; level: string; message: string }[] = [];
    const at = (level: string) => (message: string) => stamped.push({ at: performance.now(), level, message });
    const store = new SecretStore(secrets, {
      source: awsSecretsManager({
        region: 'us-east-1',
        endpoint,
        clientConfig: { credentials: { accessKeyId: 'test', secretAccessKey: 'test' } },
      }),
      bootTimeout: '3s',
      logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
      meterProvider: false,
    });
    const started = performance.now();
    await expect(store.load()).rejects.toBeInstanceOf(SecretsLoadError);
    const lines = stamped.filter((l) => l.level !== 'debug');
    expect(lines.map((l) => [l.level, l.message])).toEqual([
      [
        'warn',
        expect.stringMatching(
          new RegExp(
            `^Waiting for secrets "db", "dbUser", "apiKey" from aws-secrets-manager \\(${endpoint.replace(/\./g, '\\.')}\\): ECONNREFUSED; retrying until \\S+Z \\(bootTimeout 3 s\\)$`,
          ),
        ),
      ],
    ]);
    // Early: after the first round, not at the end of bootTimeout.
    expect(lines[0]!.at - started).toBeLessThan(2_000);
    await store.close();
  }, 30_000);

  it('says so during a first round that gets no answer (a hung endpoint), not only when bootTimeout ends', async () => {
    // Accepts connections and never answers: the first round can last the whole bootTimeout.
    const sockets = new Set<Socket>();
    const hung = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(hung.address() as AddressInfo).port}`;
    const stamped: { at: number; level: string; message: string }[] = [];
    const at = (level: string) => (message: string) => stamped.push({ at: performance.now(), level, message });
    const store = new SecretStore(secrets, {
      source: awsSecretsManager({
        region: 'us-east-1',
        endpoint,
        clientConfig: { credentials: { accessKeyId: 'test', secretAccessKey: 'test' } },
      }),
      bootTimeout: '3s',
      logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
      meterProvider: false,
    });
    const started = performance.now();
    try {
      await expect(store.load()).rejects.toBeInstanceOf(SecretsLoadError);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => hung.close(resolve));
    }
    const lines = stamped.filter((l) => l.level !== 'debug');
    expect(lines.map((l) => [l.level, l.message])).toEqual([
      [
        'warn',
        expect.stringMatching(
          /^Waiting for secrets "db", "dbUser", "apiKey" from aws-secrets-manager \(http:\/\/127\.0\.0\.1:\d+\): no answer yet; trying until \S+Z \(bootTimeout 3 s\)$/,
        ),
      ],
    ]);
    // After bootTimeout / 3 (1 s) of silence, well before the 3 s deadline.
    expect(lines[0]!.at - started).toBeGreaterThanOrEqual(900);
    expect(lines[0]!.at - started).toBeLessThan(2_500);
    await store.close();
  }, 30_000);
});
