import type { SecretStore } from './secret-store';
import { SecretsConfigError } from './errors';
import { parseDuration, type Duration } from './validation';

/** A store of any declarations (the helpers take names as strings and check them at run time). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySecretStore = SecretStore<any>;

/** One value to try: which declared name it came from, its VersionId, the value itself. */
export interface SecretCandidate<T = unknown> {
  readonly name: string;
  readonly version: string | undefined;
  readonly value: T;
}

/** Options of {@link refreshOnFailure}. */
export interface RefreshOnFailureOptions {
  /** Whether an error means "these credentials are no longer accepted" (e.g. PostgreSQL `28P01`). */
  readonly isStale: (error: unknown) => boolean;
  /**
   * A declared name to try when a forced refresh of the main name brings no new version, typically
   * the same id at `versionStage: 'AWSPENDING'` (`optional: true`): during a single-user rotation
   * the database accepts the pending password before AWSCURRENT moves to it.
   */
  readonly fallback?: string;
  /** Total time one caller may spend retrying before the last failure is rethrown. @default '30s' */
  readonly budget?: Duration;
  /** Pause between rounds that found nothing new: full jitter up to `initial·2^n`, capped at `max`. */
  readonly backoff?: { readonly initial?: Duration; readonly max?: Duration };
}

/** The handle {@link refreshOnFailure} returns. */
export interface RefreshOnFailure<T> {
  /**
   * The candidate a new attempt should use now. Synchronous, no I/O: the main name's value, or the
   * fallback's while it is the one that last worked and the main name has not caught up.
   */
  current(): SecretCandidate<T>;
  /**
   * Runs `attempt` with {@link current}, and on a stale-credentials failure refreshes and retries with
   * each value not tried yet (a changed main version, then the fallback), until one works or the
   * budget is spent; then rethrows the last failure. Other errors are rethrown at once.
   * Pass `first` when the first attempt already ran elsewhere and failed.
   */
  run<R>(
    attempt: (candidate: SecretCandidate<T>) => Promise<R>,
    first?: { readonly candidate: SecretCandidate<T>; readonly error: unknown },
  ): Promise<R>;
  /** How many retries ran, how many forced refreshes were requested, how many callers gave up. */
  stats(): { readonly retries: number; readonly refreshes: number; readonly exhausted: number };
}

/**
 * The generic "refresh on this kind of failure, then give me the value to retry with" primitive.
 * Concurrent failures share one forced refresh per name (on top of the store's own single flight and
 * `minRefreshInterval`), so a pool whose every new login fails makes one call, not one per login.
 *
 * @example
 * const creds = refreshOnFailure(store, 'db', { fallback: 'dbPending', isStale: (e) => e.code === '28P01' });
 * const conn = await creds.run((c) => connect(c.value));
 */
