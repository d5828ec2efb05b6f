import { errorCodeOf } from './errors';
import type { SourceStats } from './sources/source';

/**
 * Per-secret health status. `expired`: the value's lease (`RawSecret.expiresAt`) ended with no
 * replacement — the value no longer works, so the store is `down` as for a missing one.
 */
export type SecretStatus = 'fresh' | 'error' | 'stale' | 'missing' | 'expired';
/** Overall status: `up` (all required secrets usable), `degraded` (serving stale), `down` (a required secret has no value). */
export type StoreStatus = 'up' | 'degraded' | 'down';

export interface SecretHealth {
  readonly status: SecretStatus;
  readonly optional?: true;
  /** First 8 characters of the VersionId. */
  readonly version?: string;
  /** Seconds since the last good fetch of this value (monotonic). */
  readonly ageSeconds?: number;
  /** The current error code (`ThrottlingException`, `SECRET_VALIDATION_FAILED`…), when the last attempt failed. */
  readonly error?: string;
  /** The Region that served the value, when the source reports it. */
  readonly region?: string;
  /** Seconds left on the value's lease (0 once it ended), for a leased value. */
  readonly leaseRemainingSeconds?: number;
  /** The store source that reads it (its name in the `sources` option, or `default`); stores with several sources only. */
  readonly source?: string;
}

export interface HealthReport {
  /** The store's `name` option, when it has one. */
  readonly name?: string;
  readonly status: StoreStatus;
  readonly secrets: Readonly<Record<string, SecretHealth>>;
}

export interface StoreStats extends SourceStats {
  /** The default source's kind; the top-level counters are that source's. */
  readonly source: string;
  /** Stores with the `sources` option: every source by name (`default` included), with its kind. */
  readonly sources?: Readonly<Record<string, SourceStats & { readonly source: string }>>;
  readonly loads: number;
  /** Background and forced refreshes per fetched id (names sharing an id count once); `failed` includes a new version that did not parse. */
  readonly refreshes: { readonly ok: number; readonly failed: number };
  readonly rotations: number;
}

/** What {@link computeHealth} reads of one secret. */
export interface SecretState {
  readonly name: string;
  readonly optional: boolean;
  readonly loaded: boolean;
  readonly version: string | undefined;
  /** When the value was last confirmed by a successful fetch (monotonic ms). */
  readonly goodAt: number | undefined;
  readonly region: string | undefined;
  /** The source's name, in stores with several sources. */
  readonly source?: string;
  /** The secret's own error (parse, validation) or else its fetch error. */
  readonly error: unknown;
  /**
   * Whether the value is refreshed in the background. A secret nobody asked to refresh
   * (`refreshInterval: false`) is never `stale`. @default true
   */
  readonly refreshes?: boolean;
  /** When the value's lease ends (monotonic ms); undefined for a value without a lease. */
  readonly leaseEndAt?: number | undefined;
}

/**
 * The health report of a set of secrets at monotonic time `now`: `missing` (no value), `expired`
 * (its lease ended with no replacement), `stale` (never for a value whose lease still runs: the lease says how long it works)
 * (refreshed in the background, and the last good fetch is older than `maxStaleness`), `error` (serving a value while the last attempt
 * failed) or `fresh`. Never a value.
 */
export function computeHealth(secrets: Iterable<SecretState>, now: number, maxStaleness: number): HealthReport {
  const out: Record<string, SecretHealth> = {};
  let down = false;
  let degraded = false;
  for (const s of secrets) {
    const h: { -readonly [K in keyof SecretHealth]: SecretHealth[K] } = { status: 'fresh' };
    if (s.optional) h.optional = true;
    if (!s.loaded) {
      h.status = 'missing';
      if (!s.optional) down = true;
    } else {
      h.version = s.version?.slice(0, 8);
      const age = now - (s.goodAt ?? now);
      h.ageSeconds = Math.max(0, Math.floor(age / 1000));
      const leaseEnd = s.leaseEndAt;
      if (leaseEnd !== undefined) h.leaseRemainingSeconds = Math.max(0, Math.floor((leaseEnd - now) / 1000));
      if (leaseEnd !== undefined && leaseEnd <= now) {
        h.status = 'expired';
        if (!s.optional) down = true;
      } else if (age > maxStaleness && s.refreshes !== false && leaseEnd === undefined) {
        h.status = 'stale';
        degraded = true;
      } else if (s.error) {
        h.status = 'error';
      }
      if (s.region) h.region = s.region;
    }
    if (s.source !== undefined) h.source = s.source;
    if (s.error) h.error = errorCodeOf(s.error);
    out[s.name] = h;
  }
  return { status: down ? 'down' : degraded ? 'degraded' : 'up', secrets: out };
}

/**
 * Names of the required secrets that make a health check fail: every `missing` or `expired` one, and with
 * `failOnStale` every `stale` one. Optional secrets never fail a check.
 */
export function failingNames(report: HealthReport, options: { readonly failOnStale?: boolean } = {}): string[] {
  return Object.entries(report.secrets)
    .filter(
      ([, s]) =>
        !s.optional &&
        (s.status === 'missing' || s.status === 'expired' || (options.failOnStale === true && s.status === 'stale')),
    )
    .map(([name]) => name);
}
