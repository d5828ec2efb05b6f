/**
 * The refresh schedule, derived. Every path of the engine (a poll, a failure, a rotation date, a
 * DescribeSecret answer, `invalidate()`, a file change, a confirmation) only records facts on the
 * entry; when an id is next fetched, and when the store's one timer next wakes, are computed here
 * from those facts and the clock, and nowhere else. Pure: no clock, no randomness of its own (the
 * jitter draws are facts recorded when a round ends), no writes.
 *
 * What it guarantees, by construction (and by property tests, `schedule.spec.ts`):
 * - after a failed attempt, the next background attempt is at least its backoff after that
 *   attempt settled, whatever else is due (a poll, a rotation date, an invalidation, a change);
 * - a recorded change or a scheduled rotation is fetched no sooner than `minRefreshInterval` after
 *   the last attempt (and a rotation at least 1 ms after it: a fetch that started before the
 *   rotation time cannot make its own retry due at once);
 * - an id with a round in flight is never due (its round settling re-arms the timer), so the timer
 *   never re-arms at a time already past while a round is in flight;
 * - an id with no reason to be fetched (no poll, no failure, no rotation, no change, no lease) is
 *   never due;
 * - a value with a lease (`RawSecret.expiresAt`) is fetched again at about two-thirds of the lease
 *   it had when it was fetched (jittered down by up to `jitter`, at most a quarter), so strictly
 *   before the lease ends whenever no backoff holds the attempt back; a backoff still wins.
 */
import { jitteredInterval, refreshBackoff } from './backoff';
import type { BackoffConfig } from './store-options';

/** The facts of one fetched id that its schedule is derived from. */
export interface ScheduleFacts {
  /** Background poll interval (ms); 0 = no polling. */
  readonly interval: number;
  /** A round is fetching this id now (truthy). */
  readonly inflight: unknown;
  /** Fetches started so far (every kind: load, background, forced). */
  readonly attempts: number;
  /** When the last fetch started (monotonic); undefined before the first. */
  readonly lastAttemptAt: number | undefined;
  /** When the last successful fetch started (monotonic). */
  readonly okAttemptAt: number | undefined;
  /** When the last fetch settled (monotonic). */
  readonly settledAt: number | undefined;
  /** Consecutive failed fetches; 0 after a success. */
  readonly failures: number;
  /** The last failure was transient (throttling, 5xx, timeout) rather than permanent (denied, deleted). */
  readonly retryable: boolean;
  /** The jitter draw in [0, 1) taken when the last failure was recorded. */
  readonly failureDraw: number;
  /** When the current poll period began (monotonic); undefined before the first success. */
  readonly polledAt: number | undefined;
  /** The jitter draw in [0, 1) of the current poll period (one per round, so a batch stays a batch). */
  readonly pollDraw: number;
  /**
   * When the next scheduled rotation's result can be fetched (monotonic: `NextRotationDate` +
   * `delay` + its jitter draw, as the last DescribeSecret told); undefined when none is known.
   */
  readonly rotationAt: number | undefined;
  /**
   * An outside signal said the id changed (`invalidate()`, a watching source, DescribeSecret
   * saw another current version): when, and how many fetches had started then. It is answered by
   * a fetch that starts after it.
   */
  readonly change: { readonly at: number; readonly attempt: number } | undefined;
  /**
   * When the lease of the value served ends (monotonic: the source's `expiresAt` seen from the
   * clock when the fetch settled); undefined for a value without a lease. The lease began when
   * that fetch started (`okAttemptAt`).
   */
  readonly leaseEndAt?: number | undefined;
  /** The jitter draw in [0, 1) of the current lease (recorded with it). */
  readonly leaseDraw?: number | undefined;
}

