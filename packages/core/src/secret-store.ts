import { setMaxListeners } from 'node:events';
import { inspect } from 'node:util';
import {
  normalizeDeclarations,
  type InferSecrets,
  type NormalizedDeclaration,
  type SecretDeclarations,
  type SecretName,
  type SecretValueOf,
} from './declarations';
import {
  SecretFetchError,
  SecretNotFoundError,
  SecretNotLoadedError,
  SecretsConfigError,
  SecretsError,
  SecretsLoadError,
  SecretsStoreClosedError,
  errorCodeOf,
  type SecretFailure,
} from './errors';
import type { SecretsEvent, SecretsEventListener } from './events';
import { toLogger, type LoggerLike } from './logger';
import { instrumentStore, type MeterProviderLike } from './metrics';
import { parseSecret } from './parse';
import { REDACTED, Secret, redactObject, type SecretSlot } from './secret';
import type { FetchOutcome, RawSecret, SecretRequest, Source, SourceStats } from './sources/source';
import { checkKnownKeys, parseDuration, type Duration } from './validation';

/** A monotonic clock (milliseconds) and a wall clock. Injectable for tests. */
export interface Clock {
  /** Monotonic milliseconds; used for ages, backoff and scheduling. @default performance.now */
  now(): number;
  /** Wall-clock time; used only for `updatedAt` dates. @default Date.now */
  wallNow(): number;
}

const defaultClock: Clock = { now: () => performance.now(), wallNow: () => Date.now() };

/** Options of {@link SecretStore}. Durations are milliseconds or strings like `'5m'`. */
export interface SecretStoreOptions {
  /** Where secrets come from: `awsSecretsManager()`, `secretsManagerAgent()`, `mountedFiles()`, `memorySource()`. */
  source: Source;
  /**
   * Background refresh interval, jittered ±`refreshJitter`. `false` or `0` disables background refresh.
   * @default '5m'
   */
  refreshInterval?: Duration | false;
  /** Fraction of jitter applied to `refreshInterval`. @default 0.1 */
  refreshJitter?: number;
  /** A secret whose last good fetch is older than this is `stale` and health turns `degraded`. @default '1h' */
  maxStaleness?: Duration;
  /** Deadline for `load()`, including retries through throttling. @default '30s' */
  bootTimeout?: Duration;
  /** Random delay in [0, startupJitter] before the first call, to spread a fleet's boot. @default 0 */
  startupJitter?: Duration;
  /** Forced refreshes of one secret closer together than this are coalesced. @default '1s' */
  minRefreshInterval?: Duration;
  /** Deadline for one background or forced refresh call to the source. @default '30s' */
  fetchTimeout?: Duration;
  /** Backoff after failures: full jitter between `initial·2^n / 2` and `initial·2^n`, capped at `max`. */
  backoff?: { initial?: Duration; max?: Duration };
  /** Receives lifecycle lines; never a value. `false` silences it. @default silent */
  logger?: LoggerLike | false;
  /**
   * Where metrics go (see the README's Metrics table). `false` records none.
   * @default the global OpenTelemetry MeterProvider — a no-op unless the app registered one
   */
  meterProvider?: MeterProviderLike | false;
  /** @internal Test clock. */
  clock?: Clock;
}

const OPTION_KEYS = [
  'source',
  'refreshInterval',
  'refreshJitter',
  'maxStaleness',
  'bootTimeout',
  'startupJitter',
  'minRefreshInterval',
  'fetchTimeout',
  'backoff',
  'logger',
  'meterProvider',
  'clock',
] as const;

/** Per-secret health status. */
export type SecretStatus = 'fresh' | 'error' | 'stale' | 'missing';
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
}

export interface HealthReport {
  readonly status: StoreStatus;
  readonly secrets: Readonly<Record<string, SecretHealth>>;
}

export interface StoreStats extends SourceStats {
  readonly source: string;
  readonly loads: number;
  /** Background and forced refreshes per fetched id (names sharing an id count once); `failed` includes a new version that did not parse. */
  readonly refreshes: { readonly ok: number; readonly failed: number };
  readonly rotations: number;
}

