import { SecretStore, SecretsConfigError, memorySource, type MemorySource, type Source } from '@hush/core';
import { isManagedInstances, withSecrets, type LambdaSecretStore } from '@hush/lambda';
import { secretsMiddleware } from '@hush/lambda/middy';
import { sleep, waitFor } from '../../../test/support';

const quiet = { info() {}, warn() {}, error() {}, debug() {} };
const stores: { close(): Promise<void> }[] = [];
const V1 = 'CANARY-v1-"q"\\-ü-☃\n';
const V2 = 'CANARY-v2-"q"\\-ü-☃\n';

/**
 * A clock the test moves: the store's timer is armed for minutes of real time, so only an invoke
 * (reading this clock) finds a refresh due. `pass('6m')`-style jumps stand for a freeze.
 */
const clock = { t: 1_000_000, now: () => clock.t, wallNow: () => Date.now() };
const FREEZE = 6 * 60_000;

function storeWith(source: Source, options: Record<string, unknown> = {}): SecretStore<{ api: string }> {
  const store = new SecretStore(
    { api: 'app/api' },
    { source, logger: quiet, refreshInterval: '5m', refreshJitter: 0, clock, ...options },
  );
  stores.push(store);
  return store;
}

/** A store whose refreshDue calls are counted. */
function counting(store: LambdaSecretStore): LambdaSecretStore & { refreshes: number } {
  const wrapped = {
    refreshes: 0,
    get loaded() {
      return store.loaded;
    },
    load: () => store.load(),
    isRefreshDue: () => store.isRefreshDue(),
    refreshDue: () => {
      wrapped.refreshes++;
      return store.refreshDue();
    },
    close: () => store.close(),
  };
  return wrapped;
}

/** `counting(store)` with the store's `refresh()` (forced refetches counted) and its counters. */
function countingForced(
  store: SecretStore<{ api: string }>,
): LambdaSecretStore & { refreshes: number; forced: number } {
  const wrapped = Object.assign(counting(store), { forced: 0 });
  wrapped.refresh = () => {
    wrapped.forced++;
    return store.refresh();
  };
  wrapped.stats = () => store.stats();
  return wrapped;
}

/** A source whose fetches can be held (to stand for a slow or hung Secrets Manager). */
function holdable(inner: MemorySource): Source & { hold(): void; release(): void } {
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  return {
    kind: 'holdable',
    hold() {
      gate = new Promise((resolve) => (open = resolve));
    },
    release() {
      open?.();
      gate = undefined;
    },
    async fetch(requests) {
      if (gate) await gate;
      return inner.fetch(requests);
    },
  };
}

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

const noSigterm = { closeOnSigterm: false } as const;

