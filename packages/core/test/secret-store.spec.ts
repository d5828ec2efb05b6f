import { getMaxListeners } from 'node:events';
import { inspect } from 'node:util';
import { z } from 'zod';
import {
  defineSecrets,
  memorySource,
  Secret,
  SecretNotFoundError,
  SecretNotLoadedError,
  SecretsConfigError,
  SecretsLoadError,
  SecretStore,
  SecretsStoreClosedError,
  type SecretsEvent,
  type Source,
} from '@hush/core';
import { recordingLogger } from '../../../test/support';

const DB = { username: 'app', password: 'pw-CANARY-db-1', host: 'db.internal' };

const secrets = defineSecrets({
  db: {
    id: 'prod/app/db',
    format: 'json',
    schema: z.object({ username: z.string(), password: z.string(), host: z.string() }),
  },
  dbUser: { id: 'prod/app/db', key: 'username' },
  apiKey: 'prod/app/api-key',
  legacy: { id: 'prod/app/legacy', optional: true },
});

function setup(options: Partial<ConstructorParameters<typeof SecretStore>[1]> = {}) {
  const source = memorySource({ 'prod/app/db': DB, 'prod/app/api-key': 'key-CANARY-1' });
  const logger = recordingLogger();
  const store = new SecretStore(secrets, { source, refreshInterval: 60_000, logger, ...options });
  return { source, store, logger };
}