/** Information passed to `subscribe` listeners with the new value. */
export interface RotationInfo {
  readonly name: string;
  readonly version: string;
  readonly previousVersion: string | undefined;
}

export type SecretListener<T> = (next: T, info: RotationInfo) => void | Promise<void>;

interface Entry {
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
}

interface Slot extends SecretSlot<unknown> {
  readonly decl: NormalizedDeclaration;
  readonly handle: Secret<unknown>;
  entry: Entry;
  /** When this slot last held a value confirmed by a successful fetch (monotonic). */
  goodAt: number | undefined;
  error: SecretsError | undefined;
  /** A version that failed to parse, so it is not re-parsed on every refresh. */
  failedVersion: string | undefined;
  staleNotified: boolean;
  /** Created on the first `subscribe` (an empty Set costs ~150 B per secret). */
  listeners: Set<SecretListener<unknown>> | undefined;
}

interface FetchOptions {
  readonly reason: 'load' | 'refresh';
  readonly force: boolean;
  readonly deadline?: number;
  /** Forced refreshes are rate-limited unless this is false (a deferred call that already waited). */
  readonly rateLimit?: boolean;
}

/**
 * Holds every declared secret in memory: loads them in as few calls as the source allows,
 * refreshes them in the background, serves the last good value while the source fails,
 * and reports age and staleness. Reads are synchronous property reads.
 *
 * @example
 * const store = new SecretStore(secrets, { source: awsSecretsManager({ region: 'eu-west-1' }) });
 * await store.load();
 * store.get('db').password;
 */
export class SecretStore<D extends SecretDeclarations = SecretDeclarations> {
  readonly #slots = new Map<string, Slot>();
  readonly #entries: Entry[] = [];
  readonly #source: Source;
  readonly #log: LoggerLike;
  readonly #clock: Clock;
  readonly #refreshInterval: number;
  readonly #jitter: number;
  readonly #maxStaleness: number;
  readonly #bootTimeout: number;
  readonly #startupJitter: number;
  readonly #minRefreshInterval: number;
  readonly #fetchTimeout: number;
  readonly #backoffInitial: number;
  readonly #backoffMax: number;
  readonly #eventListeners = new Set<SecretsEventListener>();
  readonly #aborts = new Set<AbortController>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #loadPromise: Promise<void> | undefined;
  #loaded = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #stopWatch: (() => void) | undefined;
  #deferred: { entries: Set<Entry>; promise: Promise<void> } | undefined;
  #generation = 0;
  #snapshot: Readonly<Record<string, unknown>> | undefined;
  #counts = { loads: 0, refreshOk: 0, refreshFailed: 0, rotations: 0 };

