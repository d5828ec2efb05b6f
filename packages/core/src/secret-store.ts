import { inspect } from 'node:util';
import { bootBackoff } from './backoff';
import {
  normalizeDeclarations,
  type InferSecrets,
  type SecretDeclarations,
  type SecretName,
  type SecretValueOf,
} from './declarations';
import {
  SecretFetchError,
  SecretNotFoundError,
  SecretNotLoadedError,
  SecretsLoadError,
  SecretsStoreClosedError,
  errorCodeOf,
  type SecretFailure,
} from './errors';
import type { SecretListener, SecretsEventListener } from './events';
import { computeHealth, type HealthReport, type SecretState, type StoreStats } from './health';
import { instrumentStore } from './metrics';
import { REDACTED, redactedRecord } from './redaction';
import { RefreshEngine } from './refresh';
import { checkSources, type Entry } from './refresh-state';
import type { Secret } from './secret';
import type { SecretRequest, Source, SourceStats } from './sources/source';
import {
  DEFAULT_SOURCE,
  resolveStoreOptions,
  type ResolvedStoreOptions,
  type SecretStoreOptions,
} from './store-options';

export type { Clock, SecretStoreOptions } from './store-options';

/** The least time a boot round is started with (held to bootTimeout / 10 and fetchTimeout). */
const MIN_ROUND_MS = 1_000;

/** Codes that mean "this secret does not exist" (an optional secret missing for them is expected). */
const MISSING_CODES: ReadonlySet<string> = new Set(['ResourceNotFoundException', 'FileNotFound', 'ParameterNotFound']);

/** A first boot round unanswered for this long (at most bootTimeout / 3) gets the waiting line. */
const SLOW_ROUND_MS = 5_000;

/** `30 s`, `1.5 s`, `250 ms`: how a boot line shows `bootTimeout`. */
const formatMs = (ms: number): string => (ms >= 1_000 ? `${Math.round(ms / 100) / 10} s` : `${Math.round(ms)} ms`);

const isRequired = (entry: Entry): boolean => entry.slots.some((s) => !s.optional && !s.loaded);
export type { HealthReport, SecretHealth, SecretStatus, StoreStats, StoreStatus } from './health';
export type { RotationInfo, SecretListener } from './events';

/**
 * Open stores per source. A source shared by several stores is closed with the last of them, so
 * closing one store never stops another's watcher or destroys the client it still uses.
 */