describe('SecretStore', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  describe('load', () => {
    it('loads every declared secret, fetching a shared id once', async () => {
      const { source, store } = setup();
      await store.load();
      expect(store.get('db')).toEqual(DB);
      expect(store.get('dbUser')).toBe('app');
      expect(store.get('apiKey')).toBe('key-CANARY-1');
      expect(store.get('legacy')).toBeUndefined();
      // db and dbUser share prod/app/db: 3 distinct ids, one fetch call.
      expect(source.fetchCalls).toBe(1);
      expect(store.stats().calls).toEqual({ GetSecretValue: 3 });
      await store.close();
    });

    it('aggregates every failing required secret in one SecretsLoadError', async () => {
      const source = memorySource({});
      const store = new SecretStore(secrets, { source, bootTimeout: 200 });
      const error = await store.load().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SecretsLoadError);
      const loadError = error as SecretsLoadError;
      expect(loadError.code).toBe('SECRETS_LOAD_FAILED');
      expect(loadError.failures.map((f) => f.name).sort()).toEqual(['apiKey', 'db', 'dbUser']);
      expect(loadError.failures.every((f) => f.code === 'ResourceNotFoundException')).toBe(true);
      expect(loadError.message).toContain('db');
      expect(loadError.message).toContain('prod/app/api-key');
      await store.close();
    });

    it('retries transient failures until they clear, within bootTimeout', async () => {
      const { source, store } = setup({ backoff: { initial: 5 } });
      source.fail('*', 'ThrottlingException', { times: 6 });
      await store.load();
      expect(store.get('apiKey')).toBe('key-CANARY-1');
      expect(source.fetchCalls).toBeGreaterThan(1);
      await store.close();
    });

    it('fails in bounded time when throttling outlasts bootTimeout, naming the throttled secrets', async () => {
      const { source, store } = setup({ bootTimeout: 150, backoff: { initial: 10 } });
      source.fail('*', 'ThrottlingException');
      const started = Date.now();
      const error = (await store.load().catch((e: unknown) => e)) as SecretsLoadError;
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(error).toBeInstanceOf(SecretsLoadError);
      expect(error.failures.map((f) => f.code)).toEqual([
        'ThrottlingException',
        'ThrottlingException',
        'ThrottlingException',
      ]);
      await store.close();
    });

    it('does not grow the boot backoff while rounds make progress (a pod under a shared quota keeps its place)', async () => {
      const five = defineSecrets({ a: 'p/a', b: 'p/b', c: 'p/c', d: 'p/d', e: 'p/e' });
      const source = memorySource({
        'p/a': 'a-CANARY',
        'p/b': 'b-CANARY',
        'p/c': 'c-CANARY',
        'p/d': 'd-CANARY',
        'p/e': 'e-CANARY',
      });
      // Round k loads exactly one more secret: the others are throttled k times.
      ['p/b', 'p/c', 'p/d', 'p/e'].forEach((id, i) => source.fail(id, 'ThrottlingException', { times: i + 1 }));
      const random = jest.spyOn(Math, 'random').mockReturnValue(0.999); // every sleep = its cap
      try {
        const store = new SecretStore(five, { source, refreshInterval: false, backoff: { initial: 150 } });
        const started = performance.now();
        await store.load();
        // 4 sleeps of 150 ms; with the backoff doubling per round it would be 150 + 300 + 600 + 1200 ms.
        expect(performance.now() - started).toBeLessThan(1_500);
        expect(source.fetchCalls).toBe(5);
        expect(store.get('e')).toBe('e-CANARY');
        await store.close();
      } finally {
        random.mockRestore();
      }
    });

    it('caps one boot backoff sleep at an eighth of bootTimeout', async () => {
      const one = defineSecrets({ apiKey: 'prod/app/api-key' });
      const source = memorySource({ 'prod/app/api-key': 'key-CANARY-1' });
      source.fail('prod/app/api-key', 'ThrottlingException', { times: 3 });
      const random = jest.spyOn(Math, 'random').mockReturnValue(0.999);
      try {
        // Sleeps of 400 and 800 ms, then the deadline, uncapped; capped at 3_200 / 8 = 400 ms each.
        const store = new SecretStore(one, {
          source,
          refreshInterval: false,
          bootTimeout: 3_200,
          backoff: { initial: 400 },
        });
        const started = performance.now();
        await store.load();
        expect(performance.now() - started).toBeLessThan(1_900);
        expect(source.fetchCalls).toBe(4);
        expect(store.get('apiKey')).toBe('key-CANARY-1');
        await store.close();
      } finally {
        random.mockRestore();
      }
    });

    it('shares one load between concurrent callers', async () => {
      const { source, store } = setup();
      await Promise.all([store.load(), store.load(), store.load()]);
      expect(source.fetchCalls).toBe(1);
      await store.close();
    });

    it('reports a schema failure at load without the value', async () => {
      const source = memorySource({
        'prod/app/db': { username: 'app', password: 12345678 },
        'prod/app/api-key': 'key-CANARY-1',
      });
      const store = new SecretStore(secrets, { source });
      const error = (await store.load().catch((e: unknown) => e)) as SecretsLoadError;
      expect(error.failures.find((f) => f.name === 'db')?.code).toBe('SECRET_VALIDATION_FAILED');
      expect(error.message).toContain('$.password');
      expect(error.message).not.toContain('12345678');
      await store.close();
    });
  });

  describe('reads', () => {
    it('throws clear errors for undeclared names and reads before load', async () => {
      const { store } = setup();
      expect(() => store.get('nope' as 'db')).toThrow(SecretNotFoundError);
      expect(() => store.get('nope' as 'db')).toThrow(/Declared secrets: "db", "dbUser", "apiKey", "legacy"/);
      expect(() => store.get('db')).toThrow(SecretNotLoadedError);
      expect(() => store.handle('db').value).toThrow(SecretNotLoadedError);
      await store.close();
    });

    it('deep-freezes parsed values', async () => {
      const { store } = setup();
      await store.load();
      const db = store.get('db') as { password: string };
      expect(Object.isFrozen(db)).toBe(true);
      expect(() => {
        (db as { password: string }).password = 'x';
      }).toThrow(TypeError);
      await store.close();
    });

    it('redacts handles, the store and snapshots everywhere', async () => {
      const { store } = setup();
      await store.load();
      const handle = store.handle('db');
      expect(handle).toBeInstanceOf(Secret);
      for (const rendered of [
        `${handle}`,
        String(handle),
        JSON.stringify(handle),
        JSON.stringify({ handle }),
        inspect(handle),
        inspect(store, { depth: 10 }),
        JSON.stringify(store),
        String(store),
        JSON.stringify(store.snapshot()),
        inspect(store.snapshot()),
        `${store.snapshot()}`,
      ]) {
        expect(rendered).toContain('[redacted]');
        expect(rendered).not.toContain('CANARY');
      }
      await store.close();
    });

    it('keeps one snapshot object per generation', async () => {
      const { source, store } = setup({ minRefreshInterval: 0 });
      await store.load();
      const first = store.snapshot();
      expect(store.snapshot()).toBe(first);
      source.set('prod/app/api-key', 'key-CANARY-2');
      await store.refresh('apiKey');
      const second = store.snapshot();
      expect(second).not.toBe(first);
      expect(first.apiKey).toBe('key-CANARY-1');
      expect(second.apiKey).toBe('key-CANARY-2');
      await store.close();
    });
  });

  describe('refresh', () => {
    it('swaps a new version, notifies subscribers once, and ignores unchanged versions', async () => {
      const { source, store, logger } = setup({ minRefreshInterval: 0 });
      await store.load();
      const handle = store.handle('apiKey');
      const seen: Array<[string, string]> = [];
      store.subscribe('apiKey', (next, info) => void seen.push([next, info.version]));
      await store.refresh();
      expect(seen).toEqual([]);
      const version = source.set('prod/app/api-key', 'key-CANARY-2');
      await store.refresh();
      await store.refresh();
      expect(seen).toEqual([['key-CANARY-2', version]]);
      expect(handle.value).toBe('key-CANARY-2');
      expect(handle.version).toBe(version);
      expect(store.stats().rotations).toBe(1);
      expect(logger.lines.some((l) => l.startsWith('info Secret "apiKey" rotated'))).toBe(true);
      expect(logger.lines.join('\n')).not.toContain('CANARY');
      await store.close();
    });

    it('counts refreshes once per fetched id, a version that fails its schema as failed', async () => {
      const { source, store } = setup({ minRefreshInterval: 0 });
      await store.load();
      const loadedAt = store.handle('db').updatedAt;
      expect(loadedAt).toBeInstanceOf(Date);
      await store.refresh();
      // db and dbUser share one id: 2 fetched ids (db, api-key), both ok; legacy is missing (optional).
      expect(store.stats().refreshes).toEqual({ ok: 2, failed: 1 });
      source.set('prod/app/db', { username: 'app', password: 12345678, host: 'db.internal' });
      await store.refresh('db');
      // The db schema rejects the new version, so dbUser (same id) does not take it either: one failed refresh.
      expect(store.stats().refreshes).toEqual({ ok: 2, failed: 2 });
      expect(store.get('db')).toEqual(DB);
      expect(store.handle('db').updatedAt).toEqual(loadedAt);
      await store.close();
    });

    it('lifts the listener limit on the abort signal it shares among a round of SDK calls', async () => {
      // Node warns (MaxListenersExceededWarning) past 10 listeners on one AbortSignal; a round of
      // 200 secrets puts one per batch call, spillover call and retry on the same signal.
      const inner = memorySource({ 'prod/app/db': DB, 'prod/app/api-key': 'key-CANARY-1' });
      const limits: number[] = [];
      const source: Source = {
        kind: 'many-listeners',
        fetch: (requests, context) => {
          limits.push(getMaxListeners(context.signal));
          for (let i = 0; i < 25; i++) context.signal.addEventListener('abort', () => {});
          return inner.fetch(requests);
        },
      };
      const store = new SecretStore(secrets, { source, refreshInterval: false });
      await store.load();
      expect(limits).toEqual([Infinity]);
      expect(store.get('apiKey')).toBe('key-CANARY-1');
      await store.close();
    });

    it('a forced refresh that joined a failing fetch already in flight asks the source once more', async () => {
      const inner = memorySource({ 'prod/app/db': DB, 'prod/app/api-key': 'key-CANARY-1' });
      let hold = false;
      let release = (): void => {};
      const source: Source = {
        kind: 'gated',
        fetch: async (requests) => {
          if (hold) {
            hold = false;
            await new Promise<void>((resolve) => (release = resolve));
          }
          return inner.fetch(requests);
        },
      };
      const store = new SecretStore(secrets, { source, refreshInterval: false, minRefreshInterval: 0 });
      await store.load();
      // The fetch in flight fails (it "started before the source recovered"); the source is fine afterwards.
      hold = true;
      inner.fail('prod/app/api-key', 'InternalServiceError', { times: 1 });
      const first = store.refresh('apiKey');
      const joined = store.refresh('apiKey');
      await new Promise((resolve) => setImmediate(resolve));
      const before = inner.fetchCalls;
      release();
      await first;
      await joined;
      expect(inner.fetchCalls - before).toBe(2);
      expect(store.health().secrets.apiKey).toMatchObject({ status: 'fresh' });
      expect(store.health().secrets.apiKey).not.toHaveProperty('error');
      await store.close();
    });

    it('single flight: 200 concurrent refreshes make one source call', async () => {
      const { source, store } = setup({ minRefreshInterval: 0 });
      await store.load();
      const before = source.fetchCalls;
      await Promise.all(Array.from({ length: 200 }, () => store.refresh('apiKey')));
      expect(source.fetchCalls - before).toBe(1);
      await store.close();
    });

    it('coalesces forced refreshes inside minRefreshInterval into one delayed call', async () => {
      jest.useFakeTimers();
      const { source, store } = setup({ minRefreshInterval: 1_000 });
      await store.load();
      const before = source.fetchCalls;
      source.set('prod/app/api-key', 'key-CANARY-3');
      let settled = 0;
      const calls = Array.from({ length: 5 }, () => store.refresh('apiKey').then(() => settled++));
      await jest.advanceTimersByTimeAsync(500);
      expect(settled).toBe(0);
      expect(source.fetchCalls - before).toBe(0);
      await jest.advanceTimersByTimeAsync(600);
      await Promise.all(calls);
      expect(settled).toBe(5);
      expect(source.fetchCalls - before).toBe(1);
      expect(store.get('apiKey')).toBe('key-CANARY-3');
      await store.close();
    });

    it('refreshes in the background on a jittered interval, batching all secrets in one call', async () => {
      jest.useFakeTimers();
      const { source, store } = setup({ refreshInterval: 10_000 });
      await store.load();
      const version = source.set('prod/app/api-key', 'key-CANARY-4');
      const before = source.fetchCalls;
      await jest.advanceTimersByTimeAsync(8_900);
      expect(source.fetchCalls).toBe(before);
      await jest.advanceTimersByTimeAsync(2_200);
      expect(source.fetchCalls).toBe(before + 1);
      expect(store.handle('apiKey').version).toBe(version);
      await store.close();
    });

    it('keeps the last good value through failures, goes degraded after maxStaleness, and recovers', async () => {
      jest.useFakeTimers();
      const { source, store } = setup({
        refreshInterval: 1_000,
        maxStaleness: 5_000,
        backoff: { initial: 100, max: 1_000 },
      });
      const events: SecretsEvent[] = [];
      store.onEvent((e) => events.push(e));
      await store.load();
      source.fail('prod/app/api-key', 'InternalServiceError');
      await jest.advanceTimersByTimeAsync(3_000);
      expect(store.get('apiKey')).toBe('key-CANARY-1');
      expect(store.health().status).toBe('up');
      expect(store.health().secrets['apiKey']).toMatchObject({ status: 'error', error: 'InternalServiceError' });
      await jest.advanceTimersByTimeAsync(3_000);
      expect(store.health().status).toBe('degraded');
      expect(store.health().secrets['apiKey']).toMatchObject({ status: 'stale', error: 'InternalServiceError' });
      expect(store.health().secrets['db']?.status).toBe('fresh');
      expect(events.some((e) => e.type === 'became-stale' && e.name === 'apiKey')).toBe(true);
      source.recover();
      await jest.advanceTimersByTimeAsync(1_100);
      expect(store.health().status).toBe('up');
      expect(store.health().secrets['apiKey']?.status).toBe('fresh');
      expect(events.some((e) => e.type === 'recovered' && e.name === 'apiKey')).toBe(true);
      expect(JSON.stringify(store.health())).not.toContain('CANARY');
      await store.close();
    });

    it('never replaces a good value with one that fails parsing or validation', async () => {
      const { source, store } = setup({ minRefreshInterval: 0 });
      await store.load();
      source.set('prod/app/db', '{"username": "app", "password": ');
      await store.refresh('db');
      expect(store.get('db')).toEqual(DB);
      expect(store.get('dbUser')).toBe('app');
      expect(store.health().secrets['db']).toMatchObject({
        status: 'error',
        error: 'SECRET_PARSE_FAILED:INVALID_JSON',
      });
      source.set('prod/app/db', { username: 'app2', password: 'pw-CANARY-db-2', host: 'h' });
      await store.refresh('db');
      expect(store.get('dbUser')).toBe('app2');
      expect(store.health().secrets['db']?.status).toBe('fresh');
      await store.close();
    });

    it('a forced refresh settles even when background refresh runs more often than minRefreshInterval', async () => {
      const source = memorySource({ a: 'a-CANARY' });
      const store = new SecretStore(defineSecrets({ a: 'a' }), { source, refreshInterval: 100, refreshJitter: 0 });
      await store.load();
      await new Promise((r) => setTimeout(r, 150));
      let timer: NodeJS.Timeout | undefined;
      const hung = new Promise((r) => (timer = setTimeout(() => r('hung'), 3_000)));
      const settled = await Promise.race([store.refresh().then(() => 'settled'), hung]);
      clearTimeout(timer);
      expect(settled).toBe('settled');
      await store.close();
    });

    it('swaps every secret of one refresh together, even with an async schema', async () => {
      const slow = {
        '~standard': {
          version: 1 as const,
          vendor: 'test',
          validate: async (value: unknown) => {
            await new Promise((r) => setTimeout(r, 20));
            return { value: value as string };
          },
        },
      };
      const source = memorySource({ x: 'x1-CANARY', y: 'y1-CANARY' });
      const store = new SecretStore(defineSecrets({ slowX: { id: 'x', schema: slow }, fastX: 'x', y: 'y' }), {
        source,
        refreshInterval: false,
        minRefreshInterval: 0,
      });
      await store.load();
      source.set('x', 'x2-CANARY');
      source.set('y', 'y2-CANARY');
      const refreshing = store.refresh();
      const seen: string[] = [];
      const timer = setInterval(() => seen.push(`${store.get('slowX')}|${store.get('fastX')}|${store.get('y')}`), 1);
      await refreshing;
      clearInterval(timer);
      seen.push(`${store.get('slowX')}|${store.get('fastX')}|${store.get('y')}`);
      expect(seen.every((s) => s === 'x1-CANARY|x1-CANARY|y1-CANARY' || s === 'x2-CANARY|x2-CANARY|y2-CANARY')).toBe(
        true,
      );
      expect(seen.at(-1)).toBe('x2-CANARY|x2-CANARY|y2-CANARY');
      await store.close();
    });

    it('a throwing listener is logged without the value and does not stop other listeners', async () => {
      const { source, store, logger } = setup({ minRefreshInterval: 0 });
      await store.load();
      const seen: string[] = [];
      store.subscribe('apiKey', () => {
        throw new Error('boom');
      });
      store.subscribe('apiKey', (v) => void seen.push(v));
      source.set('prod/app/api-key', 'key-CANARY-5');
      await store.refresh('apiKey');
      expect(seen).toEqual(['key-CANARY-5']);
      expect(logger.lines.some((l) => l.includes('rotation listener for secret "apiKey" threw'))).toBe(true);
      expect(logger.lines.join('\n')).not.toContain('CANARY');
      await store.close();
    });
  });

  describe('close', () => {
    it('stops timers and rejects later use; safe to call twice', async () => {
      const { store } = setup({ refreshInterval: 10 });
      await store.load();
      await store.close();
      await store.close();
      await expect(store.refresh()).rejects.toBeInstanceOf(SecretsStoreClosedError);
      await expect(store.load()).rejects.toBeInstanceOf(SecretsStoreClosedError);
    });
  });

  describe('configuration', () => {
    it.each([
      ['unknown option with a hint', { refreshIntervall: 5 }, /Did you mean `refreshInterval`/],
      ['negative duration', { refreshInterval: -1 }, /refreshInterval.*negative/],
      ['NaN duration', { maxStaleness: Number.NaN }, /maxStaleness.*finite/],
      ['bad duration string', { bootTimeout: '5 minutes' }, /bootTimeout.*cannot parse/],
      ['unitless duration string', { fetchTimeout: '300' }, /fetchTimeout.*Add a unit: "300ms" or "300s"/],
      ['zero where zero is not allowed', { bootTimeout: '0' }, /bootTimeout.*greater than 0/],
      ['missing source', { source: undefined }, /source.*required/],
    ])('rejects %s', (_label, options, message) => {
      const create = () => new SecretStore(secrets, { source: memorySource({}), ...(options as object) } as never);
      expect(create).toThrow(SecretsConfigError);
      expect(create).toThrow(message);
    });

    it('accepts "0" read from an environment variable where zero is allowed (issue 12)', async () => {
      const env = { REFRESH: '0', JITTER: '0', MIN_REFRESH: ' 0 ' };
      const store = new SecretStore(secrets, {
        source: memorySource({
          'prod/app/db': '{"username":"u","password":"p","host":"h"}',
          'prod/app/api-key': 'k',
        }),
        refreshInterval: env.REFRESH as '0',
        startupJitter: env.JITTER as '0',
        minRefreshInterval: env.MIN_REFRESH as '0',
      });
      await store.load();
      await store.refresh();
      await store.refresh(); // minRefreshInterval 0: not deferred
      expect(store.stats().refreshes.ok).toBeGreaterThanOrEqual(2);
      await store.close();
    });

    it('accepts duration strings', () => {
      expect(
        () =>
          new SecretStore(secrets, {
            source: memorySource({}),
            refreshInterval: '5m',
            maxStaleness: '1h',
            bootTimeout: '30s',
          }),
      ).not.toThrow();
    });
  });
});