describe('withSecrets', () => {
  test('a non-due invoke calls the handler directly: its own return value, no refresh', async () => {
    const store = storeWith(memorySource({ 'app/api': V1 }), { refreshInterval: '5m' });
    await store.load();
    const spy = counting(store);
    const result = { ok: true };
    const handler = withSecrets(spy, () => result, noSigterm);
    expect(handler({}, {})).toBe(result);
    expect(spy.refreshes).toBe(0);
  });

  test('loads on the first invoke when INIT did not; a failed load fails the invoke and the next one loads', async () => {
    const source = memorySource({ 'app/api': V1 });
    source.fail('app/api', 'AccessDeniedException', { times: 1 });
    const store = storeWith(source, { bootTimeout: 200 });
    const handler = withSecrets(store, async () => store.get('api'), noSigterm);
    await expect(handler({}, {})).rejects.toThrow(/api/);
    expect(store.loaded).toBe(false);
    await expect(handler({}, {})).resolves.toBe(V1);
  });

  test('before-invoke: a due refresh lands before the handler reads', async () => {
    const source = memorySource({ 'app/api': V1 });
    const store = storeWith(source);
    await store.load();
    source.set('app/api', V2);
    clock.t += FREEZE;
    expect(store.isRefreshDue()).toBe(true);
    // Nothing else may fetch in between: the store's own timer is raced by the invoke here.
    const handler = withSecrets(store, async () => store.get('api'), noSigterm);
    await expect(handler({}, {})).resolves.toBe(V2);
  });

  test('before-invoke, slow source: the handler runs with the last good value after refreshTimeout; the fetch is awaited after it', async () => {
    const inner = memorySource({ 'app/api': V1 });
    const source = holdable(inner);
    const store = storeWith(source);
    await store.load();
    inner.set('app/api', V2);
    source.hold();
    clock.t += FREEZE;
    const seen: string[] = [];
    let ranAt = 0;
    let returned = false;
    const handler = withSecrets(
      store,
      async () => {
        ranAt = performance.now();
        seen.push(store.get('api'));
        return 'done';
      },
      { ...noSigterm, refreshTimeout: 300 },
    );
    // Timers count from the event loop's clock, read when a turn of the loop starts: a timer armed
    // late in a long turn (a loaded machine preempts it) fires early by performance.now(). So the
    // invoke starts in a later turn than t0, whose clock reads no earlier than t0.
    const t0 = performance.now();
    await new Promise((resolve) => setImmediate(resolve));
    const invoke = Promise.resolve(handler({}, { getRemainingTimeInMillis: () => 10_000 })).then((r) => {
      returned = true;
      return r;
    });
    await waitFor(() => seen.length > 0, 5_000, 'the handler to run', 2);
    // Not before refreshTimeout (1 ms: timers count whole milliseconds).
    expect(ranAt - t0).toBeGreaterThanOrEqual(300 - 1);
    expect(seen).toEqual([V1]);
    // The handler returned; the invoke waits (up to refreshTimeout again) for the fetch to land.
    expect(returned).toBe(false);
    source.release();
    await expect(invoke).resolves.toBe('done');
    expect(store.get('api')).toBe(V2); // landed before the invoke returned
  });

  test('before-invoke, hung source: the response is held at most refreshTimeout twice, never past the deadline', async () => {
    const inner = memorySource({ 'app/api': V1 });
    const source = holdable(inner);
    const store = storeWith(source, { refreshInterval: '5m' });
    await store.load();
    source.hold();
    clock.t += FREEZE;
    const handler = withSecrets(store, async () => store.get('api'), { ...noSigterm, refreshTimeout: 100 });
    const t0 = performance.now();
    await expect(handler({}, { getRemainingTimeInMillis: () => 10_000 })).resolves.toBe(V1);
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(1_500);
    // Little time left in the invoke: nothing is awaited after the handler.
    const t1 = performance.now();
    await expect(handler({}, { getRemainingTimeInMillis: () => 50 })).resolves.toBe(V1);
    expect(performance.now() - t1).toBeLessThan(190 + 500);
    source.release();
  });

  test('before-invoke, hung source, the invoke nearly out of time: the handler runs at once whatever refreshTimeout says', async () => {
    const source = holdable(memorySource({ 'app/api': V1 }));
    const store = storeWith(source);
    await store.load();
    source.hold();
    clock.t += FREEZE;
    let ran = 0;
    const handler = withSecrets(
      store,
      async () => {
        ran = performance.now();
        return store.get('api');
      },
      { ...noSigterm, refreshTimeout: '5s' },
    );
    const t0 = performance.now();
    await expect(handler({}, { getRemainingTimeInMillis: () => 50 })).resolves.toBe(V1);
    expect(performance.now() - t0).toBeLessThan(1_000);
    // 2 s left: the handler starts within half of it; the response comes before the deadline.
    const t1 = performance.now();
    const deadline = Date.now() + 2_000;
    await expect(handler({}, { getRemainingTimeInMillis: () => deadline - Date.now() })).resolves.toBe(V1);
    expect(ran - t1).toBeLessThan(1_000 + 200);
    expect(performance.now() - t1).toBeLessThan(2_000 + 200);
    source.release();
  });

  test('a round left in flight at the response is refetched (forced) by the next invoke, on-demand only', async () => {
    const managed = { AWS_LAMBDA_INITIALIZATION_TYPE: 'lambda-managed-instances' };
    for (const [env, expected] of [
      [{}, 1],
      [managed, 0],
    ] as const) {
      const source = holdable(memorySource({ 'app/api': V1 }));
      const store = storeWith(source);
      await store.load();
      // With the store's counters: the round answered, so it is refetched.
      const wrapped = countingForced(store);
      const handler = withSecrets(wrapped, async () => store.get('api'), {
        ...noSigterm,
        refresh: 'before-invoke',
        refreshTimeout: 50,
        env,
      });
      const context = { getRemainingTimeInMillis: () => 10_000 };
      source.hold();
      clock.t += FREEZE;
      // The due round outlasts both waits: the response goes out with it in flight.
      await expect(handler({}, context)).resolves.toBe(V1);
      expect(store.isRefreshDue()).toBe(true);
      source.release();
      await waitFor(() => !store.isRefreshDue(), 2_000, 'the round to land');
      // Frozen at least refreshTimeout (a shorter freeze delayed the answer less than a wait would).
      await sleep(80);
      await expect(handler({}, context)).resolves.toBe(V1);
      expect(wrapped.forced).toBe(expected);
    }
  });

  test('a round left in flight at the response that failed is not refetched: its retry waits out the backoff', async () => {
    // A failed answer applied nothing (the last good value stays, as the store knows): forcing a
    // refetch for it skipped the backoff and doubled the calls to a failing or throttled source.
    let fetches = 0;
    let failing = false;
    let open: (() => void) | undefined;
    let gate: Promise<void> | undefined;
    const inner = memorySource({ 'app/api': V1 });
    const source: Source = {
      kind: 'flaky',
      async fetch(requests) {
        fetches++;
        if (gate) await gate;
        if (failing) throw Object.assign(new Error('service down'), { name: 'InternalServiceError' });
        return inner.fetch(requests);
      },
    };
    const store = storeWith(source);
    await store.load();
    const wrapped = countingForced(store);
    const handler = withSecrets(wrapped, async () => store.get('api'), { ...noSigterm, refreshTimeout: 50 });
    const context = { getRemainingTimeInMillis: () => 10_000 };
    failing = true;
    gate = new Promise((resolve) => (open = resolve));
    clock.t += FREEZE;
    await expect(handler({}, context)).resolves.toBe(V1);
    expect(store.isRefreshDue()).toBe(true);
    gate = undefined;
    open!();
    await waitFor(() => store.health().secrets.api?.error !== undefined, 2_000, 'the round to fail');
    // Frozen longer than refreshTimeout: only the failure keeps the round from being refetched.
    await sleep(80);
    const before = fetches;
    await expect(handler({}, context)).resolves.toBe(V1);
    expect(wrapped.forced).toBe(0);
    expect(fetches - before).toBe(0);
  });

  test("refresh: 'background' starts the due refresh and serves the current value at once", async () => {
    const inner = memorySource({ 'app/api': V1 });
    const source = holdable(inner);
    const store = storeWith(source);
    await store.load();
    inner.set('app/api', V2);
    source.hold();
    clock.t += FREEZE;
    const spy = counting(store);
    const handler = withSecrets(spy, () => store.get('api'), { ...noSigterm, refresh: 'background' });
    expect(handler({}, {})).toBe(V1);
    expect(spy.refreshes).toBe(1);
    source.release();
    await store.refreshDue();
    expect(store.get('api')).toBe(V2);
  });

  test('Lambda Managed Instances (never frozen): background refresh by default', async () => {
    const env = { AWS_LAMBDA_INITIALIZATION_TYPE: 'lambda-managed-instances' };
    expect(isManagedInstances(env)).toBe(true);
    expect(isManagedInstances({ AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand' })).toBe(false);
    const inner = memorySource({ 'app/api': V1 });
    const source = holdable(inner);
    const store = storeWith(source);
    await store.load();
    inner.set('app/api', V2);
    source.hold();
    clock.t += FREEZE;
    const handler = withSecrets(store, () => store.get('api'), { ...noSigterm, env });
    expect(handler({}, {})).toBe(V1);
    source.release();
  });

  test('misuse gets a SecretsConfigError that says the fix', () => {
    const store = storeWith(memorySource({ 'app/api': V1 }));
    const h = async () => 1;
    expect(() => withSecrets({} as never, h)).toThrow(SecretsConfigError);
    expect(() => withSecrets({} as never, h)).toThrow(/expected a SecretStore/);
    expect(() => withSecrets(store, undefined as never, noSigterm)).toThrow(/handler function/);
    expect(() => withSecrets(store, h, { refresh: 'before' as never, ...noSigterm })).toThrow(
      /"before-invoke" or "background"/,
    );
    expect(() => withSecrets(store, h, { refreshTimeot: '1s' } as never)).toThrow(/refreshTimeout/);
    expect(() => withSecrets(store, h, { refreshTimeout: 'soon' as never, ...noSigterm })).toThrow(
      /withSecrets\.refreshTimeout/,
    );
    expect(() => secretsMiddleware(store, { closeOnSigterm: 'yes' as never })).toThrow(
      /secretsMiddleware\.closeOnSigterm/,
    );
  });
});

describe('secretsMiddleware', () => {
  test('before refreshes what is due, resolves with undefined (Middy would end the chain on a value), after settles', async () => {
    const source = memorySource({ 'app/api': V1 });
    const store = storeWith(source);
    await store.load();
    const mw = secretsMiddleware(store, noSigterm);
    expect(mw.before({ context: {} })).toBeUndefined(); // nothing due: no promise at all
    source.set('app/api', V2);
    clock.t += FREEZE;
    await expect(mw.before({ context: {} })).resolves.toBeUndefined();
    expect(store.get('api')).toBe(V2);
    expect(mw.after({ context: {} })).toBeUndefined();
    expect(mw.onError).toBe(mw.after);
  });

  test('loads on the first invoke when INIT did not', async () => {
    const store = storeWith(memorySource({ 'app/api': V1 }));
    const mw = secretsMiddleware(store, noSigterm);
    await mw.before({ context: {} });
    expect(store.get('api')).toBe(V1);
  });
});
