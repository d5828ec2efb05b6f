import type { NormalizedDeclaration } from './declarations';
import { SecretsConfigError, type SecretsError } from './errors';
import type { SecretListener } from './events';
import { Secret, type SecretSlot } from './secret';
import type { DescribeFacts, ScheduleFacts } from './schedule';
import type { SecretRequest, Source } from './sources/source';

/**
 * @internal The state of one fetched id (names sharing an id share an entry). The schedule
 * fields are facts (what happened, and when); when the id is next fetched or described is derived
 * from them by `schedule.ts`, and no field holds a due time.
 */
export interface Entry extends ScheduleFacts, DescribeFacts {
  readonly key: string;
  readonly request: SecretRequest;
  /** The source that fetches this id (one fetch per source per round). */
  readonly source: Source;
  /** That source's name in the store (`default` for the `source` option; the first name it was given). */
  readonly sourceName: string;
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
 * @internal Checks that every declaration names a source of the store that can read it (before
 * anything is built: a store that fails here leaves nothing behind).
 * @throws SecretsConfigError naming the declaration.
 */
export function checkSources(decls: readonly NormalizedDeclaration[], sources: ReadonlyMap<string, Source>): void {
  for (const decl of decls) {
    const name = decl.source ?? sources.keys().next().value!;
    const source = sources.get(name);
    if (source === undefined) {
      const known = [...sources.keys()].map((n) => `"${n}"`).join(', ');
      throw new SecretsConfigError(
        `secrets.${decl.name}.source`,
        `unknown source "${decl.source}". This store's sources are ${known}; add it to the \`sources\` option.`,
      );
    }
    if (decl.path !== undefined && source.paths !== true) {
      throw new SecretsConfigError(
        `secrets.${decl.name}.path`,
        `source "${name}" (${source.kind}) cannot read Parameter Store paths; declare the path with an ssmParameterStore() source.`,
      );
    }
  }
}

/**
 * @internal The entries and slots for `decls` (sources checked by {@link checkSources}): names sharing a fetch key share one entry, whose
 * background interval is the shortest positive one among them (`storeInterval` by default).
 */
export function createEntries(
  decls: readonly NormalizedDeclaration[],
  storeInterval: number,
  sources: ReadonlyMap<string, Source>,
): { entries: Entry[]; slots: Map<string, Slot> } {
  const slots = new Map<string, Slot>();
  const byKey = new Map<string, Entry>();
  const entries: Entry[] = [];
  // A source given under several names is one source: its first name.
  const canonical = new Map<Source, string>();
  for (const [name, source] of sources) if (!canonical.has(source)) canonical.set(source, name);
  const defaultName = sources.keys().next().value as string;
  for (const decl of decls) {
    const source = sources.get(decl.source ?? defaultName)!;
    const sourceName = canonical.get(source)!;
    // The default source keeps the plain fetch key (a single-source store is exactly as before).
    const key = sourceName === defaultName ? decl.fetchKey : `${sourceName}\u0000${decl.fetchKey}`;
    let entry = byKey.get(key);
    if (!entry) {
      entry = {
        key,
        // The normalized declaration is a SecretRequest (id, versionId, versionStage): no copy per secret.
        request: decl,
        source,
        sourceName,
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
      byKey.set(key, entry);
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
