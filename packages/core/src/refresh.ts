import { setMaxListeners } from 'node:events';
import { jitteredInterval, refreshBackoff } from './backoff';
import type { NormalizedDeclaration } from './declarations';
import { SecretFetchError, SecretsError, SecretsStoreClosedError, errorCodeOf } from './errors';
import {
  logEvent,
  type RotationInfo,
  type SecretListener,
  type SecretsEvent,
  type SecretsEventListener,
} from './events';
import { parseSecret } from './parse';
import { Fragments, describeError } from './redaction';
import { Secret, type SecretSlot } from './secret';
import { checkOutcomes } from './sources/answers';
import type { CurrentVersion, DescribeOutcome, FetchOutcome, RawSecret, SecretRequest } from './sources/source';
import type { ResolvedStoreOptions } from './store-options';

/** @internal The state of one fetched id (names sharing an id share an entry). */
export interface Entry {
  readonly key: string;
  readonly request: SecretRequest;
  readonly slots: Slot[];
  versionId: string | undefined;
  region: string | undefined;
  lastAttemptAt: number | undefined;
  /** Last successful fetch (monotonic). */
  lastSuccessAt: number | undefined;
  error: SecretsError | undefined;
  failures: number;
  dueAt: number;
  inflight: Promise<void> | undefined;
  /** Background refresh interval of this id (the shortest of its declarations'); 0 = none. */
  interval: number;
  /** ARN from the last fetch, so `invalidate()` can match events that carry ARNs. */
  arn: string | undefined;
  /** When the periodic poll is next due (monotonic); Infinity when the id has no background interval. */
  pollAt: number;
  /** `rotationSchedule`: when to fetch after the next scheduled rotation (monotonic). */
  rotationAt: number | undefined;
  /** `rotationSchedule`: when to describe this id again (monotonic); undefined = never (pinned version). */
  describeAt: number | undefined;
  /** `rotationSchedule`: a post-rotation fetch found the old version at this time (monotonic). */
  rotationFetchedAt: number | undefined;
  /** `rotationSchedule`: describes since then that still found the old version. */
  rechecks: number;
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
 * @internal The refresh engine behind a {@link SecretStore}: the entries and slots, single
 * flight, rate-limited forced refreshes (deferral), fetch rounds (parse, then swap every value at
 * once, then notify), backoff, staleness and the one timer. The store is its public face.
 */
export class RefreshEngine {
  readonly slots = new Map<string, Slot>();
  readonly entries: Entry[] = [];
  readonly eventListeners = new Set<SecretsEventListener>();
  private readonly aborts = new Set<AbortController>();
  /** Settles every timer a caller awaits (a sleep, a deferred refresh) with SecretsStoreClosedError. */
  private readonly cancels = new Set<() => void>();
  readonly counts = { loads: 0, refreshOk: 0, refreshFailed: 0, rotations: 0 };
  loaded = false;
  closed = false;
  generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private deferred: { entries: Set<Entry>; promise: Promise<void> } | undefined;
  private invalidation: { entries: Set<Entry>; promise: Promise<void> } | undefined;
  private describing = false;
  private describeWarned = false;

