import { setMaxListeners } from 'node:events';
import { endedByAbort, untilAborted } from './abort';
import { applyFailure, applySuccess, notify, parseFor, type ApplyContext, type Rotation } from './apply';
import type { NormalizedDeclaration } from './declarations';
import { SecretFetchError, SecretsStoreClosedError, errorCodeOf } from './errors';
import { logEvent, type SecretsEvent, type SecretsEventListener } from './events';
import { createEntries, type Entry, type FetchOptions, type Slot } from './refresh-state';
import { RotationSchedule, type ScheduleHost } from './rotation-schedule';
import { changePending, mayRideAlong, nextFetchAt, pollDueAt, rotationPending, type ScheduleConfig } from './schedule';
import { checkOutcomes } from './sources/answers';
import type { CurrentVersion, FetchOutcome, RawSecret, Source } from './sources/source';
import type { ResolvedStoreOptions } from './store-options';
import { ValueIndex } from './value-index';

/**
 * @internal The refresh engine behind a {@link SecretStore}: the entries and slots, single
 * flight, rate-limited forced refreshes (deferral), fetch rounds (parse, then swap every value at
 * once, then notify), backoff, staleness and the one timer. The store is its public face.
 */
/** How early (ms) a timer may fire and still find what it was set for due (see `dueEntries`). */
const DUE_TOLERANCE = 1;
/** A fetch deadline firing this late (ms) means the process did not run meanwhile (a Lambda freeze). */
const LATE_DEADLINE_MS = 250;
/** The extra time such a fetch gets (at most its timeout) to read an answer that came during the freeze. */
const THAW_GRACE_MS = 1_000;
/** How long a source has, after the round's deadline aborted it, to return what it already has. */
const ABORT_SETTLE_MS = 100;

