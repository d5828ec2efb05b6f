import {
  SecretFetchError,
  SecretStore,
  type FetchContext,
  type FetchOutcome,
  type SecretRequest,
  type Source,
} from '@hush/core';

/*
 * Single flight holds during load() too: a forced refresh() started while load() waits out its
 * backoff is joined by load's next round, not fetched again beside it. Two calls of one id in
 * flight can answer out of order, and a reader would see the older version after the newer.
 */

/** Round 1 fails (5xx); round 2 reads the version current when it starts and answers slowly; later rounds fast. */
class RacingSource implements Source {
  readonly kind = 'racing';
  version = 1;
  calls = 0;

  fetch(requests: readonly SecretRequest[], _context: FetchContext): Promise<readonly FetchOutcome[]> {
    const call = ++this.calls;
    const v = this.version;
    if (call === 1) {
      return Promise.resolve(
        requests.map((r) => ({
          ok: false as const,
          error: new SecretFetchError(r.id, 'InternalServiceError', 'try again', { retryable: true }),
        })),
      );
    }
    const answer = requests.map(() => ({
      ok: true as const,
      secret: { versionId: `v${v}`, string: `value-v${v}-Qz8` },
    }));
    return new Promise((resolve) => setTimeout(() => resolve(answer), call === 2 ? 300 : 5));
  }
}

describe('load() and a refresh() started during its backoff', () => {
  it('share one fetch: no reader sees the older version after the newer', async () => {
    const source = new RacingSource();
    const store = new SecretStore(
      { a: { id: 'a' } },
      {
        source,
        backoff: { initial: 100, max: 100 },
        bootTimeout: 5_000,
        minRefreshInterval: 0,
        refreshInterval: false,
      },
    );
    try {
      const load = store.load();
      // Round 1 failed; load() sleeps. A forced refresh starts now and reads v1.
      while (source.calls < 1) await new Promise((resolve) => setTimeout(resolve, 1));
      await new Promise((resolve) => setTimeout(resolve, 10));
      const refresh = store.refresh();
      source.version = 2; // rotated after the refresh's call read v1
      await load;
      const afterLoad = store.get('a');
      await refresh;
      const afterRefresh = store.get('a');
      const order = [afterLoad, afterRefresh].map((v) => Number(/v(\d)/.exec(v)![1]));
      expect(order[1]).toBeGreaterThanOrEqual(order[0]!);
    } finally {
      await store.close();
    }
  });
});