  constructor(declarations: D, options: SecretStoreOptions) {
    const decls = normalizeDeclarations(declarations);
    if (!options || typeof options !== 'object') {
      throw new SecretsConfigError('SecretStore', 'options are required, e.g. { source: awsSecretsManager() }.');
    }
    checkKnownKeys(options, OPTION_KEYS, 'SecretStore');
    const source = options.source;
    if (!source || typeof source.fetch !== 'function') {
      throw new SecretsConfigError(
        'SecretStore.source',
        'a source is required: awsSecretsManager({ region }), secretsManagerAgent(), mountedFiles({ dir }) or memorySource({...}).',
      );
    }
    this.#source = source;
    this.#clock = options.clock ?? defaultClock;
    this.#log = toLogger(options.logger);
    if ('logger' in source && (source as { logger?: unknown }).logger === undefined) {
      (source as { logger?: LoggerLike }).logger = this.#log;
    }
    const ri = options.refreshInterval ?? 300_000;
    this.#refreshInterval = ri === false ? 0 : parseDuration(ri, 'SecretStore.refreshInterval', { allowZero: true });
    this.#jitter = options.refreshJitter ?? 0.1;
    if (typeof this.#jitter !== 'number' || !(this.#jitter >= 0 && this.#jitter < 1)) {
      throw new SecretsConfigError(
        'SecretStore.refreshJitter',
        `expected a fraction in [0, 1), got ${String(this.#jitter)}.`,
      );
    }
    this.#maxStaleness = parseDuration(options.maxStaleness ?? 3_600_000, 'SecretStore.maxStaleness');
    this.#bootTimeout = parseDuration(options.bootTimeout ?? 30_000, 'SecretStore.bootTimeout');
    this.#startupJitter = parseDuration(options.startupJitter ?? 0, 'SecretStore.startupJitter', { allowZero: true });
    this.#minRefreshInterval = parseDuration(options.minRefreshInterval ?? 1_000, 'SecretStore.minRefreshInterval', {
      allowZero: true,
    });
    this.#fetchTimeout = parseDuration(options.fetchTimeout ?? 30_000, 'SecretStore.fetchTimeout');
    if (options.backoff !== undefined) checkKnownKeys(options.backoff, ['initial', 'max'], 'SecretStore.backoff');
    this.#backoffInitial = parseDuration(options.backoff?.initial ?? 1_000, 'SecretStore.backoff.initial');
    this.#backoffMax = parseDuration(options.backoff?.max ?? 300_000, 'SecretStore.backoff.max');

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
        };
        entries.set(decl.fetchKey, entry);
        this.#entries.push(entry);
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
        listeners: undefined,
      } as unknown as Slot;
      (slot as { handle: Secret<unknown> }).handle = new Secret(slot);
      entry.slots.push(slot);
      this.#slots.set(decl.name, slot);
    }
    instrumentStore(this, options.meterProvider);
  }

  /** Declared names, in declaration order. */
  get names(): readonly SecretName<D>[] {
    return [...this.#slots.keys()] as SecretName<D>[];
  }

  /** Whether `load()` has completed successfully. */
  get loaded(): boolean {
    return this.#loaded;
  }

  /** Increments every time any value changes; a cheap way to detect a new generation of secrets. */
  get generation(): number {
    return this.#generation;
  }

  /**
   * Loads every declared secret: AWSCURRENT ids in batches of 20, pinned versions one by one,
   * duplicate ids once. Retries transient failures with full-jitter backoff until `bootTimeout`.
   * Concurrent calls share one load. Starts background refresh when done.
   *
   * @throws SecretsLoadError listing every required secret that could not be loaded.
   */
  load(): Promise<void> {
    if (this.#closed) return Promise.reject(new SecretsStoreClosedError('load'));
    this.#loadPromise ??= this.#doLoad().catch((error: unknown) => {
      this.#loadPromise = undefined;
      throw error;
    });
    return this.#loadPromise;
  }

  async #doLoad(): Promise<void> {
    const started = this.#clock.now();
    if (this.#startupJitter > 0) await this.#sleep(Math.random() * this.#startupJitter);
    const deadline = this.#clock.now() + this.#bootTimeout;
    let pending = this.#entries.filter((e) => e.lastSuccessAt === undefined || e.slots.some((s) => !s.loaded));
    // Backoff grows only while rounds make no progress: under a shared quota, a pod that got some
    // of its secrets keeps its place instead of sleeping longer each round (fleet benchmark tail).
    for (let attempt = 0; pending.length > 0;) {
      const before = pending.length;
      await this.#fetch(pending, { reason: 'load', force: false, deadline });
      if (this.#closed) throw new SecretsStoreClosedError('finish load');
      pending = pending.filter((e) => e.error instanceof SecretFetchError && e.error.retryable);
      const remaining = deadline - this.#clock.now();
      if (pending.length === 0 || remaining <= 0) break;
      attempt = pending.length < before ? 0 : attempt + 1;
      // No single sleep longer than an eighth of bootTimeout: a starved pod gets several more tries.
      const cap = Math.min(
        this.#backoffMax,
        Math.max(this.#backoffInitial, this.#bootTimeout / 8),
        this.#backoffInitial * 2 ** attempt,
      );
      await this.#sleep(Math.min(remaining, Math.random() * cap));
    }
    const failures: SecretFailure[] = [];
    for (const slot of this.#slots.values()) {
      if (slot.loaded) continue;
      const error = slot.error ?? slot.entry.error;
      const failure: SecretFailure = {
        name: slot.name,
        id: slot.decl.id,
        code: error ? errorCodeOf(error) : 'TimeoutError',
        message: error ? error.message : `no answer within bootTimeout (${this.#bootTimeout} ms)`,
      };
      if (slot.optional) {
        this.#log.warn(`Optional secret "${slot.name}" is missing: ${failure.code}`, {
          secret: slot.name,
          code: failure.code,
        });
      } else {
        failures.push(failure);
      }
    }
    if (failures.length > 0) throw new SecretsLoadError(failures);
    this.#loaded = true;
    this.#counts.loads++;
    const durationMs = Math.round(this.#clock.now() - started);
    this.#emit({ type: 'loaded', names: this.names, durationMs });
    if (this.#source.watch && !this.#stopWatch) {
      this.#stopWatch = this.#source.watch((ids) => this.#onSourceChange(ids));
    }
    this.#schedule();
  }

  /**
   * The current value of a secret. Synchronous, O(1), no I/O.
   * @throws SecretNotFoundError for an undeclared name; SecretNotLoadedError before `load()`.
   */
  get<K extends SecretName<D>>(name: K): SecretValueOf<D[K]> {
    const slot = this.#slots.get(name);
    if (slot !== undefined && (slot.loaded || slot.optional)) return slot.value as SecretValueOf<D[K]>;
    throw this.#readError(name);
  }

  /** A live handle whose `.value` is always current and which prints `[redacted]`. */
  handle<K extends SecretName<D>>(name: K): Secret<SecretValueOf<D[K]>> {
    const slot = this.#slots.get(name);
    if (!slot) throw new SecretNotFoundError(name, this.names);
    return slot.handle as Secret<SecretValueOf<D[K]>>;
  }

  /** Whether `name` is declared. */
  has(name: string): name is SecretName<D> {
    return this.#slots.has(name);
  }

  /**
   * A frozen object of every current value, rebuilt only when a value changes (so a request can
   * hold one consistent generation). Prints `[redacted]`.
   */
  snapshot(): Readonly<InferSecrets<D>> {
    if (this.#snapshot === undefined) {
      const values: Record<string, unknown> = {};
      for (const [name, slot] of this.#slots) if (slot.loaded) values[name] = slot.value;
      this.#snapshot = Object.freeze(redactObject(values, 'Secrets'));
    }
    return this.#snapshot as Readonly<InferSecrets<D>>;
  }

  /**
   * Calls `listener(next, info)` after each version change of `name` (not on the initial load,
   * not when a refresh returns the same version). Returns an unsubscribe function.
   */
  subscribe<K extends SecretName<D>>(name: K, listener: SecretListener<SecretValueOf<D[K]>>): () => void {
    const slot = this.#slots.get(name);
    if (!slot) throw new SecretNotFoundError(name, this.names, 'subscribe');
    const listeners = (slot.listeners ??= new Set());
    listeners.add(listener as SecretListener<unknown>);
    return () => void listeners.delete(listener as SecretListener<unknown>);
  }

  /** Subscribes to lifecycle events (loaded, rotated, refresh-failed, …). Returns an unsubscribe function. */
  onEvent(listener: SecretsEventListener): () => void {
    this.#eventListeners.add(listener);
    return () => void this.#eventListeners.delete(listener);
  }

  /**
   * Forces a refresh of one secret or all of them, settling when fresh values are in place or the
   * failure is recorded (it never rejects for a source failure). Single flight: calls during a
   * refresh join it. Calls within `minRefreshInterval` of the last fetch wait for the end of that
   * interval and then share one call.
   */
  async refresh(name?: SecretName<D>): Promise<void> {
    if (this.#closed) throw new SecretsStoreClosedError('refresh');
    let entries: Entry[];
    if (name === undefined) {
      entries = this.#entries;
    } else {
      const slot = this.#slots.get(name);
      if (!slot) throw new SecretNotFoundError(name, this.names, 'refresh');
      entries = [slot.entry];
    }
    const joined = await this.#request(entries, { reason: 'refresh', force: true });
    // A fetch that was already in flight may have started before the source recovered: when one
    // we joined failed, go to the source once more, so `await refresh()` reflects the source now.
    const retry = this.#closed ? [] : joined.filter((e) => e.error !== undefined);
    if (retry.length > 0) await this.#request(retry, { reason: 'refresh', force: true, rateLimit: false });
    this.#schedule();
  }

  /** Per-secret status, version and age, and the overall status. Never a value. */
  health(): HealthReport {
    const now = this.#clock.now();
    const secrets: Record<string, SecretHealth> = {};
    let down = false;
    let degraded = false;
    for (const [name, slot] of this.#slots) {
      const error = slot.error ?? slot.entry.error;
      const h: { -readonly [K in keyof SecretHealth]: SecretHealth[K] } = { status: 'fresh' };
      if (slot.optional) h.optional = true;
      if (!slot.loaded) {
        h.status = 'missing';
        if (!slot.optional) down = true;
      } else {
        h.version = slot.version?.slice(0, 8);
        const age = now - (slot.goodAt ?? now);
        h.ageSeconds = Math.max(0, Math.floor(age / 1000));
        if (age > this.#maxStaleness) {
          h.status = 'stale';
          degraded = true;
        } else if (error) {
          h.status = 'error';
        }
        if (slot.entry.region) h.region = slot.entry.region;
      }
      if (error) h.error = errorCodeOf(error);
      secrets[name] = h;
    }
    return { status: down ? 'down' : degraded ? 'degraded' : 'up', secrets };
  }

  /** Counters: source calls by operation, throttles, failures, refreshes, rotations. */
  stats(): StoreStats {
    const source = this.#source.stats?.() ?? { calls: {}, attempts: {}, throttles: 0, failures: 0, outcomes: {} };
    return {
      source: this.#source.kind,
      ...source,
      loads: this.#counts.loads,
      refreshes: { ok: this.#counts.refreshOk, failed: this.#counts.refreshFailed },
      rotations: this.#counts.rotations,
    };
  }

  /** Stops background refresh, aborts in-flight calls and closes the source. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const a of this.#aborts) a.abort(new SecretsStoreClosedError('continue a fetch'));
    this.#stopWatch?.();
    await Promise.allSettled(this.#entries.map((e) => e.inflight));
    await this.#source.close?.();
    this.#emit({ type: 'closed' });
    this.#eventListeners.clear();
    for (const slot of this.#slots.values()) slot.listeners = undefined;
  }

  toString(): string {
    return `SecretStore ${REDACTED}`;
  }

  toJSON(): Record<string, unknown> {
    return { names: this.names, status: this.health().status, values: REDACTED };
  }

  [inspect.custom](): string {
    return `SecretStore { source: ${this.#source.kind}, names: [${this.names.join(', ')}], values: ${REDACTED} }`;
  }

  // ---------------------------------------------------------------------------------------------

  #readError(name: string): Error {
    if (!this.#slots.has(name)) return new SecretNotFoundError(name, this.names);
    if (this.#closed) return new SecretsStoreClosedError(`read "${name}"`);
    return new SecretNotLoadedError(
      name,
      this.#loadPromise ? 'loading has not finished; await store.load().' : 'call await store.load() first.',
    );
  }

  /**
   * Single flight + rate limit, then one batched fetch for everything that may go now.
   * Resolves with the entries that joined a fetch already in flight.
   */
  async #request(entries: readonly Entry[], options: FetchOptions): Promise<Entry[]> {
    const waits: Promise<void>[] = [];
    const now = this.#clock.now();
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
        now - entry.lastAttemptAt < this.#minRefreshInterval
      ) {
        waits.push(this.#defer(entry, entry.lastAttemptAt + this.#minRefreshInterval - now));
      } else go.push(entry);
    }
    if (go.length > 0) waits.push(this.#fetch(go, options));
    await Promise.all(waits);
    return joined;
  }

  /** Coalesces rate-limited forced refreshes into one call at the end of the interval. */
  #defer(entry: Entry, waitMs: number): Promise<void> {
    if (this.#deferred) {
      this.#deferred.entries.add(entry);
      return this.#deferred.promise;
    }
    const entries = new Set([entry]);
    const promise = new Promise<void>((resolve) => {
      const timer = setTimeout(
        () => {
          this.#timers.delete(timer);
          this.#deferred = undefined;
          if (this.#closed) return resolve();
          // It already waited out the interval: fetch now (or join one in flight), never defer again.
          void this.#request([...entries], { reason: 'refresh', force: true, rateLimit: false }).then(
            () => resolve(),
            () => resolve(),
          );
        },
        Math.max(0, waitMs),
      );
      timer.unref();
      this.#timers.add(timer);
    });
    this.#deferred = { entries, promise };
    return promise;
  }

  #fetch(entries: readonly Entry[], options: FetchOptions): Promise<void> {
    const run = this.#runFetch(entries, options);
    const shared = run.finally(() => {
      for (const e of entries) if (e.inflight === shared) e.inflight = undefined;
    });
    for (const e of entries) e.inflight = shared;
    return shared;
  }

  async #runFetch(entries: readonly Entry[], options: FetchOptions): Promise<void> {
    const started = this.#clock.now();
    for (const e of entries) e.lastAttemptAt = started;
    const timeout = Math.max(1, Math.min(this.#fetchTimeout, (options.deadline ?? Infinity) - started));
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
    timer.unref();
    this.#aborts.add(abort);
    let outcomes: readonly FetchOutcome[];
    try {
      outcomes = await this.#source.fetch(
        entries.map((e) => e.request),
        { signal: abort.signal, force: options.force, reason: options.reason },
      );
    } catch (error) {
      const code = abort.signal.aborted ? 'TimeoutError' : errorCodeOf(error);
      outcomes = entries.map((e) => ({
        ok: false as const,
        error: new SecretFetchError(e.request.id, code, `source "${this.#source.kind}" failed`, {
          retryable: true,
          cause: error,
        }),
      }));
    } finally {
      clearTimeout(timer);
      this.#aborts.delete(abort);
    }
    if (this.#closed) return;
    if (abort.signal.aborted) {
      // Our own deadline cut the call short: report a timeout (or, for a secret that was being
      // throttled, the throttling), not the SDK's AbortError.
      outcomes = entries.map((e, i) => {
        const o = outcomes[i];
        if (o?.ok) return o;
        if (e.error instanceof SecretFetchError && e.error.throttled) return { ok: false as const, error: e.error };
        return {
          ok: false as const,
          error: new SecretFetchError(e.request.id, 'TimeoutError', `no answer within ${Math.round(timeout)} ms`, {
            retryable: true,
            cause: o?.error,
          }),
        };
      });
    }
    const now = this.#clock.now();
    const okCount = outcomes.filter((o) => o?.ok).length;
    this.#emit({
      type: 'fetched',
      reason: options.reason,
      names: entries.flatMap((e) => e.slots.map((s) => s.name)),
      durationMs: now - started,
      ok: okCount,
      failed: entries.length - okCount,
    });
    const interval = this.#refreshInterval * (1 + this.#jitter * (2 * Math.random() - 1));
    // Phase 1: parse and validate everything (schemas may be async) without touching any value.
    const prepared = await Promise.all(
      entries.map(async (entry, i) => {
        const outcome = outcomes[i] ?? {
          ok: false as const,
          error: new SecretFetchError(
            entry.request.id,
            'NoResult',
            `source "${this.#source.kind}" returned no result`,
            { retryable: true },
          ),
        };
        if (!outcome.ok) return { entry, outcome, parsed: [] };
        const parsed = await Promise.all(entry.slots.map((slot) => this.#parseFor(slot, outcome.secret)));
        return { entry, outcome, parsed };
      }),
    );
    if (this.#closed) return;
    // Phase 2: swap every value synchronously, so no reader sees half of one refresh.
    const rotated: Array<{ slot: Slot; info: RotationInfo }> = [];
    for (const { entry, outcome, parsed } of prepared) {
      if (outcome.ok) {
        this.#applySuccess(entry, outcome.secret, parsed, now, options, rotated);
        entry.dueAt = now + interval;
      } else {
        this.#applyFailure(entry, outcome.error, options);
        // Transient failures back off exponentially; permanent ones (deleted, denied) wait a refresh interval.
        entry.dueAt =
          now + (outcome.error.retryable || this.#refreshInterval === 0 ? this.#backoff(entry.failures) : interval);
      }
    }
    // Phase 3: listeners run after every value is in place.
    for (const { slot, info } of rotated) this.#notify(slot, info);
  }

  /** Parses `raw` for one slot, or returns undefined when the slot already holds (or rejected) this version. */
  async #parseFor(slot: Slot, raw: RawSecret): Promise<{ value: unknown } | { error: SecretsError } | undefined> {
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

  #applySuccess(
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
    entry.region = raw.region;
    entry.versionId = raw.versionId;
    // stats().refreshes counts per fetched id: ok when the fetch succeeded and every slot took the value.
    let parseFailed = false;
    entry.slots.forEach((slot, i) => {
      const result = parsed[i];
      if (result === undefined) {
        if (slot.version === raw.versionId) {
          slot.goodAt = now;
          slot.error = undefined;
          slot.staleNotified = false;
        }
        return;
      }
      if ('error' in result) {
        slot.error = result.error;
        slot.failedVersion = raw.versionId;
        parseFailed = true;
        this.#emit({
          type: 'refresh-failed',
          name: slot.name,
          code: errorCodeOf(result.error),
          message: result.error.message,
          failures: 1,
        });
        return;
      }
      const previousVersion = slot.version;
      const wasLoaded = slot.loaded;
      slot.value = result.value;
      slot.version = raw.versionId;
      slot.loaded = true;
      slot.updatedAt = this.#clock.wallNow();
      slot.goodAt = now;
      slot.error = undefined;
      slot.failedVersion = undefined;
      slot.staleNotified = false;
      this.#generation++;
      this.#snapshot = undefined;
      if (wasLoaded) {
        this.#counts.rotations++;
        this.#emit({ type: 'rotated', name: slot.name, version: raw.versionId, previousVersion });
        rotated.push({ slot, info: { name: slot.name, version: raw.versionId, previousVersion } });
      }
    });
    if (options.reason === 'refresh') {
      if (parseFailed) this.#counts.refreshFailed++;
      else this.#counts.refreshOk++;
      for (const slot of entry.slots)
        if (!slot.error) this.#emit({ type: 'refreshed', name: slot.name, version: raw.versionId });
    }
    entry.slots.forEach((slot, i) => {
      if (hadError[i] && !slot.error) this.#emit({ type: 'recovered', name: slot.name, version: raw.versionId });
    });
  }

  #applyFailure(entry: Entry, error: SecretFetchError, options: FetchOptions): void {
    entry.error = error;
    entry.failures++;
    if (options.reason === 'refresh') this.#counts.refreshFailed++;
    for (const slot of entry.slots) {
      this.#emit({
        type: 'refresh-failed',
        name: slot.name,
        code: error.awsCode,
        message: error.message,
        failures: entry.failures,
      });
    }
  }

  #notify(slot: Slot, info: { name: string; version: string; previousVersion: string | undefined }): void {
    const listeners = slot.listeners;
    if (listeners === undefined) return;
    for (const listener of listeners) {
      try {
        const result = listener(slot.value, info);
        if (result && typeof (result as Promise<void>).then === 'function') {
          (result as Promise<void>).catch((error: unknown) => this.#listenerFailed(slot.name, error));
        }
      } catch (error) {
        this.#listenerFailed(slot.name, error);
      }
    }
  }

  #listenerFailed(name: string, error: unknown): void {
    this.#log.error(`A rotation listener for secret "${name}" threw; other listeners and the refresh loop continue.`, {
      secret: name,
      error: error instanceof Error ? `${error.name}: ${error.message}` : 'non-Error thrown',
    });
  }

  #backoff(failures: number): number {
    const cap = Math.min(this.#backoffMax, this.#backoffInitial * 2 ** Math.max(0, failures - 1));
    const delay = cap / 2 + (Math.random() * cap) / 2;
    return this.#refreshInterval > 0 ? Math.min(delay, Math.max(this.#refreshInterval, this.#backoffInitial)) : delay;
  }

  #onSourceChange(ids: readonly string[]): void {
    if (this.#closed) return;
    const entries = this.#entries.filter((e) => ids.includes(e.request.id));
    if (entries.length > 0)
      void this.#request(entries, { reason: 'refresh', force: false }).finally(() => this.#schedule());
  }

  /** One timer per store: wakes at the earliest due refresh or staleness crossing. */
  #schedule(): void {
    if (this.#closed || !this.#loaded) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const now = this.#clock.now();
    let next = Infinity;
    for (const entry of this.#entries) {
      if (this.#refreshInterval > 0 || entry.error) next = Math.min(next, entry.dueAt);
    }
    for (const slot of this.#slots.values()) {
      if (slot.loaded && !slot.staleNotified && slot.goodAt !== undefined)
        next = Math.min(next, slot.goodAt + this.#maxStaleness + 1);
    }
    if (next === Infinity) return;
    this.#timer = setTimeout(() => void this.#tick(), Math.max(0, Math.min(next - now, 2_147_483_647)));
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    this.#timer = undefined;
    if (this.#closed) return;
    const now = this.#clock.now();
    // Refresh everything due soon together, so a fleet's refresh stays batched.
    const window = Math.min(1_000, this.#refreshInterval * 0.05);
    const due = this.#entries.filter(
      (e) => !e.inflight && (this.#refreshInterval > 0 || e.error) && e.dueAt <= now + window,
    );
    if (due.length > 0) {
      try {
        await this.#request(due, { reason: 'refresh', force: false });
      } catch (error) {
        this.#log.error('Background refresh failed unexpectedly', { error: errorCodeOf(error) });
      }
    }
    this.#checkStaleness();
    this.#schedule();
  }

  #checkStaleness(): void {
    const now = this.#clock.now();
    for (const slot of this.#slots.values()) {
      if (!slot.loaded || slot.staleNotified || slot.goodAt === undefined) continue;
      if (now - slot.goodAt > this.#maxStaleness) {
        slot.staleNotified = true;
        const error = slot.error ?? slot.entry.error;
        this.#emit({
          type: 'became-stale',
          name: slot.name,
          ageSeconds: Math.floor((now - slot.goodAt) / 1000),
          ...(error ? { code: errorCodeOf(error) } : {}),
        });
      }
    }
  }

  #emit(event: SecretsEvent): void {
    logEvent(this.#log, event, this.#loaded);
    for (const listener of this.#eventListeners) {
      try {
        listener(event);
      } catch {
        // Event listeners are observers; one that throws must not break the store.
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      timer.unref();
      this.#timers.add(timer);
    });
  }
}

