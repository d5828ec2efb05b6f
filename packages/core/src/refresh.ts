import { setMaxListeners } from 'node:events';
import { untilAborted } from './abort';
import { applyFailure, applySuccess, notify, parseFor, type ApplyContext, type Rotation } from './apply';
import { jitteredInterval, refreshBackoff } from './backoff';
import type { NormalizedDeclaration } from './declarations';
import { SecretFetchError, SecretsStoreClosedError, errorCodeOf } from './errors';
import { logEvent, type SecretsEvent, type SecretsEventListener } from './events';
import { createEntries, type Entry, type FetchOptions, type Slot } from './refresh-state';
import { RotationSchedule, type ScheduleHost } from './rotation-schedule';
import { checkOutcomes } from './sources/answers';
import type { CurrentVersion, FetchOutcome } from './sources/source';
import type { ResolvedStoreOptions } from './store-options';
import { ValueIndex } from './value-index';

/**
 * @internal The refresh engine behind a {@link SecretStore}: the entries and slots, single
 * flight, rate-limited forced refreshes (deferral), fetch rounds (parse, then swap every value at
 * once, then notify), backoff, staleness and the one timer. The store is its public face.
 */
export class RefreshEngine implements ApplyContext, ScheduleHost {
  readonly slots: Map<string, Slot>;
  readonly entries: Entry[];
  readonly eventListeners = new Set<SecretsEventListener>();
  /** In-flight source calls, aborted by `stop()`. */
  readonly aborts = new Set<AbortController>();
  /** The deadline timer of each in-flight round (background rounds' are unref'd until a caller joins). */
  private readonly deadlines = new WeakMap<Promise<void>, NodeJS.Timeout>();
  /** Settles every timer a caller awaits (a sleep, a deferred refresh) with SecretsStoreClosedError. */
  private readonly cancels = new Set<() => void>();
  readonly counts = { loads: 0, refreshOk: 0, refreshFailed: 0, rotations: 0 };
  loaded = false;
  closed = false;
  generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private deferred: { entries: Set<Entry>; promise: Promise<void> } | undefined;
  private invalidation: { entries: Set<Entry>; promise: Promise<void> } | undefined;
  /** The batching window: entries due within it are fetched together. */
  readonly batchWindow: number;
  private readonly rotation = new RotationSchedule(this);
  /** Every value this store holds, indexed for the leak check on the first foreign failure. */
  readonly values = new ValueIndex(this);

  constructor(
    decls: readonly NormalizedDeclaration[],
    readonly config: ResolvedStoreOptions,
    /** Called after any value changed (the store drops its cached snapshot). */
    private readonly onValueChange: () => void,
  ) {
    ({ entries: this.entries, slots: this.slots } = createEntries(
      decls,
      config.rotationSchedule?.safetyInterval ?? config.refreshInterval,
    ));
    const positive = this.entries.map((e) => e.interval).filter((ms) => ms > 0);
    this.batchWindow = positive.length > 0 ? Math.min(1_000, Math.min(...positive) * 0.05) : 0;
  }

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
        // A caller that awaits (load, forced refresh) joining a background round: that round's
        // deadline now keeps the process alive too, or a source holding no handle lets it exit.
        if (options.force || options.reason === 'load') this.deadlines.get(entry.inflight)?.ref();
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
    let deadline: NodeJS.Timeout | undefined;
    const run = this.runFetch(entries, options, (timer) => (deadline = timer));
    const shared = run.finally(() => {
      for (const e of entries) if (e.inflight === shared) e.inflight = undefined;
    });
    if (deadline) this.deadlines.set(shared, deadline);
    for (const e of entries) e.inflight = shared;
    return shared;
  }

  private async runFetch(
    entries: readonly Entry[],
    options: FetchOptions,
    onDeadline: (timer: NodeJS.Timeout) => void,
  ): Promise<void> {
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
    onDeadline(timer);
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
        const parsed = await Promise.all(entry.slots.map((slot) => parseFor(this, slot, outcome.secret)));
        return { entry, outcome, parsed };
      }),
    );
    if (this.closed) return;
    const roundRandom = Math.random();
    // Phase 2: swap every value synchronously, so no reader sees half of one refresh.
    const rotated: Rotation[] = [];
    for (const { entry, outcome, parsed } of prepared) {
      // One jitter draw per round, so ids fetched together stay due together (one batch next time).
      const interval = jitteredInterval(entry.interval, this.config.jitter, () => roundRandom);
      if (outcome.ok) {
        const previous = entry.versionId;
        applySuccess(this, entry, outcome.secret, parsed, now, options, rotated);
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
        applyFailure(this, entry, outcome.error, options);
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
    for (const { slot, info } of rotated) notify(this.config.log, slot, info);
  }

  /** A slot took a new value: the generation moves on and the store drops its cached snapshot. */
  valueChanged(): void {
    this.generation++;
    this.onValueChange();
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

  /** Arms the first schedule read after load (rotationSchedule only). */
  startRotationSchedule(): void {
    this.rotation.start();
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
      await this.rotation.describeDue(this.config.clock.now());
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