export class RefreshEngine implements ApplyContext, ScheduleHost {
  readonly slots: Map<string, Slot>;
  readonly entries: Entry[];
  readonly eventListeners = new Set<SecretsEventListener>();
  /** In-flight source calls, aborted by `stop()`. */
  readonly aborts = new Set<AbortController>();
  /** Aborted by `stop()`: a round waiting for what its source has after a deadline stops waiting. */
  private readonly closing = new AbortController();
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
  /** Callers awaiting an answer to a change they recorded (`invalidate()`); they keep the timer ref'd. */
  private readonly waiters = new Set<Waiter>();
  /** Background rounds in flight (the timer's): `refreshDue()` joins them. */
  private readonly background = new Set<Promise<void>>();
  /** The earliest {@link nextFetchAt} over every entry, as of the last {@link schedule} (derived there). */
  private fetchDueAt = Infinity;
  /** The batching window: entries due within it are fetched together. */
  readonly batchWindow: number;
  private readonly rotation = new RotationSchedule(this);
  /** What the derived schedule reads of the store's settings. */
  private readonly plan: ScheduleConfig;
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
      config.sources,
    ));
    // One listener per round waiting out its settle time (one per source at most, plus joins).
    setMaxListeners(Infinity, this.closing.signal);
    const positive = this.entries.map((e) => e.interval).filter((ms) => ms > 0);
    this.batchWindow = positive.length > 0 ? Math.min(1_000, Math.min(...positive) * 0.05) : 0;
    this.plan = {
      jitter: config.jitter,
      minRefreshInterval: config.minRefreshInterval,
      backoff: config.backoff,
      batchWindow: this.batchWindow,
    };
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

  /**
   * One round: the entries of each source in one call to that source, every source in parallel.
   * Each source's call is its own unit (its own deadline, its own swap), so a slow or failing
   * source never holds back the values of another.
   */
  fetch(entries: readonly Entry[], options: FetchOptions): Promise<void> {
    const bySource = new Map<Source, Entry[]>();
    for (const e of entries) {
      const group = bySource.get(e.source);
      if (group) group.push(e);
      else bySource.set(e.source, [e]);
    }
    if (bySource.size <= 1) return this.fetchFrom(entries, options);
    return Promise.all([...bySource.values()].map((group) => this.fetchFrom(group, options))).then(() => undefined);
  }

  /** One call to the source of `entries` (they share it). */
  private fetchFrom(entries: readonly Entry[], options: FetchOptions): Promise<void> {
    let deadline: NodeJS.Timeout | undefined;
    // A deadline re-armed later (see runFetch) replaces the one callers `ref()`.
    const round: { shared?: Promise<void> } = {};
    const run = this.runFetch(entries, options, (timer) => {
      deadline = timer;
      if (round.shared) this.deadlines.set(round.shared, timer);
    });
    const shared = run.finally(() => {
      for (const e of entries) if (e.inflight === shared) e.inflight = undefined;
      this.settleWaiters();
      this.schedule();
    });
    round.shared = shared;
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
    // Facts the schedule reads: which rotation this fetch may answer is decided before it starts.
    const answersRotation = entries.map(
      (e) => rotationPending(e, this.plan) && started >= e.rotationAt! - this.batchWindow,
    );
    const pollWasDue = entries.map(
      (e) =>
        e.polledAt === undefined ||
        pollDueAt(e, this.plan) <= started + Math.max(this.batchWindow, e.interval * this.config.jitter),
    );
    for (const e of entries) {
      e.attempts++;
      e.lastAttemptAt = started;
    }
    const timeout = Math.max(1, Math.min(this.config.fetchTimeout, (options.deadline ?? Infinity) - started));
    const abort = new AbortController();
    // One signal is shared by every SDK call of the round (one per batch of 20, plus spillover and
    // retries): lift Node's 10-listener warning for it.
    setMaxListeners(Infinity, abort.signal);
    let dueAt = started + timeout;
    let graced = false;
    const expire = (): void => {
      const now = this.config.clock.now();
      // Far past its time: the process was not running (Lambda froze it with the call in flight),
      // and an answer that came meanwhile is waiting in the socket. Once, a short grace to read it
      // (the freeze is not the source's failure), then the deadline holds.
      if (!graced && now - dueAt > LATE_DEADLINE_MS) {
        graced = true;
        dueAt = now + Math.min(timeout, THAW_GRACE_MS);
        const ref = timer.hasRef();
        timer = setTimeout(expire, dueAt - now);
        if (!ref) timer.unref();
        onDeadline(timer);
        return;
      }
      abort.abort(
        new SecretFetchError('*', 'TimeoutError', `no answer within ${Math.round(timeout)} ms`, { retryable: true }),
      );
    };
    let timer = setTimeout(expire, timeout);
    // Load and forced refreshes are awaited by a caller: their deadline keeps the process alive
    // (a source that holds no handle would otherwise let `node app.js` exit mid-load).
    if (options.reason !== 'load' && !options.force) timer.unref();
    onDeadline(timer);
    this.aborts.add(abort);
    let outcomes: readonly FetchOutcome[];
    const source = entries[0]!.source;
    try {
      const requests = entries.map((e) => e.request);
      // At the deadline a source that honours the signal returns at once: the answers it already
      // has are kept (one hung batch call of five does not fail the other four), the rest time out.
      // The deadline wins when the source ignores the signal (a wrapper that drops abortSignal, a
      // read of a hung mount): its late answer is dropped.
      const answer: unknown = await untilAborted(
        source.fetch(requests, {
          signal: abort.signal,
          force: options.force,
          reason: options.reason,
          logger: this.config.log,
        }),
        abort.signal,
        { ms: ABORT_SETTLE_MS, cut: this.closing.signal },
      );
      // Validated before anything is applied: a malformed answer fails its secret, never the round.
      outcomes = checkOutcomes(requests, answer, source.kind);
    } catch (error) {
      const code = abort.signal.aborted ? 'TimeoutError' : errorCodeOf(error);
      outcomes = entries.map((e) => ({
        ok: false as const,
        error: new SecretFetchError(e.request.id, code, `source "${source.kind}" failed`, {
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
      const reason: unknown = abort.signal.reason;
      outcomes = entries.map((e, i) => {
        const o = outcomes[i];
        // What came before the cut is kept, a failure too (ResourceNotFoundException, a throttled
        // id): only what the cut ended (or an id the source left without a result) is a timeout.
        if (o && (o.ok || (o.error.awsCode !== 'NoResult' && !endedByAbort(o.error, reason)))) return o;
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
    // One jitter draw per round (poll period and backoff), so ids fetched together stay due together
    // (one batch next time).
    const roundDraw = Math.random();
    // Phase 2: swap every value synchronously, so no reader sees half of one refresh. Then record
    // what happened; when each id is next due follows from these facts (schedule.ts).
    const rotated: Rotation[] = [];
    prepared.forEach(({ entry, outcome, parsed }, i) => {
      entry.settledAt = now;
      if (outcome.ok) {
        const previous = entry.versionId;
        applySuccess(this, entry, outcome.secret, parsed, now, options, rotated);
        entry.arn = outcome.secret.arn ?? entry.arn;
        entry.okAttemptAt = started;
        recordLease(entry, outcome.secret, now, this.config.clock.wallNow(), roundDraw);
        // Only a fetch that was (nearly) due restarts the periodic poll. A fetch for a rotation, an
        // invalidation or a file change keeps it, so the id stays in its usual batch.
        if (pollWasDue[i]) {
          entry.polledAt = now;
          entry.pollDraw = roundDraw;
        }
        // The fetch after the scheduled rotation: one DescribeSecret learns the next date (and, if
        // the version has not moved yet, whether a rotation is still under way).
        if (answersRotation[i]) entry.rotationFetch = { at: now, moved: previous !== entry.versionId };
      } else {
        applyFailure(this, entry, outcome.error, options);
        entry.retryable = outcome.error.retryable;
        entry.failureDraw = roundDraw;
      }
    });
    // Phase 3: listeners run after every value is in place.
    for (const { slot, info } of rotated) notify(this.config.log, slot, info);
  }

  /** A slot took a new value: the generation moves on and the store drops its cached snapshot. */
  valueChanged(): void {
    this.generation++;
    this.onValueChange();
  }

  /**
   * Something outside says `entries` changed (`store.invalidate`): records the change and resolves
   * with their names once each has been answered by a fetch that started after this call. Changes
   * recorded in the same tick are fetched in one batch; the schedule holds them to
   * `minRefreshInterval` and to any backoff. On `close()` it resolves with the names answered by then.
   */
  invalidate(entries: readonly Entry[]): Promise<string[]> {
    this.recordChange(entries);
    // A round in flight is awaited now (its answer comes first): its deadline holds the process too.
    for (const e of entries) if (e.inflight) this.deadlines.get(e.inflight)?.ref();
    const marks = entries.map((e) => e.attempts);
    const promise = new Promise<string[]>((resolve) => this.waiters.add({ entries, marks, resolve }));
    this.schedule();
    return promise;
  }

  /** Records that `entries` changed at the source (a fact the schedule answers with a fetch). */
  recordChange(entries: readonly Entry[]): void {
    const at = this.config.clock.now();
    for (const e of entries) if (!changePending(e)) e.change = { at, attempt: e.attempts };
  }

  /** Resolves the waiters whose every entry has been answered (or, once closed, every waiter). */
  private settleWaiters(): void {
    for (const w of this.waiters) {
      const answered = w.entries.filter((e, i) => e.attempts > w.marks[i]! && !e.inflight);
      if (answered.length < w.entries.length && !this.closed) continue;
      this.waiters.delete(w);
      w.resolve(answered.flatMap((e) => e.slots.map((s) => s.name)));
    }
  }

  /** Arms the first schedule read after load (rotationSchedule only). */
  startRotationSchedule(): void {
    this.rotation.start();
  }

  /**
   * A watching source reports `ids` that may have changed, and the version it holds now for
   * others (`current`). Each is compared with what this store serves: the same version confirms
   * it (as good as a successful fetch); another one (not one this store already rejected) is a
   * change, answered by a fetch. The comparison is this store's, so stores sharing one source each
   * see every change.
   */
  onSourceChange(ids: readonly string[], current: readonly CurrentVersion[] = [], source = this.config.source): void {
    if (this.closed) return;
    const now = this.config.clock.now();
    const changed: Entry[] = [];
    for (const entry of this.entries) {
      if (entry.request.versionId !== undefined || entry.source !== source) continue;
      if (ids.includes(entry.request.id)) {
        changed.push(entry);
        continue;
      }
      const seen = current.find((c) => c.id === entry.request.id);
      if (seen === undefined) continue;
      if (seen.versionId === entry.versionId) {
        if (entry.request.versionStage === undefined && !entry.inflight && !entry.error) this.confirm(entry, now);
      } else if (!entry.slots.some((s) => s.failedVersion === seen.versionId)) {
        changed.push(entry);
      }
    }
    if (changed.length > 0) this.recordChange(changed);
    this.schedule();
  }

  /**
   * A watching source checked that this entry still holds the version served: as good as a
   * successful fetch of it, for the slots that serve it without an error of their own.
   */
  private confirm(entry: Entry, now: number): void {
    entry.lastSuccessAt = now;
    for (const slot of entry.slots) {
      if (!slot.loaded || slot.version !== entry.versionId || slot.error) continue;
      slot.goodAt = now;
      slot.staleNotified = false;
    }
  }

  /**
   * One timer per store, armed at the earliest derived wake: an id's next fetch
   * ({@link nextFetchAt}), its next schedule read, or a staleness crossing. Called after every
   * recorded fact; it writes nothing but the timer (ref'd only while a caller awaits an answer).
   */
  schedule(): void {
    if (this.closed || !this.loaded) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const now = this.config.clock.now();
    let fetchAt = Infinity;
    for (const entry of this.entries) fetchAt = Math.min(fetchAt, nextFetchAt(entry, this.plan));
    this.fetchDueAt = fetchAt;
    let next = Math.min(fetchAt, this.rotation.nextAt());
    for (const slot of this.slots.values()) {
      if (staleCandidate(this, slot)) next = Math.min(next, slot.goodAt! + this.config.maxStaleness + 1);
    }
    // A lease not replaced by its end is said at its end.
    for (const entry of this.entries) if (leaseUnreported(entry)) next = Math.min(next, entry.leaseEndAt!);
    if (next === Infinity) return;
    // Rounded up: a timer set for a fraction of a millisecond would fire at once, before `next`,
    // find nothing due and set itself again (a spin; forever under fake timers).
    this.timer = setTimeout(() => this.tick(), Math.max(0, Math.min(Math.ceil(next - now), 2_147_483_647)));
    if (this.waiters.size === 0) this.timer.unref();
  }

  /**
   * Whether `entry` is kept fresh at all: polled in the background, or watched by its source. A
   * secret nobody asked to refresh (`refreshInterval: false`, no watch) is never stale.
   */
  refreshes(entry: Entry): boolean {
    return entry.interval > 0 || entry.leaseEndAt !== undefined || typeof entry.source.watch === 'function';
  }

  /** The lease of a served value ended and nothing replaced it: said loudly, once per lease. */
  private leaseExpired(entry: Entry): void {
    const names = entry.slots.map((s) => s.name);
    const why = entry.error
      ? `last error: ${errorCodeOf(entry.error)}`
      : entry.inflight
        ? 'a renewal is still waiting for its answer'
        : 'no renewal was tried before it ended';
    this.config.log.error(
      `Lease of secret id "${entry.request.id}" (${names.join(', ')}) expired with no replacement: the value no longer ` +
        `works (${why}); health reports it expired until a fetch succeeds.`,
      {
        event: 'lease-expired',
        id: entry.request.id,
        names,
        code: entry.error ? errorCodeOf(entry.error) : undefined,
      },
    );
  }

  /** Whether a background refresh is due now or under way (a clock read and a comparison). */
  isRefreshDue(): boolean {
    if (!this.loaded || this.closed) return false;
    return this.background.size > 0 || this.config.clock.now() >= this.fetchDueAt;
  }

  /**
   * Runs now the round the timer would run for every id that is due, and joins every round in
   * flight. Resolves with the names fetched; never rejects for a source failure.
   */
  async refreshDue(): Promise<string[]> {
    if (this.closed) throw new SecretsStoreClosedError('refresh');
    if (!this.loaded) return [];
    const due = this.dueEntries(this.config.clock.now());
    const joined = this.entries.filter((e) => e.inflight !== undefined);
    const waits: Promise<void>[] = joined.map((e) => e.inflight!.catch(() => undefined));
    if (due.length > 0) this.startRound(due);
    // A caller awaits these rounds now: their deadlines (unref'd for the timer's rounds) must keep
    // the process alive, or a source that holds no handle lets `node app.js` exit mid-await.
    for (const e of this.entries) if (e.inflight) this.deadlines.get(e.inflight)?.ref();
    await Promise.all([...waits, ...this.background]);
    if (this.closed) throw new SecretsStoreClosedError('finish refresh');
    return [...due, ...joined].flatMap((e) => e.slots.map((s) => s.name));
  }

  /** The ids to fetch in a round starting at `now`: every due one, and polls that may ride along. */
  private dueEntries(now: number): Entry[] {
    // A round starts only when an id is due now; ids due within the batch window then join it. A
    // tick for another reason (a lease's end, staleness) must not pull a future fetch forward: a
    // lease over on arrival is due max(1 s, minRefreshInterval) later, inside that window.
    // `DUE_TOLERANCE`: a timer may fire a fraction of a millisecond before the time it was set for
    // (whole-millisecond timers, a loop clock behind the monotonic one); that id is due.
    if (!this.entries.some((e) => nextFetchAt(e, this.plan) <= now + DUE_TOLERANCE)) return [];
    const due = this.entries.filter((e) => nextFetchAt(e, this.plan) <= now + this.batchWindow);
    // Ids with other intervals that are nearly due ride along (at most their jitter early), so
    // declarations with different intervals keep sharing batches instead of drifting apart.
    for (const e of this.entries) if (!due.includes(e) && mayRideAlong(e, now, this.plan)) due.push(e);
    return due;
  }

  private startRound(due: readonly Entry[]): void {
    // A recorded change bypasses source caches (agent `refreshNow`), like a forced refresh.
    const force = due.some(changePending);
    const round = this.request(due, { reason: 'refresh', force, rateLimit: false }).then(
      () => undefined,
      (error: unknown) => {
        this.config.log.error('Background refresh failed unexpectedly', { error: errorCodeOf(error) });
      },
    );
    this.background.add(round);
    void round.finally(() => {
      this.background.delete(round);
      this.schedule();
    });
  }

  private tick(): void {
    this.timer = undefined;
    if (this.closed) return;
    const now = this.config.clock.now();
    const due = this.dueEntries(now);
    if (due.length > 0) this.startRound(due);
    this.rotation.describeDue(now).then(
      () => this.schedule(),
      (error: unknown) => {
        this.config.log.error('Rotation schedule read failed unexpectedly', { error: errorCodeOf(error) });
      },
    );
    this.checkStaleness();
    this.checkLeases(now);
    this.schedule();
  }

  /** Each lease that ended with no replacement is said loudly, once (health shows it `expired`). */
  private checkLeases(now: number): void {
    for (const entry of this.entries) {
      if (!leaseUnreported(entry) || entry.leaseEndAt! > now) continue;
      entry.leaseEndReported = entry.leaseEndAt;
      this.leaseExpired(entry);
    }
  }

  private checkStaleness(): void {
    const now = this.config.clock.now();
    for (const slot of this.slots.values()) {
      if (!staleCandidate(this, slot)) continue;
      if (now - slot.goodAt! > this.config.maxStaleness) {
        slot.staleNotified = true;
        const error = slot.error ?? slot.entry.error;
        this.emit({
          type: 'became-stale',
          name: slot.name,
          ageSeconds: Math.floor((now - slot.goodAt!) / 1000),
          ...(error ? { code: errorCodeOf(error) } : {}),
        });
      }
    }
  }

  /** Marks the engine closed: clears every timer, rejects every awaited one, aborts in-flight calls. */
  stop(): void {
    this.closed = true;
    this.closing.abort();
    if (this.timer) clearTimeout(this.timer);
    for (const cancel of [...this.cancels]) cancel();
    this.cancels.clear();
    for (const a of this.aborts) a.abort(new SecretsStoreClosedError('continue a fetch'));
    this.settleWaiters();
    this.values.close();
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

/** A caller awaiting answers to the changes it recorded. */
interface Waiter {
  readonly entries: readonly Entry[];
  /** Each entry's fetches started when the change was recorded. */
  readonly marks: readonly number[];
  resolve(names: string[]): void;
}

/** A slot that can still cross `maxStaleness`: loaded, refreshed, and not yet reported stale. */
function staleCandidate(engine: RefreshEngine, slot: Slot): boolean {
  // A leased value is never stale: its lease says how long it works (health shows it `expired` after).
  return (
    slot.loaded &&
    !slot.staleNotified &&
    slot.goodAt !== undefined &&
    slot.entry.leaseEndAt === undefined &&
    engine.refreshes(slot.entry)
  );
}

/**
 * Records the lease of a value just fetched (a fact the schedule reads): when it ends, as the
 * monotonic clock sees the source's `expiresAt`, and its jitter draw. A value without `expiresAt`
 * has no lease.
 */
function recordLease(entry: Entry, secret: RawSecret, now: number, wallNow: number, draw: number): void {
  const expiresAt = secret.expiresAt?.getTime();
  entry.leaseEndAt = expiresAt !== undefined && Number.isFinite(expiresAt) ? now + (expiresAt - wallNow) : undefined;
  entry.leaseDraw = draw;
}

/** The lease of the value served has an end not reported yet (a new lease resets this). */
function leaseUnreported(entry: Entry): boolean {
  return entry.leaseEndAt !== undefined && entry.leaseEndReported !== entry.leaseEndAt;
}
