import {
  defineSecrets,
  SecretFetchError,
  SecretStore,
  type FetchContext,
  type FetchOutcome,
  type SecretRequest,
  type Source,
} from '@hush/core';
import { recordingLogger } from '../../../test/support';

/**
 * Leases in the store (`RawSecret.expiresAt`, issue 26): a leased value is fetched again before it
 * ends, whatever the refresh interval; health shows the time left; a lease that ends with no
 * replacement is `expired` (store down) and logged as an error. A scripted source on Jest's fake
 * clock, so every call is counted, not raced.
 */

/** Answers every id with a value whose lease lasts `leaseMs` from the answer (a renewal: same version). */
class LeasingSource implements Source {
  readonly kind = 'leasing';
  readonly calls: number[] = [];
  leaseMs = 60_000;
  failing = false;
  /** Renewals that never answer (until their deadline aborts them). */
  hanging = false;

  fetch(requests: readonly SecretRequest[], context: FetchContext): Promise<readonly FetchOutcome[]> {
    this.calls.push(Date.now());
    if (this.hanging)
      return new Promise((_resolve, reject) =>
        context.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
      );
    return Promise.resolve(
      requests.map((r): FetchOutcome => {
        if (this.failing)
          return {
            ok: false,
            error: new SecretFetchError(r.id, 'VaultSealed', 'Vault is sealed', { retryable: true }),
          };
        return {
          ok: true,
          secret: { versionId: 'lease-1', string: 'leased-pw', expiresAt: new Date(Date.now() + this.leaseMs) },
        };
      }),
    );
  }
}

const stores: SecretStore<any>[] = [];

beforeEach(() => {
  jest.useFakeTimers({ now: new Date('2026-12-06T12:00:00Z') });
});

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  jest.useRealTimers();
});

function open(source: Source, options: Record<string, unknown> = {}) {
  const log = recordingLogger();
  const store = new SecretStore(defineSecrets({ db: 'database/creds/app' }), { source, logger: log, ...options });
  stores.push(store);
  return { store, log };
}