function logEvent(log: LoggerLike, event: SecretsEvent, loaded: boolean): void {
  switch (event.type) {
    case 'loaded':
      log.info(`Loaded ${event.names.length} secrets in ${event.durationMs} ms`, {
        event: event.type,
        secrets: event.names,
        durationMs: event.durationMs,
      });
      break;
    case 'rotated':
      log.info(`Secret "${event.name}" rotated to version ${event.version.slice(0, 8)}`, {
        event: event.type,
        secret: event.name,
        version: event.version,
        previousVersion: event.previousVersion,
      });
      break;
    case 'refresh-failed':
      // Once per failure streak, not once per retry.
      if (event.failures === 1) {
        const message = loaded
          ? `Refreshing secret "${event.name}" failed (${event.code}); serving the last good value`
          : `Loading secret "${event.name}" failed (${event.code})`;
        log.warn(message, {
          event: event.type,
          secret: event.name,
          code: event.code,
        });
      }
      break;
    case 'recovered':
      log.info(`Secret "${event.name}" recovered`, { event: event.type, secret: event.name, version: event.version });
      break;
    case 'became-stale':
      log.warn(`Secret "${event.name}" is stale (${event.ageSeconds} s since the last good fetch)`, {
        event: event.type,
        secret: event.name,
        ageSeconds: event.ageSeconds,
        code: event.code,
      });
      break;
    case 'fetched':
      log.debug?.(
        `Fetched ${event.ok + event.failed} secret ids (${event.failed} failed) in ${Math.round(event.durationMs)} ms`,
        {
          event: event.type,
          reason: event.reason,
          ok: event.ok,
          failed: event.failed,
        },
      );
      break;
    case 'refreshed':
      log.debug?.(`Secret "${event.name}" refreshed`, {
        event: event.type,
        secret: event.name,
        version: event.version,
      });
      break;
    case 'closed':
      log.debug?.('Secret store closed', { event: event.type });
      break;
  }
}
