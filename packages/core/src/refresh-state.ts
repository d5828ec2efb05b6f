import type { NormalizedDeclaration } from './declarations';
import type { SecretsError } from './errors';
import type { SecretListener } from './events';
import { Secret, type SecretSlot } from './secret';
import type { DescribeFacts, ScheduleFacts } from './schedule';
import type { SecretRequest } from './sources/source';

/**
 * @internal The state of one fetched id (names sharing an id share an entry). The schedule
 * fields are facts (what happened, and when); when the id is next fetched or described is derived
 * from them by `schedule.ts`, and no field holds a due time.
 */
export interface Entry extends ScheduleFacts, DescribeFacts {
  readonly key: string;
  readonly request: SecretRequest;
  readonly slots: Slot[];
  versionId: string | undefined;
  region: string | undefined;
  /** Last successful fetch or confirmation (monotonic). */
  lastSuccessAt: number | undefined;
  error: SecretsError | undefined;
  inflight: Promise<void> | undefined;
  /** Background refresh interval of this id (the shortest of its declarations'); 0 = none. */
  interval: number;
  /** ARN from the last fetch, so `invalidate()` can match events that carry ARNs. */
  arn: string | undefined;
  attempts: number;
  lastAttemptAt: number | undefined;
  okAttemptAt: number | undefined;
  settledAt: number | undefined;
  failures: number;
  retryable: boolean;
  failureDraw: number;
  polledAt: number | undefined;
  pollDraw: number;
  rotationAt: number | undefined;
  change: { readonly at: number; readonly attempt: number } | undefined;
  leaseEndAt: number | undefined;
  leaseDraw: number;
  /** The lease end the store already reported as ended (`lease-expired`, once per lease). */
  leaseEndReported: number | undefined;
  describedAt: number | undefined;
  rechecks: number;
  /** The successful fetch after the scheduled rotation: when, and whether it found a new version. */
  rotationFetch: { readonly at: number; readonly moved: boolean } | undefined;
  /** The last state a watching source reported that is not a version (missing, unreadable). */
  watchState: string | undefined;
}

/** @internal The state of one declared name. */
export interface Slot extends SecretSlot<unknown> {
  readonly decl: NormalizedDeclaration;
  readonly handle: Secret<unknown>;
  entry: Entry;
  /** When this slot last held a value confirmed by a successful fetch (monotonic). */
  goodAt: number | undefined;
  error: SecretsError | undefined;
  /** A version that failed to parse, so it is not re-parsed on every refresh. */
  failedVersion: string | undefined;
  staleNotified: boolean;
  /** The value before the last rotation, kept only so text quoting it is withheld too (the leak rule). */
  previousValue: unknown;
  /** Created on the first `subscribe` (an empty Set costs ~150 B per secret). */
  listeners: Set<SecretListener<unknown>> | undefined;
}

/** @internal */
export interface FetchOptions {
  readonly reason: 'load' | 'refresh';
  readonly force: boolean;
  readonly deadline?: number;
  /** Forced refreshes are rate-limited unless this is false (a deferred call that already waited). */
  readonly rateLimit?: boolean;
}

/**
 * @internal The entries and slots for `decls`: names sharing a fetch key share one entry, whose
 * background interval is the shortest positive one among them (`storeInterval` by default).
 */
export function createEntries(
  decls: readonly NormalizedDeclaration[],
  storeInterval: number,
): { entries: Entry[]; slots: Map<string, Slot> } {
  const slots = new Map<string, Slot>();
  const byKey = new Map<string, Entry>();
  const entries: Entry[] = [];
  for (const decl of decls) {
    let entry = byKey.get(decl.fetchKey);
    if (!entry) {
      entry = {
        key: decl.fetchKey,
        // The normalized declaration is a SecretRequest (id, versionId, versionStage): no copy per secret.
        request: decl,
        slots: [],
        versionId: undefined,
        region: undefined,
        lastSuccessAt: undefined,
        error: undefined,
        inflight: undefined,
        interval: 0,
        arn: undefined,
        pinned: decl.versionId !== undefined,
        attempts: 0,
        lastAttemptAt: undefined,
        okAttemptAt: undefined,
        settledAt: undefined,
        failures: 0,
        retryable: false,
        failureDraw: 0,
        polledAt: undefined,
        pollDraw: 0.5,
        rotationAt: undefined,
        change: undefined,
        leaseEndAt: undefined,
        leaseDraw: 0,
        leaseEndReported: undefined,
        describedAt: undefined,
        rechecks: 0,
        rotationFetch: undefined,
        watchState: undefined,
      };
      byKey.set(decl.fetchKey, entry);
      entries.push(entry);
    }
    const slot = {
      name: decl.name,
      optional: decl.optional,
      value: undefined,
      loaded: false,
      version: undefined,
      updatedAt: undefined,
      decl,
      entry,
      goodAt: undefined,
      error: undefined,
      failedVersion: undefined,
      staleNotified: false,
      previousValue: undefined,
      listeners: undefined,
    } as unknown as Slot;
    (slot as { handle: Secret<unknown> }).handle = new Secret(slot);
    entry.slots.push(slot);
    slots.set(decl.name, slot);
  }
  for (const entry of entries) {
    // The shortest positive interval among the names sharing the id; 0 only if all of them say so.
    const intervals = entry.slots.map((s) => s.decl.refreshInterval ?? storeInterval).filter((ms) => ms > 0);
    entry.interval = intervals.length > 0 ? Math.min(...intervals) : 0;
  }
  return { entries, slots };
}
