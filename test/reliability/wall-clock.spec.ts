/**
 * Wall-clock jumps (NTP step, VM resume, manual change): the system time moves by hours while the
 * store runs. Ages, staleness and backoff use the monotonic clock (performance.now), so they must
 * not move; only `updatedAt` (a wall-clock date by design) follows the system time.
 */
import { defineSecrets, memorySource, SecretStore, type SecretsEvent } from '@hush/core';
import { sleep, waitFor } from './helpers';

const HOUR = 3_600_000;
const secrets = defineSecrets({ api: 'app/api', db: { id: 'app/db', key: 'password' } });
const initial = { 'app/api': 'api-CANARY-1', 'app/db': { password: 'pw-CANARY-1' } };
const stores: SecretStore<any>[] = [];

/** Moves Date (Date.now and new Date()) by `offsetMs`; timers and performance.now stay real. */
function jumpWallClock(offsetMs: number): void {
  jest.useFakeTimers({
    doNotFake: [
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'setTimeout',
      'clearTimeout',
    ],
  });
  jest.setSystemTime(Date.now() + offsetMs);
}

afterEach(async () => {
  jest.useRealTimers();
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

it('the test clock really moves Date but not performance.now', () => {
  const perf = performance.now();
  const wall = Date.now();
  jumpWallClock(5 * HOUR);
  expect(Date.now() - wall).toBeGreaterThanOrEqual(5 * HOUR);
  expect(performance.now() - perf).toBeLessThan(1_000);
});

it('keeps ageSeconds and freshness when the wall clock jumps hours forward and back', async () => {
  const source = memorySource(initial);
  const store = new SecretStore(secrets, { source, refreshInterval: false, maxStaleness: '1h', minRefreshInterval: 0 });
  stores.push(store);
  const events: SecretsEvent[] = [];
  store.onEvent((e) => void events.push(e));
  await store.load();
  const updatedAt = store.handle('api').updatedAt!.getTime();

  jumpWallClock(6 * HOUR);
  await sleep(30);
  let h = store.health();
  expect(h.status).toBe('up');
  expect(h.secrets.api).toMatchObject({ status: 'fresh', ageSeconds: 0 });

  jumpWallClock(-12 * HOUR);
  await sleep(30);
  h = store.health();
  expect(h.secrets.db).toMatchObject({ status: 'fresh', ageSeconds: 0 });
  expect(events.some((e) => e.type === 'became-stale')).toBe(false);
  // The wall-clock date of the value is the only thing that is allowed to reflect the system time.
  expect(store.handle('api').updatedAt!.getTime()).toBe(updatedAt);
  source.set('app/api', 'api-CANARY-2');
  await store.refresh('api');
  expect(store.handle('api').updatedAt!.getTime()).toBeLessThan(updatedAt - 5 * HOUR);
});

it('detects staleness on monotonic time even when the wall clock goes back hours', async () => {
  const source = memorySource(initial);
  const store = new SecretStore(secrets, {
    source,
    refreshInterval: 50,
    refreshJitter: 0,
    maxStaleness: 250,
    backoff: { initial: 20, max: 50 },
  });
  stores.push(store);
  await store.load();
  source.fail('*', 'InternalServiceError');
  const failedAt = performance.now();
  jumpWallClock(-8 * HOUR);
  await waitFor(() => store.health().status === 'degraded', 2_000, 'degraded');
  const took = performance.now() - failedAt;
  expect(took).toBeGreaterThanOrEqual(240);
  expect(took).toBeLessThan(1_000);
  expect(store.health().secrets.api).toMatchObject({ status: 'stale', error: 'InternalServiceError' });
  expect(store.get('api')).toBe('api-CANARY-1');
});

it('keeps the retry cadence (backoff) when the wall clock jumps hours either way', async () => {
  const source = memorySource(initial);
  const store = new SecretStore(secrets, {
    source,
    refreshInterval: 100,
    refreshJitter: 0,
    maxStaleness: '1h',
    backoff: { initial: 20, max: 80 },
  });
  stores.push(store);
  await store.load();
  source.fail('*', 'InternalServiceError');
  const before = source.fetchCalls;
  jumpWallClock(10 * HOUR);
  await sleep(250);
  jumpWallClock(-20 * HOUR);
  await sleep(250);
  // ~500 ms of failures with backoff capped at min(80 ms, refreshInterval): roughly 6–25 retries,
  // never zero (a backoff computed on Date going back would wait hours) and never a hot loop.
  const retries = source.fetchCalls - before;
  expect(retries).toBeGreaterThanOrEqual(4);
  expect(retries).toBeLessThan(40);
  source.recover();
  const recovery = await waitFor(() => store.health().secrets.api?.error === undefined, 1_000, 'recovery');
  expect(recovery).toBeLessThan(80 + 100);
  expect(store.health().secrets.api).toMatchObject({ status: 'fresh', ageSeconds: 0 });
});
