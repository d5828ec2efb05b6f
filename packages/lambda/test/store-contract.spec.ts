/**
 * The store contract @hush/lambda builds on: `isRefreshDue()` and `refreshDue()`. (The store's
 * implementation is core's; these pin what the wrappers rely on.)
 */
import { SecretStore, SecretsStoreClosedError, memorySource, type Source } from '@hush/core';

const quiet = { info() {}, warn() {}, error() {}, debug() {} };
const clock = { t: 5_000_000, now: () => clock.t, wallNow: () => Date.now() };

function counted(values: Record<string, string>) {
  const inner = memorySource(values);
  let release: (() => void) | undefined;
  const source: Source & { fetches: number; hold(): void; go(): void; inner: typeof inner } = {
    kind: 'counted',
    fetches: 0,
    inner,
    hold() {
      const gate = new Promise<void>((resolve) => (release = resolve));
      source.fetch = async (requests) => {
        source.fetches++;
        await gate;
        return inner.fetch(requests);
      };
    },
    go() {
      release?.();
    },
    async fetch(requests) {
      source.fetches++;
      return inner.fetch(requests);
    },
  };
  return source;
}

describe('SecretStore.isRefreshDue / refreshDue', () => {
  test('false before load and while nothing is due; true once the interval has passed; refreshDue fetches once and names what it fetched', async () => {
    const source = counted({ 'a/1': 'x', 'a/2': 'y' });
    const store = new SecretStore(
      { one: 'a/1', two: 'a/2' },
      { source, logger: quiet, clock, refreshInterval: '5m', refreshJitter: 0 },
    );
    expect(store.isRefreshDue()).toBe(false);
    await store.load();
    expect(store.isRefreshDue()).toBe(false);
    await expect(store.refreshDue()).resolves.toEqual([]);
    const afterLoad = source.fetches;
    clock.t += 5 * 60_000;
    expect(store.isRefreshDue()).toBe(true);
    source.inner.set('a/1', 'x2');
    await expect(store.refreshDue()).resolves.toEqual(['one', 'two']);
    expect(source.fetches).toBe(afterLoad + 1);
    expect(store.get('one')).toBe('x2');
    expect(store.isRefreshDue()).toBe(false);
    await store.close();
    expect(store.isRefreshDue()).toBe(false);
    await expect(store.refreshDue()).rejects.toBeInstanceOf(SecretsStoreClosedError);
  });

  test('single flight: calls during a round join it (one fetch), and the store stays due while it is in flight', async () => {
    const source = counted({ 'a/1': 'x' });
    const store = new SecretStore(
      { one: 'a/1' },
      { source, logger: quiet, clock, refreshInterval: '5m', refreshJitter: 0 },
    );
    await store.load();
    clock.t += 6 * 60_000;
    source.hold();
    const before = source.fetches;
    const first = store.refreshDue();
    expect(store.isRefreshDue()).toBe(true);
    const second = store.refreshDue();
    source.go();
    await Promise.all([first, second]);
    expect(source.fetches).toBe(before + 1);
    await store.close();
  });

  test('a failed refresh never rejects; the retry is due after its backoff', async () => {
    const source = counted({ 'a/1': 'x' });
    const store = new SecretStore(
      { one: 'a/1' },
      { source, logger: quiet, clock, refreshInterval: '5m', refreshJitter: 0 },
    );
    await store.load();
    clock.t += 6 * 60_000;
    source.inner.fail('a/1', 'InternalServiceError', { times: 1 });
    await expect(store.refreshDue()).resolves.toEqual(['one']);
    expect(store.get('one')).toBe('x');
    expect(store.health().secrets.one?.status).not.toBe('fresh');
    clock.t += 6 * 60_000;
    expect(store.isRefreshDue()).toBe(true);
    await store.refreshDue();
    expect(store.health().secrets.one?.status).toBe('fresh');
    await store.close();
  });
});
