import { Writable } from 'node:stream';
import pino from 'pino';
import { defineSecrets, memorySource, SecretStore, type SecretsEvent, type SecretStoreOptions } from '@hush/core';
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

  it('warns once per secret when load() retries through throttling, without claiming a last good value', async () => {
    const { source, store, logger, events } = setup({ backoff: { initial: 5 } });
    source.fail('*', 'ThrottlingException', { times: 3 });
    await store.load();
    // More failed attempts than warnings: retries inside one streak stay quiet.
    expect(events.filter((e) => e.type === 'refresh-failed').length).toBeGreaterThan(3);
    expect(logger.at('warn').sort()).toEqual([
      'Loading secret "apiKey" failed (ThrottlingException)',
      'Loading secret "db" failed (ThrottlingException)',
      'Loading secret "dbUser" failed (ThrottlingException)',
    ]);
    // A successful load after failures is the load itself, not a recovery.
    expect(logger.at('info')).toEqual([expect.stringMatching(/^Loaded 3 secrets in \d+ ms$/)]);
    await store.close();
    expectNoValues(logger.records, events);
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
