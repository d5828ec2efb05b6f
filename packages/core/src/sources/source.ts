import { errorCodeName, type SecretFetchError } from '../errors';
import { isKnownCode } from '../known-codes';
import { carriesAnyValue } from '../value-index';
import type { LoggerLike } from '../logger';

/** What to fetch: an id at AWSCURRENT, or pinned to a stage or version. */
export interface SecretRequest {
  readonly id: string;
  readonly versionId?: string | undefined;
  readonly versionStage?: string | undefined;
  /**
   * A Parameter Store path read as one record (`path: true` declarations). Only sources with
   * `paths: true` receive such requests; the store rejects them for any other source.
   */
  readonly path?: { readonly recursive: boolean } | undefined;
}

/**
 * A raw secret as a source returns it. API sources set exactly one of `string`/`binary`; sources
 * that cannot tell (mounted files) may set both, and the declared `format` decides.
 */
export interface RawSecret {
  readonly versionId: string;
  readonly string?: string | undefined;
  readonly binary?: Uint8Array | undefined;
  readonly createdDate?: Date | undefined;
  /** ARN when the source knows it. */
  readonly arn?: string | undefined;
  /** The Region that served the value (multi-Region sources). */
  readonly region?: string | undefined;
  /**
   * When the value stops working (a lease's end, e.g. Vault dynamic credentials). The store
   * fetches it again before then (at about two-thirds of the lease, `schedule.ts`) and health shows
   * the time left; a lease that ends with no replacement is an error. Absent: no lease.
   */
  readonly expiresAt?: Date | undefined;
}

/** One request's outcome, aligned by index with the requests passed to `fetch`. */
export type FetchOutcome =
  { readonly ok: true; readonly secret: RawSecret } | { readonly ok: false; readonly error: SecretFetchError };

export interface FetchContext {
  /** Aborted at the boot deadline, the request timeout, or `close()`. */
  readonly signal: AbortSignal;
  /** `true` for `store.refresh()`: bypass any cache in the source (agent `refreshNow=true`). */
  readonly force: boolean;
  /** Why the fetch happens. */
  readonly reason: 'load' | 'refresh';
  /**
   * Where a source writes its own lines (batch fallback, Region failover): the store's logger.
   * Set by the store on every call; absent when a source is called directly.
   */
  readonly logger?: LoggerLike;
}

/** Counters a source keeps about the calls it made. */
export interface SourceStats {
  /** Calls by operation, e.g. `{ BatchGetSecretValue: 3 }`. */
  readonly calls: Readonly<Record<string, number>>;
  /** HTTP attempts including the SDK's retries, when known. */
  readonly attempts: Readonly<Record<string, number>>;
  /** Calls that ended in a throttling error (after the SDK's retries). */
  readonly throttles: number;
  /** Calls that failed for any reason. */
  readonly failures: number;
  /** Calls by operation and outcome: `ok`, `throttled`, or the error code. */
  readonly outcomes: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/**
 * What `DescribeSecret` says about one secret's versions and rotation schedule. Never a value.
 */
export interface SecretDescription {
  /** Whether automatic rotation is on. */
  readonly rotationEnabled: boolean;
  /** "The next rotation is scheduled to occur on or before this date"; may be in the past when rotation fails. */
  readonly nextRotationDate?: Date | undefined;
  readonly lastRotatedDate?: Date | undefined;
  /** The version labelled AWSCURRENT, when the source knows it. */
  readonly currentVersionId?: string | undefined;
  /** A version is labelled AWSPENDING: a rotation is under way. */
  readonly rotationPending?: boolean | undefined;
}

/** One describe outcome, aligned by index with the ids passed to `describe`. */
export type DescribeOutcome =
  | { readonly ok: true; readonly description: SecretDescription }
  | { readonly ok: false; readonly error: SecretFetchError };

/** The version a watching source holds for an id, checked just now. */
export interface CurrentVersion {
  readonly id: string;
  readonly versionId: string;
}

/**
 * Receives ids whose content may have changed (push-based sources such as mounted files), and
 * optionally the version the source holds now for others (`current`). The store compares each with
 * the version it serves: the same one is confirmed (kept fresh without a fetch), another one is
 * fetched. A source shared by several stores reports to each; each store decides for itself.
 */
export type ChangeListener = (ids: readonly string[], current?: readonly CurrentVersion[]) => void;

/**
 * Where secrets come from. A source only fetches; the store owns caching, single flight,
 * refresh, staleness and events.
 */
export interface Source {
  /** Short name for logs and health, e.g. `aws-secrets-manager`. */
  readonly kind: string;
  /**
   * Optional: where the source reads, for log lines — an endpoint URL without credentials, a
   * Region, a directory. Never a token or a value.
   */
  readonly location?: string;
  /**
   * Optional: this source reads `path` requests (Parameter Store paths: `ssmParameterStore()`, and
   * the Parameters and Secrets Lambda extension does not). Declarations with `path: true` need it.
   */
  readonly paths?: boolean;
  /** Fetch a batch. Must resolve (never reject) with one outcome per request, in order. */
  fetch(requests: readonly SecretRequest[], context: FetchContext): Promise<readonly FetchOutcome[]>;
  /**
   * Optional: versions and rotation schedule of each id, without values (`DescribeSecret`). Used by
   * the store's `rotationSchedule` option. Must resolve with one outcome per id, in order.
   */
  describe?(ids: readonly string[], context: FetchContext): Promise<readonly DescribeOutcome[]>;
  /** Push-based sources call `listener` when ids may have changed. Returns a stop function. */
  watch?(listener: ChangeListener): () => void;
  stats?(): SourceStats;
  close?(): Promise<void> | void;
}

/** Mutable counters shared by source implementations. */
/** A foreign code as stats and metrics may show it (see `errorCodeName` and the value index). */
function safeCode(code: string): string {
  const name = errorCodeName(code);
  return isKnownCode(name) || !carriesAnyValue(name) ? name : 'UnknownError';
}

export class SourceCounters {
  readonly calls: Record<string, number> = {};
  readonly attempts: Record<string, number> = {};
  readonly outcomes: Record<string, Record<string, number>> = {};
  throttles = 0;
  failures = 0;

  /**
   * Records one call. `outcome` is `ok`, `throttled`, or for other failures the error code
   * (`ResourceNotFoundException`, `TimeoutError`…).
   */
  record(operation: string, attempts: number, outcome: string): void {
    // Codes come from foreign text (an SDK error's name, a batch entry's ErrorCode): what stats and
    // metrics show is an identifier that carries no fragment of any value (the leak rule).
    if (outcome !== 'ok' && outcome !== 'throttled') outcome = safeCode(outcome);
    this.calls[operation] = (this.calls[operation] ?? 0) + 1;
    this.attempts[operation] = (this.attempts[operation] ?? 0) + Math.max(1, attempts);
    const byOutcome = (this.outcomes[operation] ??= {});
    byOutcome[outcome] = (byOutcome[outcome] ?? 0) + 1;
    if (outcome === 'throttled') this.throttles++;
    if (outcome !== 'ok') this.failures++;
  }

  snapshot(): SourceStats {
    const outcomes: Record<string, Record<string, number>> = {};
    for (const [op, counts] of Object.entries(this.outcomes)) outcomes[op] = { ...counts };
    return {
      calls: { ...this.calls },
      attempts: { ...this.attempts },
      throttles: this.throttles,
      failures: this.failures,
      outcomes,
    };
  }
}

/** Runs `task` over `items` with at most `limit` in flight. */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