/** The store-wide settings the schedule reads. */
export interface ScheduleConfig {
  readonly jitter: number;
  readonly minRefreshInterval: number;
  readonly backoff: BackoffConfig;
  /**
   * Ids due within this window are fetched together, so a fetch may start up to this much before
   * an id's due time; such a fetch answers a scheduled rotation too. @default 0
   */
  readonly batchWindow?: number;
}

/** A change recorded before the last fetch started has been answered by it. */
export function changePending(f: ScheduleFacts): boolean {
  return f.change !== undefined && f.attempts <= f.change.attempt;
}

/**
 * The scheduled rotation is known and no successful fetch has started since its result became
 * available (a fetch batched up to `batchWindow` early counts).
 */
export function rotationPending(f: ScheduleFacts, config: Pick<ScheduleConfig, 'batchWindow'>): boolean {
  if (f.rotationAt === undefined) return false;
  return f.okAttemptAt === undefined || f.okAttemptAt < f.rotationAt - (config.batchWindow ?? 0);
}

/**
 * When the scheduled rotation's fetch is due: at `rotationAt`, and no sooner than
 * `minRefreshInterval` (at least 1 ms) after the last attempt started; Infinity when none is pending.
 */
export function rotationDueAt(f: ScheduleFacts, config: ScheduleConfig): number {
  if (!rotationPending(f, config)) return Infinity;
  return Math.max(f.rotationAt!, (f.lastAttemptAt ?? -Infinity) + Math.max(1, config.minRefreshInterval));
}

/** The share of a lease after which its value is fetched again, before jitter. */
export const LEASE_RENEW_FRACTION = 2 / 3;

/** The largest share of {@link LEASE_RENEW_FRACTION} that jitter may take off (a fleet spreads out). */
export const MAX_LEASE_JITTER = 0.25;

/**
 * When a leased value is fetched again (the source renews its lease or issues a new one): at
 * `LEASE_RENEW_FRACTION` of the lease it had when fetched, less a jitter of up to
 * `min(jitter, MAX_LEASE_JITTER)` of it. A lease already over when it was granted (or when the
 * value arrived: a lease of 0 s) is fetched
 * again no sooner than `max(1, minRefreshInterval)` after the last attempt (no spin). Infinity
 * without a lease.
 */
export function leaseDueAt(f: ScheduleFacts, config: ScheduleConfig): number {
  if (f.leaseEndAt === undefined || f.okAttemptAt === undefined) return Infinity;
  const granted = f.leaseEndAt - f.okAttemptAt;
  // Over when the value arrived (not only when its fetch started): a lease of 0 s ends during its
  // own fetch, and two-thirds of that fetch's latency would be a spin.
  if (!(granted > 0) || !(f.leaseEndAt > (f.settledAt ?? f.okAttemptAt))) {
    return (f.lastAttemptAt ?? f.okAttemptAt) + Math.max(1, config.minRefreshInterval);
  }
  const share = LEASE_RENEW_FRACTION * (1 - Math.min(config.jitter, MAX_LEASE_JITTER) * (f.leaseDraw ?? 0));
  return f.okAttemptAt + granted * share;
}

/**
 * When the periodic poll is due; Infinity without polling (or before the first success), and for
 * a leased value (its lease decides, {@link leaseDueAt}).
 */
export function pollDueAt(f: ScheduleFacts, config: ScheduleConfig): number {
  if (f.interval <= 0 || f.polledAt === undefined || f.leaseEndAt !== undefined) return Infinity;
  return f.polledAt + jitteredInterval(f.interval, config.jitter, () => f.pollDraw);
}

/**
 * The wait after the last failure: exponential with equal jitter for a transient failure (held to
 * the refresh interval while polling), one jittered interval for a permanent one (deleted,
 * denied), or — with no polling — the transient backoff either way.
 */
export function failureBackoff(f: ScheduleFacts, config: ScheduleConfig): number {
  if (f.failures === 0) return 0;
  const draw = (): number => f.failureDraw;
  if (f.retryable || f.interval <= 0) return refreshBackoff(f.failures, config.backoff, f.interval, draw);
  return jitteredInterval(f.interval, config.jitter, draw);
}