export function refreshOnFailure<T = unknown>(
  store: AnySecretStore,
  name: string,
  options: RefreshOnFailureOptions,
): RefreshOnFailure<T> {
  if (!store.has(name))
    throw new SecretsConfigError('refreshOnFailure.name', `"${name}" is not declared in the store.`);
  const fallback = options.fallback;
  if (fallback !== undefined && !store.has(fallback)) {
    throw new SecretsConfigError(
      'refreshOnFailure.fallback',
      `"${fallback}" is not declared in the store. Declare it, e.g. { id: '<same id>', versionStage: 'AWSPENDING', optional: true }.`,
    );
  }
  if (typeof options.isStale !== 'function') {
    throw new SecretsConfigError(
      'refreshOnFailure.isStale',
      'a function telling stale-credential errors apart is required.',
    );
  }
  const budget = parseDuration(options.budget ?? 30_000, 'refreshOnFailure.budget');
  const initial = parseDuration(options.backoff?.initial ?? 250, 'refreshOnFailure.backoff.initial');
  const max = parseDuration(options.backoff?.max ?? 2_000, 'refreshOnFailure.backoff.max');
  const inflight = new Map<string, Promise<void>>();
  const counts = { retries: 0, refreshes: 0, exhausted: 0 };
  /** The fallback version that last worked while the main name still held another version. */
  let preferFallback: string | undefined;
  /**
   * After a caller gave up, later callers get one refresh round instead of the whole budget until
   * this time (a circuit breaker: a genuinely wrong password must not hold every request for the budget).
   */
  let coolUntil = 0;

  const candidateOf = (n: string): SecretCandidate<T> | undefined => {
    const handle = store.handle(n);
    if (!handle.loaded || handle.value === undefined) return undefined;
    return { name: n, version: handle.version, value: handle.value as T };
  };
  const keyOf = (c: SecretCandidate<T>): string => `${c.name}\u0000${c.version ?? ''}`;
  const refresh = (n: string): Promise<void> => {
    let p = inflight.get(n);
    if (!p) {
      counts.refreshes++;
      p = store.refresh(n).finally(() => inflight.delete(n));
      inflight.set(n, p);
    }
    return p;
  };

  const current = (): SecretCandidate<T> => {
    const main = candidateOf(name);
    if (preferFallback !== undefined && fallback !== undefined) {
      const alt = candidateOf(fallback);
      if (alt && alt.version === preferFallback && main?.version !== preferFallback) return alt;
      preferFallback = undefined;
    }
    // A required main secret is always loaded after load(); handle.value throws a clear error otherwise.
    return main ?? { name, version: store.handle(name).version, value: store.handle(name).value as T };
  };

  const succeeded = (c: SecretCandidate<T>): void => {
    if (c.name === fallback) preferFallback = c.version;
  };

  /** The next untried candidate, refreshing (shared) and backing off until the deadline. */
  const nextCandidate = async (tried: Set<string>, deadline: number): Promise<SecretCandidate<T> | undefined> => {
    const untried = (c: SecretCandidate<T> | undefined): c is SecretCandidate<T> => !!c && !tried.has(keyOf(c));
    for (let round = 0; ; round++) {
      const now = current();
      if (untried(now)) return now;
      const main = candidateOf(name);
      if (untried(main)) return main;
      // A pending value already in memory (a background refresh saw the rotation start) costs one
      // login to try, far less than a rate-limited refresh round.
      const known = fallback === undefined ? undefined : candidateOf(fallback);
      if (untried(known)) return known;
      await refresh(name);
      const refreshed = candidateOf(name);
      if (untried(refreshed)) return refreshed;
      if (fallback !== undefined) {
        await refresh(fallback);
        const alt = candidateOf(fallback);
        if (untried(alt)) return alt;
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) return undefined;
      // Nothing new yet (the rotation has not reached the secret): wait, then look again. A value that
      // failed may become valid later only through a new version, so tried values are never retried.
      await new Promise((r) => setTimeout(r, Math.min(remaining, Math.random() * Math.min(max, initial * 2 ** round))));
    }
  };

  return {
    current,
    async run(attempt, first) {
      const started = performance.now();
      const deadline = started < coolUntil ? started : started + budget;
      const tried = new Set<string>();
      let candidate: SecretCandidate<T>;
      let lastError: unknown;
      if (first) {
        if (!options.isStale(first.error)) throw first.error;
        tried.add(keyOf(first.candidate));
        lastError = first.error;
      } else {
        candidate = current();
        try {
          const result = await attempt(candidate);
          succeeded(candidate);
          return result;
        } catch (error) {
          if (!options.isStale(error)) throw error;
          tried.add(keyOf(candidate));
          lastError = error;
        }
      }
      for (;;) {
        const next = await nextCandidate(tried, deadline);
        if (!next) {
          counts.exhausted++;
          coolUntil = performance.now() + Math.min(budget, 10_000);
          throw lastError;
        }
        candidate = next;
        counts.retries++;
        try {
          const result = await attempt(candidate);
          succeeded(candidate);
          coolUntil = 0;
          return result;
        } catch (error) {
          if (!options.isStale(error)) throw error;
          tried.add(keyOf(candidate));
          lastError = error;
        }
      }
    },
    stats: () => ({ ...counts }),
  };
}