  constructor(
    decls: readonly NormalizedDeclaration[],
    readonly config: ResolvedStoreOptions,
    /** Called after any value changed (the store drops its cached snapshot). */
    private readonly onValueChange: () => void,
  ) {
    const entries = new Map<string, Entry>();
    for (const decl of decls) {
      let entry = entries.get(decl.fetchKey);
      if (!entry) {
        entry = {
          key: decl.fetchKey,
          // The normalized declaration is a SecretRequest (id, versionId, versionStage): no copy per secret.
          request: decl,
          slots: [],
          versionId: undefined,
          region: undefined,
          lastAttemptAt: undefined,
          lastSuccessAt: undefined,
          error: undefined,
          failures: 0,
          dueAt: 0,
          inflight: undefined,
          interval: 0,
          pollAt: 0,
          arn: undefined,
          rotationAt: undefined,
          describeAt: undefined,
          rotationFetchedAt: undefined,
          rechecks: 0,
        };
        entries.set(decl.fetchKey, entry);
        this.entries.push(entry);
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
      this.slots.set(decl.name, slot);
    }
    const storeInterval = config.rotationSchedule?.safetyInterval ?? config.refreshInterval;
    for (const entry of this.entries) {
      // The shortest positive interval among the names sharing the id; 0 only if all of them say so.
      const intervals = entry.slots.map((s) => s.decl.refreshInterval ?? storeInterval).filter((ms) => ms > 0);
      entry.interval = intervals.length > 0 ? Math.min(...intervals) : 0;
    }
    /** The batching window: entries due within it are fetched together. */
    const positive = this.entries.map((e) => e.interval).filter((ms) => ms > 0);
    this.batchWindow = positive.length > 0 ? Math.min(1_000, Math.min(...positive) * 0.05) : 0;
  }

  private readonly batchWindow: number;

  /**
   * Single flight + rate limit, then one batched fetch for everything that may go now.
   * Resolves with the entries that joined a fetch already in flight.
   */
  async request(entries: readonly Entry[], options: FetchOptions): Promise<Entry[]> {
    const waits: Promise<void>[] = [];
    const now = this.config.clock.now();
    const go: Entry[] = [];
    const joined: Entry[] = [];
    for (const entry of entries) {
      if (entry.inflight) {
        waits.push(entry.inflight);
        joined.push(entry);
      } else if (
        options.force &&
        options.rateLimit !== false &&
        entry.lastAttemptAt !== undefined &&
        now - entry.lastAttemptAt < this.config.minRefreshInterval
      ) {
        waits.push(this.defer(entry, entry.lastAttemptAt + this.config.minRefreshInterval - now));
      } else go.push(entry);
    }
    if (go.length > 0) waits.push(this.fetch(go, options));
    await Promise.all(waits);
    return joined;
  }

  /**
   * Coalesces rate-limited forced refreshes into one call at the end of the interval. The caller
   * awaits it, so its timer keeps the process alive; `stop()` rejects it.
   */
  private defer(entry: Entry, waitMs: number): Promise<void> {
    if (this.deferred) {
      this.deferred.entries.add(entry);
      return this.deferred.promise;
    }
    const entries = new Set([entry]);
    const promise = this.sleep(Math.max(0, waitMs), 'refresh').then(() => {
      this.deferred = undefined;
      // It already waited out the interval: fetch now (or join one in flight), never defer again.
      return this.request([...entries], { reason: 'refresh', force: true, rateLimit: false }).then(() => undefined);
    });
    promise.catch(() => undefined);
    this.deferred = { entries, promise };
    return promise;
  }

  fetch(entries: readonly Entry[], options: FetchOptions): Promise<void> {
    const run = this.runFetch(entries, options);
    const shared = run.finally(() => {
      for (const e of entries) if (e.inflight === shared) e.inflight = undefined;
    });
    for (const e of entries) e.inflight = shared;
    return shared;
  }

  private async runFetch(entries: readonly Entry[], options: FetchOptions): Promise<void> {
    const started = this.config.clock.now();
    for (const e of entries) e.lastAttemptAt = started;
    const timeout = Math.max(1, Math.min(this.config.fetchTimeout, (options.deadline ?? Infinity) - started));
    const abort = new AbortController();
    // One signal is shared by every SDK call of the round (one per batch of 20, plus spillover and
    // retries): lift Node's 10-listener warning for it.
    setMaxListeners(Infinity, abort.signal);
    const timer = setTimeout(
      () =>
        abort.abort(
          new SecretFetchError('*', 'TimeoutError', `no answer within ${Math.round(timeout)} ms`, { retryable: true }),
        ),
      timeout,
    );
    // Load and forced refreshes are awaited by a caller: their deadline keeps the process alive
    // (a source that holds no handle would otherwise let `node app.js` exit mid-load).
    if (options.reason !== 'load' && !options.force) timer.unref();
    this.aborts.add(abort);
    let outcomes: readonly FetchOutcome[];
    try {
      const requests = entries.map((e) => e.request);
      // The deadline wins even when the source ignores the signal (a wrapper that drops abortSignal,
      // a read of a hung mount): its late answer is dropped.
      const answer: unknown = await untilAborted(
        this.config.source.fetch(requests, {
          signal: abort.signal,
          force: options.force,
          reason: options.reason,
          logger: this.config.log,
        }),
        abort.signal,
      );
      // Validated before anything is applied: a malformed answer fails its secret, never the round.
      outcomes = checkOutcomes(requests, answer, this.config.source.kind);
    } catch (error) {
      const code = abort.signal.aborted ? 'TimeoutError' : errorCodeOf(error);
      outcomes = entries.map((e) => ({
        ok: false as const,
        error: new SecretFetchError(e.request.id, code, `source "${this.config.source.kind}" failed`, {
          retryable: true,
          cause: error,
        }),
      }));
    } finally {
      clearTimeout(timer);
      this.aborts.delete(abort);
    }
    if (this.closed) return;
    if (abort.signal.aborted) {
      // Our own deadline cut the call short: report a timeout (or, for a secret that was being
      // throttled, the throttling), not the SDK's AbortError.
      outcomes = entries.map((e, i) => {
        const o = outcomes[i];
        if (o?.ok) return o;
        // Keep the real cause: a secret being throttled, or during load one that failed with
        // something other than a timeout in the previous round (ECONNREFUSED, a 5xx, FileUnstable).
        const previous = e.error;
        if (
          previous instanceof SecretFetchError &&
          (previous.throttled || (options.reason === 'load' && previous.awsCode !== 'TimeoutError'))
        )
          return { ok: false as const, error: previous };
        return {
          ok: false as const,
          error: new SecretFetchError(e.request.id, 'TimeoutError', `no answer within ${Math.round(timeout)} ms`, {
            retryable: true,
            cause: o?.error,
          }),
        };
      });
    }
    const now = this.config.clock.now();
    const okCount = outcomes.filter((o) => o?.ok).length;
    this.emit({
      type: 'fetched',
      reason: options.reason,
      names: entries.flatMap((e) => e.slots.map((s) => s.name)),
      durationMs: now - started,
      ok: okCount,
      failed: entries.length - okCount,
    });
    // Phase 1: parse and validate everything (schemas may be async) without touching any value.
    const prepared = await Promise.all(
      entries.map(async (entry, i) => {
        const outcome = outcomes[i]!;
        if (!outcome.ok) return { entry, outcome, parsed: [] };
        const parsed = await Promise.all(entry.slots.map((slot) => this.parseFor(slot, outcome.secret)));
        return { entry, outcome, parsed };
      }),
    );
    if (this.closed) return;
    const roundRandom = Math.random();
    // Phase 2: swap every value synchronously, so no reader sees half of one refresh.
    const rotated: Array<{ slot: Slot; info: RotationInfo }> = [];
    for (const { entry, outcome, parsed } of prepared) {
      // One jitter draw per round, so ids fetched together stay due together (one batch next time).
      const interval = jitteredInterval(entry.interval, this.config.jitter, () => roundRandom);
      if (outcome.ok) {
        const previous = entry.versionId;
        this.applySuccess(entry, outcome.secret, parsed, now, options, rotated);
        entry.arn = outcome.secret.arn ?? entry.arn;
        // Only a fetch that was (nearly) due restarts the periodic poll. A fetch for a rotation, an
        // invalidation or a file change keeps it, so the id stays in its usual batch.
        if (entry.pollAt <= started + Math.max(this.batchWindow, entry.interval * this.config.jitter)) {
          entry.pollAt = entry.interval > 0 ? now + interval : Infinity;
        }
        entry.dueAt = entry.pollAt;
        if (entry.rotationAt !== undefined && entry.rotationAt <= now + this.batchWindow) {
          // The scheduled rotation has passed: learn the next date (and, if the version has not
          // moved yet, whether a rotation is still under way) with one DescribeSecret.
          entry.rotationAt = undefined;
          entry.rotationFetchedAt = previous === entry.versionId ? now : undefined;
          if (entry.describeAt !== undefined) entry.describeAt = now;
        }
      } else {
        this.applyFailure(entry, outcome.error, options);
        // Transient failures back off exponentially; permanent ones (deleted, denied) wait a refresh interval.
        entry.dueAt =
          now +
          (outcome.error.retryable || entry.interval === 0
            ? refreshBackoff(entry.failures, this.config.backoff, entry.interval)
            : interval);
      }
      if (entry.rotationAt !== undefined) entry.dueAt = Math.min(entry.dueAt, entry.rotationAt);
    }
    // Phase 3: listeners run after every value is in place.
    for (const { slot, info } of rotated) this.notify(slot, info);
  }

  /** Parses `raw` for one slot, or returns undefined when the slot already holds (or rejected) this version. */
  private async parseFor(
    slot: Slot,
    raw: RawSecret,
  ): Promise<{ value: unknown } | { error: SecretsError } | undefined> {
    if ((slot.loaded && slot.version === raw.versionId) || slot.failedVersion === raw.versionId) return undefined;
    try {
      return { value: await parseSecret(slot.decl, raw) };
    } catch (error) {
      return {
        error:
          error instanceof SecretsError
            ? error
            : new SecretFetchError(slot.decl.id, 'ParseError', 'parser failed', { retryable: false }),
      };
    }
  }

  private applySuccess(
    entry: Entry,
    raw: RawSecret,
    parsed: ReadonlyArray<{ value: unknown } | { error: SecretsError } | undefined>,
    now: number,
    options: FetchOptions,
    rotated: Array<{ slot: Slot; info: RotationInfo }>,
  ): void {
    const recovered = entry.error !== undefined && entry.lastSuccessAt !== undefined;
    // A slot also recovers from its own parse/validation error when a good version lands.
    const hadError = entry.slots.map((slot) => recovered || (slot.loaded && slot.error !== undefined));
    entry.lastSuccessAt = now;
    entry.error = undefined;
    entry.failures = 0;
    // One version per id: names projecting keys of one secret (db + dbPassword) take a version
    // together or not at all, so no reader ever pairs a v2 username with a v1 password.
    const rejection = parsed.find((r): r is { error: SecretsError } => r !== undefined && 'error' in r);
    if (rejection !== undefined) {
      this.rejectVersion(entry, raw, parsed, rejection.error, options);
      return;
    }
    entry.region = raw.region;
    entry.versionId = raw.versionId;
    entry.slots.forEach((slot, i) => {
      const result = parsed[i];
      if (result === undefined || 'error' in result) {
        if (slot.version === raw.versionId) {
          slot.goodAt = now;
          slot.error = undefined;
          slot.staleNotified = false;
        }
        return;
      }
      const previousVersion = slot.version;
      const wasLoaded = slot.loaded;
      if (wasLoaded) slot.previousValue = slot.value;
      slot.value = result.value;
      slot.version = raw.versionId;
      slot.loaded = true;
      slot.updatedAt = this.config.clock.wallNow();
      slot.goodAt = now;
      slot.error = undefined;
      slot.failedVersion = undefined;
      slot.staleNotified = false;
      this.generation++;
      this.onValueChange();
      if (wasLoaded) {
        this.counts.rotations++;
        this.emit({ type: 'rotated', name: slot.name, version: raw.versionId, previousVersion });
        rotated.push({ slot, info: { name: slot.name, version: raw.versionId, previousVersion } });
      }
    });
    // stats().refreshes counts per fetched id: ok when the fetch succeeded and every slot took the value.
    if (options.reason === 'refresh') {
      // The source still answers a version rejected before: still a failed refresh.
      if (entry.slots.some((slot) => slot.failedVersion === raw.versionId)) {
        this.counts.refreshFailed++;
      } else {
        this.counts.refreshOk++;
        for (const slot of entry.slots) this.emit({ type: 'refreshed', name: slot.name, version: raw.versionId });
      }
    }
    entry.slots.forEach((slot, i) => {
      if (hadError[i] && !slot.error) this.emit({ type: 'recovered', name: slot.name, version: raw.versionId });
    });
  }

  /**
   * A version that one slot of the id rejected: no slot takes it (each keeps its value), every
   * slot reports the rejection (its own error, or the sibling's that rejected it), and the version
   * is remembered so it is not parsed again on every refresh.
   */
  private rejectVersion(
    entry: Entry,
    raw: RawSecret,
    parsed: ReadonlyArray<{ value: unknown } | { error: SecretsError } | undefined>,
    rejection: SecretsError,
    options: FetchOptions,
  ): void {
    entry.slots.forEach((slot, i) => {
      const own = parsed[i];
      const error = own !== undefined && 'error' in own ? own.error : rejection;
      slot.error = error;
      slot.failedVersion = raw.versionId;
      this.emit({
        type: 'refresh-failed',
        name: slot.name,
        code: errorCodeOf(error),
        message: error.message,
        failures: 1,
      });
    });
    if (options.reason === 'refresh') this.counts.refreshFailed++;
  }

  private applyFailure(entry: Entry, failure: SecretFetchError, options: FetchOptions): void {
    const error = withoutValues(failure, entry);
    entry.error = error;
    entry.failures++;
    if (options.reason === 'refresh') this.counts.refreshFailed++;
    for (const slot of entry.slots) {
      this.emit({
        type: 'refresh-failed',
        name: slot.name,
        code: error.awsCode,
        message: error.message,
        failures: entry.failures,
      });
    }
  }

  private notify(slot: Slot, info: { name: string; version: string; previousVersion: string | undefined }): void {
    const listeners = slot.listeners;
    if (listeners === undefined) return;
    for (const listener of listeners) {
      try {
        const result = listener(slot.value, info);
        if (result && typeof (result as Promise<void>).then === 'function') {
          (result as Promise<void>).catch((error: unknown) => this.listenerFailed(slot, error));
        }
      } catch (error) {
        this.listenerFailed(slot, error);
      }
    }
  }

  private listenerFailed(slot: Slot, error: unknown): void {
    // A listener was handed the value and tends to put it in its message: name and code only.
    this.config.log.error(
      `A rotation listener for secret "${slot.name}" threw; other listeners and the refresh loop continue.`,
      { secret: slot.name, error: describeError(error, [slot.value, slot.previousValue]) },
    );
  }

  /**
   * Refreshes `entries` because something outside says they changed (`store.invalidate`). Calls
   * in the same tick share one batch; forced-refresh rate limiting applies.
   */
  invalidate(entries: readonly Entry[]): Promise<void> {
    if (this.invalidation) {
      for (const e of entries) this.invalidation.entries.add(e);
      return this.invalidation.promise;
    }
    const pending = new Set(entries);
    const promise = Promise.resolve().then(async () => {
      this.invalidation = undefined;
      if (this.closed) return;
      await this.request([...pending], { reason: 'refresh', force: true }).catch((error: unknown) =>
        this.config.log.error('Invalidation refresh failed unexpectedly', { error: errorCodeOf(error) }),
      );
      this.schedule();
    });
    this.invalidation = { entries: pending, promise };
    return promise;
  }

  /** Arms the first schedule read after load (rotationSchedule only): every id not pinned to a version. */
  startRotationSchedule(): void {
    const rs = this.config.rotationSchedule;
    if (!rs) return;
    if (!this.config.source.describe) {
      this.config.log.warn(
        `rotationSchedule: source "${this.config.source.kind}" cannot read rotation schedules (no DescribeSecret); ` +
          `secrets are polled every safetyInterval (${rs.safetyInterval} ms).`,
        { event: 'rotation-schedule-unavailable', source: this.config.source.kind },
      );
      return;
    }
    const now = this.config.clock.now();
    for (const entry of this.entries) if (entry.request.versionId === undefined) entry.describeAt = now;
  }

  /** One DescribeSecret round for the ids whose schedule is due; sets each one's post-rotation fetch time. */
  private async describeDue(now: number): Promise<void> {
    const rs = this.config.rotationSchedule;
    const describe = this.config.source.describe;
    if (!rs || !describe || this.describing) return;
    const due = this.entries.filter((e) => e.describeAt !== undefined && e.describeAt <= now + this.batchWindow);
    if (due.length === 0) return;
    this.describing = true;
    const abort = new AbortController();
    setMaxListeners(Infinity, abort.signal);
    this.aborts.add(abort);
    const timer = setTimeout(() => abort.abort(), this.config.fetchTimeout);
    timer.unref();
    let outcomes: readonly DescribeOutcome[];
    try {
      outcomes = await describe.call(
        this.config.source,
        due.map((e) => e.request.id),
        { signal: abort.signal, force: false, reason: 'refresh', logger: this.config.log },
      );
    } catch {
      outcomes = [];
    } finally {
      clearTimeout(timer);
      this.aborts.delete(abort);
      this.describing = false;
    }
    if (this.closed) return;
    const at = this.config.clock.now();
    const wall = this.config.clock.wallNow();
    let failed = 0;
    let code = '';
    due.forEach((entry, i) => {
      const o = outcomes[i];
      entry.describeAt = at + rs.describeInterval;
      if (!o?.ok) {
        failed++;
        code ||= o ? o.error.awsCode : 'NoResult';
        return;
      }
      const d = o.description;
      const moved =
        d.currentVersionId !== undefined &&
        entry.request.versionStage === undefined &&
        entry.versionId !== undefined &&
        d.currentVersionId !== entry.versionId;
      // The version already moved (a rotation that ran early, or a change we missed): fetch now.
      if (moved) entry.dueAt = at;
      const next = d.rotationEnabled ? d.nextRotationDate?.getTime() : undefined;
      // The fetch after the scheduled rotation still found the old version: the rotation has not
      // started (NextRotationDate passed) or is under way (AWSPENDING on another version). Look
      // again after delay, doubling, for one safety interval — a failed rotation can stay overdue
      // (and leave AWSPENDING behind) for good.
      const waiting =
        entry.rotationFetchedAt !== undefined &&
        d.currentVersionId === entry.versionId &&
        at - entry.rotationFetchedAt < rs.safetyInterval &&
        ((next !== undefined && next <= wall) || d.rotationPending === true);
      if (waiting) {
        entry.describeAt = at + Math.max(rs.delay, 1_000) * 2 ** Math.min(entry.rechecks++, 6);
      } else {
        entry.rotationFetchedAt = undefined;
        entry.rechecks = 0;
      }
      if (next !== undefined && (next > wall || (wall - next < rs.safetyInterval && !waiting && !moved))) {
        // Due in the future, or due just now (a describe that lands on the rotation time).
        entry.rotationAt = at + Math.max(0, next - wall) + rs.delay + Math.random() * rs.jitter;
        entry.dueAt = Math.min(entry.dueAt, entry.rotationAt);
      } else {
        entry.rotationAt = undefined;
      }
    });
    if (failed > 0 && !this.describeWarned) {
      this.describeWarned = true;
      this.config.log.warn(
        `rotationSchedule: DescribeSecret failed for ${failed} secret(s) (${code}); they are polled every safetyInterval. ` +
          `Grant secretsmanager:DescribeSecret to use rotation schedules.`,
        { event: 'rotation-schedule-failed', code, failed },
      );
    }
  }

  onSourceChange(ids: readonly string[], current: readonly CurrentVersion[] = []): void {
    if (this.closed) return;
    if (current.length > 0) this.confirmCurrent(current);
    const entries = this.entries.filter((e) => ids.includes(e.request.id));
    if (entries.length > 0)
      void this.request(entries, { reason: 'refresh', force: false }).finally(() => this.schedule());
  }

  /**
   * A watching source checked that these ids still hold the version served: as good as a
   * successful fetch of it. Only the served version is confirmed (not one that was rejected), and
   * only for entries with no error and no fetch in flight.
   */
  private confirmCurrent(current: readonly CurrentVersion[]): void {
    const now = this.config.clock.now();
    let confirmed = false;
    for (const { id, versionId } of current) {
      for (const entry of this.entries) {
        if (entry.request.id !== id || entry.request.versionId || entry.request.versionStage) continue;
        if (entry.inflight || entry.error || entry.versionId !== versionId) continue;
        entry.lastSuccessAt = now;
        for (const slot of entry.slots) {
          if (!slot.loaded || slot.version !== versionId || slot.error) continue;
          slot.goodAt = now;
          slot.staleNotified = false;
          confirmed = true;
        }
      }
    }
    if (confirmed) this.schedule();
  }

  /** One timer per store: wakes at the earliest due refresh or staleness crossing. */
  schedule(): void {
    if (this.closed || !this.loaded) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const now = this.config.clock.now();
    let next = Infinity;
    for (const entry of this.entries) {
      if (entry.interval > 0 || entry.error || entry.rotationAt !== undefined) next = Math.min(next, entry.dueAt);
      if (entry.describeAt !== undefined) next = Math.min(next, entry.describeAt);
    }
    for (const slot of this.slots.values()) {
      if (slot.loaded && !slot.staleNotified && slot.goodAt !== undefined)
        next = Math.min(next, slot.goodAt + this.config.maxStaleness + 1);
    }
    if (next === Infinity) return;
    this.timer = setTimeout(() => void this.tick(), Math.max(0, Math.min(next - now, 2_147_483_647)));
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.closed) return;
    const now = this.config.clock.now();
    // Refresh everything due soon together, so a fleet's refresh stays batched.
    const due = this.entries.filter(
      (e) =>
        !e.inflight && (e.interval > 0 || e.error || e.rotationAt !== undefined) && e.dueAt <= now + this.batchWindow,
    );
    if (due.length > 0) {
      // Ids with other intervals that are nearly due ride along (at most their jitter early), so
      // declarations with different intervals keep sharing batches instead of drifting apart.
      const taken = new Set(due);
      for (const e of this.entries) {
        if (!e.inflight && e.interval > 0 && !taken.has(e) && e.dueAt <= now + e.interval * this.config.jitter)
          due.push(e);
      }
    }
    if (due.length > 0) {
      try {
        await this.request(due, { reason: 'refresh', force: false });
      } catch (error) {
        this.config.log.error('Background refresh failed unexpectedly', { error: errorCodeOf(error) });
      }
    }
    try {
      await this.describeDue(this.config.clock.now());
    } catch (error) {
      this.config.log.error('Rotation schedule read failed unexpectedly', { error: errorCodeOf(error) });
    }
    this.checkStaleness();
    this.schedule();
  }