describe('leased values in the store', () => {
  it('are fetched again at about two-thirds of the lease, even with a longer refresh interval, and health shows the time left', async () => {
    const source = new LeasingSource();
    const { store } = open(source, { refreshInterval: '1h' });
    await store.load();
    expect(store.health().secrets['db']).toMatchObject({ status: 'fresh', leaseRemainingSeconds: 60 });
    // Two-thirds of 60 s is 40 s; jitter (0.1 by default) takes off at most 10 % of it: 36–40 s.
    await jest.advanceTimersByTimeAsync(35_900);
    expect(source.calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(4_200);
    expect(source.calls).toHaveLength(2);
    // Each renewal answers with a new lease: the value stays fresh for 10 minutes of leases.
    await jest.advanceTimersByTimeAsync(600_000);
    expect(source.calls.length).toBeGreaterThanOrEqual(2 + Math.floor(600_000 / 40_000));
    expect(source.calls.length).toBeLessThanOrEqual(2 + Math.ceil(600_000 / 36_000));
    const h = store.health().secrets['db']!;
    expect(h.status).toBe('fresh');
    expect(h.leaseRemainingSeconds).toBeGreaterThan(60 / 3 - 1);
    expect(store.health().status).toBe('up');
  });

  it('a lease that ends with no replacement is expired (store down), logged once as an error, and recovers with the next good fetch', async () => {
    const source = new LeasingSource();
    source.leaseMs = 30_000;
    const { store, log } = open(source, { backoff: { initial: 2_000, max: 4_000 } });
    await store.load();
    source.failing = true;
    await jest.advanceTimersByTimeAsync(29_000);
    // Renewals failed, but the lease still runs: the last good value serves, as an error.
    expect(store.health().secrets['db']).toMatchObject({ status: 'error', error: 'VaultSealed' });
    expect(store.health().status).toBe('up');
    expect(log.at('error')).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(store.health().secrets['db']).toMatchObject({ status: 'expired', leaseRemainingSeconds: 0 });
    expect(store.health().status).toBe('down');
    const errors = log.records.filter((r) => r.fields['event'] === 'lease-expired');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.level).toBe('error');
    expect(errors[0]!.message).toContain('database/creds/app');
    expect(log.lines.join('\n')).not.toContain('leased-pw');
    // Still failing: said once per lease, not once per attempt.
    await jest.advanceTimersByTimeAsync(20_000);
    expect(log.records.filter((r) => r.fields['event'] === 'lease-expired')).toHaveLength(1);
    source.failing = false;
    await jest.advanceTimersByTimeAsync(5_000);
    expect(store.health().secrets['db']!.status).toBe('fresh');
    expect(store.health().secrets['db']!.leaseRemainingSeconds).toBeGreaterThanOrEqual(24);
    expect(store.health().status).toBe('up');
  });

  it('a lease that ends while its renewal is still unanswered says so, not "last error: none"', async () => {
    const source = new LeasingSource();
    source.leaseMs = 30_000;
    const { store, log } = open(source, { fetchTimeout: 60_000 });
    await store.load();
    source.hanging = true;
    await jest.advanceTimersByTimeAsync(31_000);
    const errors = log.records.filter((r) => r.fields['event'] === 'lease-expired');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).not.toContain('last error: none');
    expect(errors[0]!.message).toContain('a renewal is still waiting for its answer');
  });

  it('the end of an unreplaced lease is said when it comes, even when no fetch is due then (a long backoff)', async () => {
    const source = new LeasingSource();
    source.leaseMs = 30_000;
    const { store, log } = open(source, { backoff: { initial: 600_000, max: 600_000 } });
    await store.load();
    source.failing = true;
    await jest.advanceTimersByTimeAsync(29_000);
    const calls = source.calls.length;
    expect(log.records.filter((r) => r.fields['event'] === 'lease-expired')).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1_500);
    expect(source.calls).toHaveLength(calls);
    expect(log.records.filter((r) => r.fields['event'] === 'lease-expired')).toHaveLength(1);
    expect(store.health().status).toBe('down');
  });

  it('a value whose lease still runs is never stale, however long ago it was fetched (maxStaleness does not apply)', async () => {
    const source = new LeasingSource();
    source.leaseMs = 24 * 3_600_000;
    const { store, log } = open(source, { maxStaleness: '1h' });
    await store.load();
    await jest.advanceTimersByTimeAsync(3 * 3_600_000);
    expect(source.calls).toHaveLength(1);
    expect(store.health().secrets['db']!.status).toBe('fresh');
    expect(store.health().status).toBe('up');
    expect(log.lines.join('\n')).not.toMatch(/stale/i);
  });

  it('a value without expiresAt has no lease: polled by its interval only, no lease in health', async () => {
    const source = new LeasingSource();
    const fetch = source.fetch.bind(source);
    source.fetch = async (requests, context) =>
      (await fetch(requests, context)).map((o) =>
        o.ok ? { ok: true, secret: { ...o.secret, expiresAt: undefined } } : o,
      );
    const { store } = open(source, { refreshInterval: false });
    await store.load();
    await jest.advanceTimersByTimeAsync(600_000);
    expect(source.calls).toHaveLength(1);
    expect(store.health().secrets['db']).not.toHaveProperty('leaseRemainingSeconds');
  });

  it('a source answering with an invalid expiresAt fails that secret (InvalidSourceResponse), never the round', async () => {
    const source: Source = {
      kind: 'broken',
      fetch: (requests) =>
        Promise.resolve(
          requests.map(() => ({
            ok: true as const,
            secret: { versionId: 'v1', string: 'x', expiresAt: new Date(Number.NaN) },
          })),
        ),
    };
    const { store } = open(source, { bootTimeout: '2s' });
    const loading = expect(store.load()).rejects.toThrow(/InvalidSourceResponse: .*expiresAt is not a valid date/);
    await jest.advanceTimersByTimeAsync(3_000);
    await loading;
  });
});