const openStores = new WeakMap<Source, number>();

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
  readonly #engine: RefreshEngine;
  readonly #config: ResolvedStoreOptions;
  #loadPromise: Promise<void> | undefined;
  #stopWatch: (() => void) | undefined;
  #snapshot: Readonly<Record<string, unknown>> | undefined;

  constructor(declarations: D, options: SecretStoreOptions) {
    const decls = normalizeDeclarations(declarations);
    const config = resolveStoreOptions(options);
    this.#config = config;
    checkSources(decls, config.sources);
    this.#engine = new RefreshEngine(decls, config, () => {
      this.#snapshot = undefined;
    });
    for (const source of this.#sources()) openStores.set(source, (openStores.get(source) ?? 0) + 1);
    instrumentStore(this, config.meterProvider);
  }

  /** The `name` option, when given: carried by log lines, metric attributes and {@link health}. */
  get name(): string | undefined {
    return this.#config.name;
  }

  /** Declared names, in declaration order. */
  get names(): readonly SecretName<D>[] {
    return [...this.#engine.slots.keys()] as SecretName<D>[];
  }

  /** Names declared `optional: true`, in declaration order (they may be missing after `load()`). */
  get optionalNames(): readonly SecretName<D>[] {
    const names: SecretName<D>[] = [];
    for (const slot of this.#engine.slots.values()) if (slot.optional) names.push(slot.name as SecretName<D>);
    return names;
  }

  /** Whether `load()` has completed successfully. */
  get loaded(): boolean {
    return this.#engine.loaded;
  }

  /** Increments every time any value changes; a cheap way to detect a new generation of secrets. */
  get generation(): number {
    return this.#engine.generation;
  }

  /**
   * Loads every declared secret: AWSCURRENT ids in batches of 20, pinned versions one by one,
   * duplicate ids once. Retries transient failures with full-jitter backoff until `bootTimeout`.
   * Concurrent calls share one load. Starts background refresh when done.
   *
   * @throws SecretsLoadError listing every required secret that could not be loaded.
   */
  load(): Promise<void> {
    if (this.#engine.closed) return Promise.reject(new SecretsStoreClosedError('load'));
    this.#loadPromise ??= this.#doLoad().catch((error: unknown) => {
      this.#loadPromise = undefined;
      throw error;
    });
    return this.#loadPromise;
  }

  async #doLoad(): Promise<void> {
    const started = this.#config.clock.now();
    if (this.#config.startupJitter > 0) await this.#engine.sleep(Math.random() * this.#config.startupJitter);
    const deadline = this.#config.clock.now() + this.#config.bootTimeout;
    // A round that cannot get a useful share of the budget is not started: it would only replace
    // the real cause (ECONNREFUSED, a 5xx, FileUnstable) with "no answer within 1 ms".
    const minRound = Math.min(MIN_ROUND_MS, this.#config.bootTimeout / 10, this.#config.fetchTimeout);
    let pending = this.#engine.entries.filter((e) => e.lastSuccessAt === undefined || e.slots.some((s) => !s.loaded));
    // One line per load() that has to wait: after the first failed round, or while a first round
    // is still unanswered after SLOW_ROUND_MS (a hung endpoint can take the whole bootTimeout).
    let waiting = false;
    const sayWaiting = (entries: readonly Entry[]): void => {
      if (waiting) return;
      waiting = true;
      this.#logWaiting(entries, deadline);
    };
    // Backoff grows only while rounds make no progress: under a shared quota, a pod that got some
    // of its secrets keeps its place instead of sleeping longer each round (fleet benchmark tail).
    // Boot waits only for required secrets: optional ones still pending then retry in the background.
    for (let attempt = 0; pending.length > 0;) {
      const before = pending.length;
      const round = pending;
      const slow = waiting
        ? undefined
        : setTimeout(() => sayWaiting(round), Math.min(SLOW_ROUND_MS, this.#config.bootTimeout / 3));
      slow?.unref();
      // Single flight: a forced refresh() started during the backoff is joined, not fetched again
      // beside it (two calls of one id can answer out of order: a reader would see the older
      // version after the newer).
      const joined = pending.filter((e) => e.inflight !== undefined);
      const go = pending.filter((e) => e.inflight === undefined);
      try {
        await Promise.all([
          ...joined.map((e) => e.inflight!.catch(() => undefined)),
          go.length > 0 ? this.#engine.fetch(go, { reason: 'load', force: false, deadline }) : undefined,
        ]);
      } finally {
        clearTimeout(slow);
      }
      if (this.#engine.closed) throw new SecretsStoreClosedError('finish load');
      pending = pending.filter((e) => e.error instanceof SecretFetchError && e.error.retryable);
      const remaining = deadline - this.#config.clock.now();
      if (!pending.some(isRequired) || remaining <= minRound) break;
      attempt = pending.length < before ? 0 : attempt + 1;
      sayWaiting(pending);
      await this.#engine.sleep(
        Math.min(remaining - minRound, bootBackoff(attempt, this.#config.backoff, this.#config.bootTimeout)),
      );
    }
    const failures: SecretFailure[] = [];
    for (const slot of this.#engine.slots.values()) {
      if (slot.loaded) continue;
      const error = slot.error ?? slot.entry.error;
      const failure: SecretFailure = {
        name: slot.name,
        id: slot.decl.id,
        code: error ? errorCodeOf(error) : 'TimeoutError',
        message: error ? error.message : `no answer within bootTimeout (${this.#config.bootTimeout} ms)`,
        ...(this.#config.sources.size > 1 ? { source: slot.entry.sourceName } : {}),
      };
      if (slot.optional) {
        // Expected when the secret does not exist (an AWSPENDING stage outside rotations): info.
        // Anything else (denied, throttled, unreachable) is worth a warning; it retries in the background.
        const level = MISSING_CODES.has(failure.code) ? 'info' : 'warn';
        this.#config.log[level](`Optional secret "${slot.name}" is missing: ${failure.code}`, {
          event: 'optional-missing',
          secret: slot.name,
          code: failure.code,
        });
      } else {
        failures.push(failure);
      }
    }
    if (failures.length > 0) throw new SecretsLoadError(failures);
    this.#engine.loaded = true;
    this.#engine.counts.loads++;
    const durationMs = Math.round(this.#config.clock.now() - started);
    this.#engine.emit({ type: 'loaded', names: this.names, durationMs });
    if (!this.#stopWatch) {
      const stops: (() => void)[] = [];
      for (const source of this.#sources()) {
        if (source.watch) stops.push(source.watch((ids, current) => this.#engine.onSourceChange(ids, current, source)));
      }
      this.#stopWatch = () => stops.forEach((stop) => stop());
    }
    this.#engine.startRotationSchedule();
    this.#engine.schedule();
  }

  /**
   * The current value of a secret. Synchronous, O(1), no I/O.
   * @throws SecretNotFoundError for an undeclared name; SecretNotLoadedError before `load()`.
   */
  get<K extends SecretName<D>>(name: K): SecretValueOf<D[K]> {
    const slot = this.#engine.slots.get(name);
    if (slot !== undefined && (slot.loaded || slot.optional)) return slot.value as SecretValueOf<D[K]>;
    throw this.#readError(name);
  }

  /** A live handle whose `.value` is always current and which prints `[redacted]`. */
  handle<K extends SecretName<D>>(name: K): Secret<SecretValueOf<D[K]>> {
    const slot = this.#engine.slots.get(name);
    if (!slot) throw new SecretNotFoundError(name, this.names);
    return slot.handle as Secret<SecretValueOf<D[K]>>;
  }

  /** Whether `name` is declared. */
  has(name: string): name is SecretName<D> {
    return this.#engine.slots.has(name);
  }

  /**
   * A read-only record of every current value, rebuilt only when a value changes (so a request
   * can hold one consistent generation). Reads (`snap.db`), spreads (`{ ...snap }`) and
   * `Object.entries` give the values; printing it — `console.log`, `console.dir`, `console.table`,
   * `util.inspect` with any options, `JSON.stringify` — shows none (see {@link redactedRecord}).
   */
  snapshot(): Readonly<InferSecrets<D>> {
    if (this.#snapshot === undefined) {
      const values: Record<string, unknown> = {};
      for (const [name, slot] of this.#engine.slots) if (slot.loaded) values[name] = slot.value;
      this.#snapshot = redactedRecord(values, 'Secrets');
    }
    return this.#snapshot as Readonly<InferSecrets<D>>;
  }

  /**
   * Calls `listener(next, info)` after each version change of `name` (not on the initial load,
   * not when a refresh returns the same version). Returns an unsubscribe function.
   */
  subscribe<K extends SecretName<D>>(name: K, listener: SecretListener<SecretValueOf<D[K]>>): () => void {
    const slot = this.#engine.slots.get(name);
    if (!slot) throw new SecretNotFoundError(name, this.names, 'subscribe');
    const listeners = (slot.listeners ??= new Set());
    listeners.add(listener as SecretListener<unknown>);
    return () => void listeners.delete(listener as SecretListener<unknown>);
  }

  /** Subscribes to lifecycle events (loaded, rotated, refresh-failed, …). Returns an unsubscribe function. */
  onEvent(listener: SecretsEventListener): () => void {
    this.#engine.eventListeners.add(listener);
    return () => void this.#engine.eventListeners.delete(listener);
  }

  /**
   * Refreshes just the secrets an outside signal says changed — an EventBridge "Secret Label
   * Updated" event, a CloudTrail `PutSecretValue` / `UpdateSecretVersionStage` event delivered by
   * SQS, a webhook. `ids` are secret names or ARNs (full or partial) as such events carry them;
   * ids this store does not declare are ignored, and declarations pinned to a `versionId` never
   * change, so they are skipped. Ids passed in one call, or in calls made in the same tick, go in
   * one batch; like {@link refresh} the fetch bypasses source caches (agent `refreshNow`) and a
   * secret fetched less than `minRefreshInterval` ago waits for the end of that interval, and one
   * that is failing waits out its backoff, so a burst of events costs one call per secret per
   * interval at most. Each id is answered by a fetch that starts after this call (a fetch already
   * in flight may have read the old version).
   *
   * Resolves with the declared names that were refreshed (failures go to events and health, like
   * a background refresh; it never rejects for a source failure). Before `load()` finishes and
   * after `close()` it does nothing and resolves with `[]`; a `close()` while it waits resolves it
   * with the names fetched by then.
   */
  async invalidate(ids: Iterable<string>): Promise<SecretName<D>[]> {
    if (typeof ids === 'string' || ids === null || typeof (ids as Iterable<string>)?.[Symbol.iterator] !== 'function') {
      throw new TypeError('invalidate(ids) takes an array (or iterable) of secret names or ARNs.');
    }
    const wanted = [...ids].filter((id): id is string => typeof id === 'string' && id !== '');
    if (!this.#engine.loaded || this.#engine.closed || wanted.length === 0) return [];
    // One pass over the entries with set lookups: a burst of hundreds of ARNs against thousands of
    // secrets must not block the event loop for N × k comparisons.
    const matches = referredBy(wanted);
    // A Parameter Store path is refreshed when a parameter under it changed (paths are few).
    const under = (e: Entry): boolean => e.request.path !== undefined && wanted.some((id) => isUnder(id, e.request));
    const entries = this.#engine.entries.filter((e) => {
      if (e.request.versionId !== undefined) return false;
      const pinned = selectorOf(e.request.id);
      // `name:label` in the id reads that parameter (a label moves); `name:3` is one fixed version.
      if (pinned) return !/^[0-9]+$/.test(pinned.selector) && matches(pinned.name, undefined);
      return matches(e.request.id, e.arn) || under(e);
    });
    if (entries.length === 0) return [];
    return (await this.#engine.invalidate(entries)) as SecretName<D>[];
  }

  /**
   * Forces a refresh of one secret or all of them, settling when fresh values are in place or the
   * failure is recorded (it never rejects for a source failure). Single flight: calls during a
   * refresh join it. Calls within `minRefreshInterval` of the last fetch wait for the end of that
   * interval and then share one call.
   */
  async refresh(name?: SecretName<D>): Promise<void> {
    if (this.#engine.closed) throw new SecretsStoreClosedError('refresh');
    let entries: Entry[];
    if (name === undefined) {
      entries = this.#engine.entries;
    } else {
      const slot = this.#engine.slots.get(name);
      if (!slot) throw new SecretNotFoundError(name, this.names, 'refresh');
      entries = [slot.entry];
    }
    const joined = await this.#engine.request(entries, { reason: 'refresh', force: true });
    if (this.#engine.closed) throw new SecretsStoreClosedError('finish refresh');
    // A fetch that was already in flight may have started before the source recovered: when one
    // we joined failed, go to the source once more, so `await refresh()` reflects the source now.
    const retry = joined.filter((e) => e.error !== undefined);
    if (retry.length > 0) await this.#engine.request(retry, { reason: 'refresh', force: true, rateLimit: false });
    if (this.#engine.closed) throw new SecretsStoreClosedError('finish refresh');
    this.#engine.schedule();
  }

  /**
   * Whether a background refresh is due now (or one is under way): a clock read and a comparison,
   * cheap enough for every request. For runtimes that freeze between requests (AWS Lambda), where
   * the store's timer cannot be trusted to have fired: check this before the handler runs, and
   * `await refreshDue()` when it says so.
   */
  isRefreshDue(): boolean {
    return this.#engine.isRefreshDue();
  }

  /**
   * Runs now the background round that is due (every secret whose poll, retry, scheduled rotation
   * or recorded change is due, under the same backoff and `minRefreshInterval`), and joins any
   * background round already in flight, so a timer that fired on thaw and a caller never both
   * fetch. Resolves with the names fetched; failures go to events and health (it never rejects for
   * a source failure). Before `load()` finishes it resolves with `[]`.
   * @throws SecretsStoreClosedError after `close()`.
   */
  refreshDue(): Promise<SecretName<D>[]> {
    return this.#engine.refreshDue() as Promise<SecretName<D>[]>;
  }

  /** Per-secret status, version and age, and the overall status. Never a value. */
  health(): HealthReport {
    const states: SecretState[] = [];
    for (const slot of this.#engine.slots.values()) {
      states.push({
        name: slot.name,
        optional: slot.optional,
        loaded: slot.loaded,
        version: slot.version,
        goodAt: slot.goodAt,
        region: slot.entry.region,
        ...(this.#config.sources.size > 1 ? { source: slot.entry.sourceName } : {}),
        error: slot.error ?? slot.entry.error,
        refreshes: this.#engine.refreshes(slot.entry),
        leaseEndAt: slot.entry.leaseEndAt,
      });
    }
    const report = computeHealth(states, this.#config.clock.now(), this.#config.maxStaleness);
    return this.#config.name === undefined ? report : { name: this.#config.name, ...report };
  }

  /** Counters: source calls by operation, throttles, failures, refreshes, rotations. */
  /**
   * Counters: source calls by operation, throttles, failures, refreshes, rotations. The top-level
   * source counters are the default source's; a store with the `sources` option also reports
   * every source by name under `sources` (`default` included).
   */
  stats(): StoreStats {
    const of = (source: Source): SourceStats & { readonly source: string } => ({
      source: source.kind,
      ...(source.stats?.() ?? { calls: {}, attempts: {}, throttles: 0, failures: 0, outcomes: {} }),
    });
    const counts = {
      loads: this.#engine.counts.loads,
      refreshes: { ok: this.#engine.counts.refreshOk, failed: this.#engine.counts.refreshFailed },
      rotations: this.#engine.counts.rotations,
    };
    if (this.#config.sources.size === 1) return { ...of(this.#config.source), ...counts };
    const sources: Record<string, SourceStats & { readonly source: string }> = {};
    for (const [name, source] of this.#sourceNames()) sources[name] = of(source);
    return { ...sources[DEFAULT_SOURCE]!, ...counts, sources };
  }

  /** Each distinct source once (a source given under several names is one). */
  #sources(): Set<Source> {
    return new Set(this.#config.sources.values());
  }

  /** Each distinct source under its first name. */
  #sourceNames(): Map<string, Source> {
    const named = new Map<string, Source>();
    const seen = new Set<Source>();
    for (const [name, source] of this.#config.sources) {
      if (seen.has(source)) continue;
      seen.add(source);
      named.set(name, source);
    }
    return named;
  }

  /** Stops background refresh, aborts in-flight calls and closes the source. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#engine.closed) return;
    this.#engine.stop();
    this.#stopWatch?.();
    await Promise.allSettled(this.#engine.entries.map((e) => e.inflight));
    const closing: (Promise<void> | void)[] = [];
    for (const source of this.#sources()) {
      const others = (openStores.get(source) ?? 1) - 1;
      openStores.set(source, others);
      if (others === 0) closing.push(source.close?.());
    }
    await Promise.all(closing);
    this.#engine.emit({ type: 'closed' });
    this.#engine.eventListeners.clear();
    for (const slot of this.#engine.slots.values()) slot.listeners = undefined;
  }

  toString(): string {
    return `SecretStore ${REDACTED}`;
  }

  toJSON(): Record<string, unknown> {
    return { names: this.names, status: this.health().status, values: REDACTED };
  }

  [inspect.custom](): string {
    const kinds = [...this.#sources()].map((s) => s.kind).join(', ');
    return `SecretStore { source: ${kinds}, names: [${this.names.join(', ')}], values: ${REDACTED} }`;
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * The one line of a boot that has to wait: what it waits for (names, source, codes) and until
   * when. Once per `load()`, after the first failed round or during a slow first round; later
   * rounds stay quiet until the load succeeds (`Loaded …`) or fails (`SecretsLoadError`).
   */
  #logWaiting(pending: readonly Entry[], deadline: number): void {
    const { clock, bootTimeout } = this.#config;
    // The first pending source names the line's `source` field; the text names every one. Only
    // entries still missing count: a round captured earlier may hold ids another source answered.
    const missing = pending.filter((e) => e.slots.some((s) => !s.loaded));
    const sources = [...new Set(missing.map((e) => e.source))];
    const source = sources[0] ?? this.#config.source;
    const names = missing.flatMap((e) => e.slots.filter((s) => !s.loaded).map((s) => s.name));
    // Codes of the last failed attempt; none while a first round is still unanswered.
    const codes = [...new Set(missing.flatMap((e) => (e.error ? [errorCodeOf(e.error)] : [])))];
    const until = new Date(clock.wallNow() + Math.max(0, deadline - clock.now())).toISOString();
    const shown = names.slice(0, 5).map((n) => `"${n}"`);
    if (names.length > shown.length) shown.push(`${names.length - shown.length} more`);
    const from = sources.map((s) => (s.location === undefined ? s.kind : `${s.kind} (${s.location})`)).join(' and ');
    this.#config.log.warn(
      `Waiting for ${names.length === 1 ? 'secret' : 'secrets'} ${shown.join(', ')} from ${from}: ${
        codes.length > 0 ? `${codes.join(', ')}; retrying` : 'no answer yet; trying'
      } until ${until} (bootTimeout ${formatMs(bootTimeout)})`,
      {
        event: 'load-retrying',
        secrets: names,
        codes,
        source: source.kind,
        ...(source.location === undefined ? {} : { location: source.location }),
        bootTimeoutMs: bootTimeout,
        until,
      },
    );
  }

  #readError(name: string): Error {
    if (!this.#engine.slots.has(name)) return new SecretNotFoundError(name, this.names);
    if (this.#engine.closed) return new SecretsStoreClosedError(`read "${name}"`);
    return new SecretNotLoadedError(
      name,
      this.#loadPromise ? 'loading has not finished; await store.load().' : 'call await store.load() first.',
    );
  }
}

/**
 * Whether the parameter `name` (a name, or an SSM parameter ARN) lies under a path declaration:
 * anywhere below it when recursive, else directly in it.
 */
function isUnder(name: string, path: SecretRequest): boolean {
  const arn = /^arn:[^:]+:ssm:[^:]*:[^:]*:parameter(\/.*)$/.exec(name);
  const param = arn ? arn[1]! : name;
  const prefix = path.id.endsWith('/') ? path.id : `${path.id}/`;
  if (!param.startsWith(prefix) || param.length === prefix.length) return false;
  return path.path!.recursive || !param.slice(prefix.length).includes('/');
}

/**
 * A Parameter Store id with a selector in it (`/app/key:prod`, `/app/key:3`): the name and the
 * selector. Undefined for an ARN or an id without `:` (Secrets Manager names have no `:`).
 */
function selectorOf(id: string): { name: string; selector: string } | undefined {
  const colon = id.startsWith('arn:') ? -1 : id.lastIndexOf(':');
  return colon < 0 ? undefined : { name: id.slice(0, colon), selector: id.slice(colon + 1) };
}

/** The secret name an id (a name, a full or partial ARN) carries; undefined for an ARN of something else. */
function nameOf(id: string): string | undefined {
  if (!id.startsWith('arn:')) return id;
  const at = id.indexOf(':secret:');
  return at < 0 ? undefined : id.slice(at + ':secret:'.length);
}

/** A full ARN's name ends in "-" and six characters the service adds: the name without them. */
function strip(name: string): string {
  return /-[A-Za-z0-9]{6}$/.test(name) ? name.slice(0, -7) : name;
}

/**
 * Does `given` (from an event: a name, a full ARN, or a partial ARN without the 6-character
 * suffix) name the secret declared as `declared` (a name or an ARN) whose last fetch returned `arn`?
 */
export function refersTo(given: string, declared: string, arn: string | undefined): boolean {
  return referredBy([given])(declared, arn);
}

/**
 * {@link refersTo} for many given ids at once: indexes them once, then answers for each declared
 * secret with a few set lookups (O(ids + secrets) for a whole `invalidate()`, not O(ids × secrets)).
 */
export function referredBy(given: readonly string[]): (declared: string, arn: string | undefined) => boolean {
  const exact = new Set(given);
  const names = new Set<string>();
  const stripped = new Set<string>();
  for (const id of given) {
    const g = nameOf(id);
    if (g === undefined) continue;
    names.add(g);
    if (id.startsWith('arn:')) stripped.add(strip(g));
  }
  return (declared, arn) => {
    if (exact.has(declared) || (arn !== undefined && exact.has(arn))) return true;
    const d = nameOf(declared) ?? declared;
    const known = arn !== undefined ? nameOf(arn) : undefined;
    return (
      names.has(d) ||
      (known !== undefined && names.has(known)) ||
      stripped.has(d) ||
      (known !== undefined && names.has(strip(known)))
    );
  };
}