  private checkStaleness(): void {
    const now = this.config.clock.now();
    for (const slot of this.slots.values()) {
      if (!slot.loaded || slot.staleNotified || slot.goodAt === undefined) continue;
      if (now - slot.goodAt > this.config.maxStaleness) {
        slot.staleNotified = true;
        const error = slot.error ?? slot.entry.error;
        this.emit({
          type: 'became-stale',
          name: slot.name,
          ageSeconds: Math.floor((now - slot.goodAt) / 1000),
          ...(error ? { code: errorCodeOf(error) } : {}),
        });
      }
    }
  }

  /** Marks the engine closed: clears every timer, rejects every awaited one, aborts in-flight calls. */
  stop(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const cancel of [...this.cancels]) cancel();
    this.cancels.clear();
    for (const a of this.aborts) a.abort(new SecretsStoreClosedError('continue a fetch'));
  }

  emit(event: SecretsEvent): void {
    logEvent(this.config.log, event, this.loaded);
    for (const listener of this.eventListeners) {
      try {
        listener(event);
      } catch {
        // Event listeners are observers; one that throws must not break the store.
      }
    }
  }

  /**
   * A delay a caller awaits (start-up jitter, boot backoff, a deferred refresh): the timer keeps
   * the process alive, and `stop()` rejects it with SecretsStoreClosedError(`operation`).
   */
  sleep(ms: number, operation = 'finish load'): Promise<void> {
    if (this.closed) return Promise.reject(new SecretsStoreClosedError(operation));
    return new Promise((resolve, reject) => {
      const cancel = (): void => {
        clearTimeout(timer);
        this.cancels.delete(cancel);
        reject(new SecretsStoreClosedError(operation));
      };
      const timer = setTimeout(() => {
        this.cancels.delete(cancel);
        resolve();
      }, ms);
      this.cancels.add(cancel);
    });
  }
}

/** Settles with `promise`, or rejects with the signal's reason as soon as it aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}

/**
 * The source's error, or — when its text (an AWS or agent message, a proxy's body) carries a
 * fragment of a current or previous value of this entry — the same error with that text withheld.
 */
function withoutValues(error: SecretFetchError, entry: Entry): SecretFetchError {
  const values = entry.slots.filter((s) => s.loaded).flatMap((s) => [s.value, s.previousValue]);
  if (values.length === 0) return error;
  const fragments = Fragments.of(...values);
  const codeLeaks = fragments.in(error.awsCode);
  if (!codeLeaks && !fragments.in(error.message)) return error;
  return new SecretFetchError(
    error.secretId,
    codeLeaks ? 'UnknownError' : error.awsCode,
    'the source answered with text that quotes the current value; it is withheld',
    { retryable: error.retryable, throttled: error.throttled },
  );
}