/**
 * The earliest time a background attempt may start, whatever it is for: after a failure, its
 * backoff after it settled.
 */
export function earliestAttemptAt(f: ScheduleFacts, config: ScheduleConfig): number {
  if (f.failures > 0 && f.settledAt !== undefined) return f.settledAt + failureBackoff(f, config);
  return -Infinity;
}

/**
 * When a recorded change is answered: at once, but no sooner than `minRefreshInterval` after the
 * last attempt started (a burst of events costs one call per interval); Infinity when none is pending.
 */
export function changeDueAt(f: ScheduleFacts, config: ScheduleConfig): number {
  if (!changePending(f)) return Infinity;
  return Math.max(f.change!.at, (f.lastAttemptAt ?? -Infinity) + config.minRefreshInterval);
}

/**
 * When this id should next be fetched in the background (monotonic ms), or Infinity: the earliest
 * of its reasons — the poll (or the lease), the retry after a failure, the scheduled rotation and a recorded change
 * (both held to `minRefreshInterval` after the last attempt) — and, after a failure, never before its backoff ends ({@link
 * earliestAttemptAt}); Infinity while a round is in flight.
 */
export function nextFetchAt(f: ScheduleFacts, config: ScheduleConfig): number {
  if (f.inflight) return Infinity;
  let want = Math.min(pollDueAt(f, config), changeDueAt(f, config), leaseDueAt(f, config));
  // A failed id is retried (at the end of its backoff) even when it does not poll.
  if (f.failures > 0) want = -Infinity;
  want = Math.min(want, rotationDueAt(f, config));
  if (want === Infinity) return Infinity;
  return Math.max(want, earliestAttemptAt(f, config));
}

/**
 * Whether a polling id that is not due yet may ride along with a round starting at `now`: its
 * poll is at most its jitter away (so ids with different intervals keep sharing batches instead
 * of drifting apart), and nothing holds it back (a backoff, `minRefreshInterval`).
 */
export function mayRideAlong(f: ScheduleFacts, now: number, config: ScheduleConfig): boolean {
  if (f.inflight || f.interval <= 0 || f.failures > 0) return false;
  return pollDueAt(f, config) <= now + f.interval * config.jitter && earliestAttemptAt(f, config) <= now;
}

/** The facts of one id that its DescribeSecret schedule (`rotationSchedule`) is derived from. */
export interface DescribeFacts {
  /** Pinned to a versionId: its schedule is never read. */
  readonly pinned: boolean;
  /** When the last DescribeSecret of this id settled (monotonic); undefined before the first. */
  readonly describedAt: number | undefined;
  /** Describes in a row that found the scheduled rotation not landed yet. */
  readonly rechecks: number;
  /** A successful fetch after the scheduled rotation settled then (monotonic). */
  readonly rotationFetch: { readonly at: number } | undefined;
}

/** The rotation-schedule settings the describe schedule reads. */
export interface DescribeConfig {
  readonly describeInterval: number;
  readonly delay: number;
}

/**
 * When this id's rotation schedule should next be read: at `startedAt` (the store's load) the
 * first time; right after the fetch that followed a scheduled rotation (to learn the next date);
 * while that rotation has not landed, after `max(delay, 1 s)` doubling per recheck (at most 64×);
 * otherwise every `describeInterval`.
 */
export function nextDescribeAt(d: DescribeFacts, startedAt: number, config: DescribeConfig): number {
  if (d.pinned) return Infinity;
  if (d.describedAt === undefined) return startedAt;
  if (d.rotationFetch !== undefined && d.rotationFetch.at > d.describedAt) return d.rotationFetch.at;
  if (d.rechecks > 0) return d.describedAt + Math.max(config.delay, 1_000) * 2 ** Math.min(d.rechecks - 1, 6);
  return d.describedAt + config.describeInterval;
}
