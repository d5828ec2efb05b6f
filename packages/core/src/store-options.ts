import { SecretsConfigError } from './errors';
import { toLogger, type LoggerLike } from './logger';
import type { MeterProviderLike } from './metrics';
import type { Source } from './sources/source';
import { checkKnownKeys, keysOf, parseDuration, type Duration } from './validation';

/** A monotonic clock (milliseconds) and a wall clock. Injectable for tests. */
export interface Clock {
  /** Monotonic milliseconds; used for ages, backoff and scheduling. @default performance.now */
  now(): number;
  /** Wall-clock time; used only for `updatedAt` dates. @default Date.now */
  wallNow(): number;
}

/** `performance.now()` for ages and scheduling, `Date.now()` for `updatedAt`. */
export const defaultClock: Clock = { now: () => performance.now(), wallNow: () => Date.now() };

/** Options of {@link SecretStore}. Durations are milliseconds or strings like `'5m'`. */
export interface SecretStoreOptions {
  /** Where secrets come from: `awsSecretsManager()`, `secretsManagerAgent()`, `mountedFiles()`, `memorySource()`. */
  source: Source;
  /**
   * More sources, by name, for declarations that say `source: '<name>'` (a declaration without
   * `source` reads the default `source`). Each refresh round fetches every source's due ids in one
   * call per source, all sources in parallel; one timer, one `health()`, one `load()` whose
   * `SecretsLoadError` lists every failure of every source. Names are 1 to 64 letters, digits and
   * `. _ : -`; `default` is the name of `source` itself and cannot be redefined.
   * @example { ssm: ssmParameterStore({ region: 'eu-west-1' }) }
   * @default none
   */
  sources?: { readonly [name: string]: Source };
  /**
   * A name for this store, for telling several apart in one process: log lines carry it (a `store`
   * field; `console` lines start with `[name]`; Nest's logger context becomes `Secrets:name`),
   * metrics carry it as the `hush.store.name` attribute, and `health()` reports it. 1 to 64
   * letters, digits and `. _ : / -`.
   * @example 'payments'
   * @default none
   */
  name?: string;
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
  /**
   * Deadline for one background or forced refresh call to the source. A deadline that fires more
   * than 250 ms late (the process was frozen, as on Lambda) gives the call one grace of up to 1 s
   * first, to read an answer that came during the freeze. @default '30s'
   */
  fetchTimeout?: Duration;
  /**
   * Backoff after failures (see `backoff.ts`). With `cap(n) = min(max, initial·2^n)`:
   * - during `load()`, round `n` without progress sleeps a uniform `[0, cap(n))` (full jitter), where
   *   the cap is also held to `max(initial, bootTimeout / 8)` so a starved boot gets several tries;
   * - after a failed refresh (`n` consecutive failures), the next try waits a uniform
   *   `[cap(n-1) / 2, cap(n-1))` (equal jitter), never longer than `max(refreshInterval, initial)`
   *   while background refresh is on.
   * @default { initial: '1s', max: '5m' }
   */
  backoff?: { initial?: Duration; max?: Duration };
  /**
   * Rotation-schedule-aware refresh (opt-in). The store learns each secret's `NextRotationDate`
   * through the source's `describe` (`DescribeSecret`, one call per id every `describeInterval`),
   * refreshes a rotating secret `delay` + a random `[0, jitter)` after its scheduled rotation, and
   * otherwise polls every `safetyInterval` instead of `refreshInterval`. Sources without `describe`
   * (the Secrets Manager Agent, mounted files) poll every `safetyInterval`, with one warning.
   * `true` takes every default.
   * @default off
   */
  rotationSchedule?: boolean | RotationScheduleOptions;
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

/** Options of {@link SecretStoreOptions.rotationSchedule}. */
export interface RotationScheduleOptions {
  /** Background poll of every secret, rotating or not; bounds the delay of an out-of-schedule change. @default '1h' */
  safetyInterval?: Duration;
  /** How often each secret's schedule is read again (`DescribeSecret` per id). @default '24h' */
  describeInterval?: Duration;
  /** Wait after `NextRotationDate` before fetching, so the rotation can finish. @default '1m' */
  delay?: Duration;
  /** Random extra wait in `[0, jitter)`, so a fleet does not fetch at the same instant. @default '1m' */
  jitter?: Duration;
}

const ROTATION_SCHEDULE_KEYS = keysOf<RotationScheduleOptions>({
  safetyInterval: true,
  describeInterval: true,
  delay: true,
  jitter: true,
});

/** {@link RotationScheduleOptions} in milliseconds. */
export interface ResolvedRotationSchedule {
  readonly safetyInterval: number;
  readonly describeInterval: number;
  readonly delay: number;
  readonly jitter: number;
}

/**
 * The keys `SecretStore` accepts, in documentation order, checked by the compiler both ways:
 * adding an option without listing it here (or listing one that does not exist) fails to compile.
 * Adapters derive their option lists from it.
 */
export const SECRET_STORE_OPTION_KEYS = keysOf<SecretStoreOptions>({
  source: true,
  sources: true,
  name: true,
  refreshInterval: true,
  refreshJitter: true,
  maxStaleness: true,
  bootTimeout: true,
  startupJitter: true,
  minRefreshInterval: true,
  fetchTimeout: true,
  backoff: true,
  rotationSchedule: true,
  logger: true,
  meterProvider: true,
  clock: true,
});

const BACKOFF_KEYS = ['initial', 'max'] as const satisfies readonly (keyof NonNullable<
  SecretStoreOptions['backoff']
>)[];

/** The two backoff bounds, in milliseconds. */
export interface BackoffConfig {
  readonly initial: number;
  readonly max: number;
}

/** {@link SecretStoreOptions} validated, with defaults applied and durations in milliseconds. */
export interface ResolvedStoreOptions {
  /** The default source (declarations without `source`). */
  readonly source: Source;
  /**
   * Every source by name: `default` (the `source` option) first, then the `sources` option in
   * its order. A source given under several names is one source (one fetch per round).
   */
  readonly sources: ReadonlyMap<string, Source>;
  /** The store's name, when it has one. */
  readonly name: string | undefined;
  readonly clock: Clock;
  readonly log: LoggerLike;
  /** 0 when background refresh is off. */
  readonly refreshInterval: number;
  readonly jitter: number;
  readonly maxStaleness: number;
  readonly bootTimeout: number;
  readonly startupJitter: number;
  readonly minRefreshInterval: number;
  readonly fetchTimeout: number;
  readonly backoff: BackoffConfig;
  /** Undefined when `rotationSchedule` is off. */
  readonly rotationSchedule: ResolvedRotationSchedule | undefined;
  /** Validated by the metrics instrumentation. */
  readonly meterProvider: MeterProviderLike | false | undefined;
}

/**
 * Validates `options` (unknown keys, types, ranges) and applies the defaults.
 * @throws SecretsConfigError naming the option at fault.
 */
export function resolveStoreOptions(options: SecretStoreOptions): ResolvedStoreOptions {
  if (!options || typeof options !== 'object') {
    throw new SecretsConfigError('SecretStore', 'options are required, e.g. { source: awsSecretsManager() }.');
  }
  checkKnownKeys(options, SECRET_STORE_OPTION_KEYS, 'SecretStore');
  const source = options.source;
  if (!source || typeof source.fetch !== 'function') {
    throw new SecretsConfigError(
      'SecretStore.source',
      'a source is required: awsSecretsManager({ region }), secretsManagerAgent(), mountedFiles({ dir }) or memorySource({...}).',
    );
  }
  const sources = resolveSources(source, options.sources);
  const clock = options.clock ?? defaultClock;
  const name = resolveName(options.name);
  const log = toLogger(options.logger, name);
  const ri = options.refreshInterval ?? 300_000;
  const refreshInterval = ri === false ? 0 : parseDuration(ri, 'SecretStore.refreshInterval', { allowZero: true });
  const jitter = options.refreshJitter ?? 0.1;
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter < 1)) {
    throw new SecretsConfigError('SecretStore.refreshJitter', `expected a fraction in [0, 1), got ${String(jitter)}.`);
  }
  const maxStaleness = parseDuration(options.maxStaleness ?? 3_600_000, 'SecretStore.maxStaleness');
  const bootTimeout = parseDuration(options.bootTimeout ?? 30_000, 'SecretStore.bootTimeout');
  const startupJitter = parseDuration(options.startupJitter ?? 0, 'SecretStore.startupJitter', { allowZero: true });
  const minRefreshInterval = parseDuration(options.minRefreshInterval ?? 1_000, 'SecretStore.minRefreshInterval', {
    allowZero: true,
  });
  const fetchTimeout = parseDuration(options.fetchTimeout ?? 30_000, 'SecretStore.fetchTimeout');
  if (options.backoff !== undefined) checkKnownKeys(options.backoff, BACKOFF_KEYS, 'SecretStore.backoff');
  const backoff = {
    initial: parseDuration(options.backoff?.initial ?? 1_000, 'SecretStore.backoff.initial'),
    max: parseDuration(options.backoff?.max ?? 300_000, 'SecretStore.backoff.max'),
  };
  const rotationSchedule = resolveRotationSchedule(options.rotationSchedule);
  return {
    source,
    sources,
    name,
    clock,
    log,
    refreshInterval,
    jitter,
    maxStaleness,
    bootTimeout,
    startupJitter,
    minRefreshInterval,
    fetchTimeout,
    backoff,
    rotationSchedule,
    meterProvider: options.meterProvider,
  };
}

/** The name of the `source` option among a store's sources. */
export const DEFAULT_SOURCE = 'default';

/** What a source name may be: it is printed in log lines, health and metric attributes. */
const SOURCE_NAME = /^[A-Za-z0-9._:-]{1,64}$/;

/** @throws SecretsConfigError for a `sources` option that is not an object of named sources. */
function resolveSources(source: Source, option: SecretStoreOptions['sources']): ReadonlyMap<string, Source> {
  const sources = new Map<string, Source>([[DEFAULT_SOURCE, source]]);
  if (option === undefined) return sources;
  if (option === null || typeof option !== 'object' || Array.isArray(option)) {
    throw new SecretsConfigError(
      'SecretStore.sources',
      'expected an object mapping names to sources, e.g. { ssm: ssmParameterStore() }.',
    );
  }
  for (const [key, value] of Object.entries(option)) {
    const at = `SecretStore.sources.${key}`;
    if (!SOURCE_NAME.test(key)) {
      throw new SecretsConfigError(
        at,
        'source names are 1 to 64 letters, digits or . _ : - (they are printed in health and metrics).',
      );
    }
    if (key === DEFAULT_SOURCE) {
      throw new SecretsConfigError(at, '"default" is the name of the `source` option; give this source another name.');
    }
    if (!value || typeof (value as Partial<Source>).fetch !== 'function') {
      throw new SecretsConfigError(
        at,
        'expected a source, e.g. ssmParameterStore({ region }) or awsSecretsManager({ region }).',
      );
    }
    sources.set(key, value);
  }
  return sources;
}

/** What a store name may be: it is printed in log lines and used as a metric attribute. */
const STORE_NAME = /^[A-Za-z0-9._:/-]{1,64}$/;

/** @throws SecretsConfigError for a name that is not 1–64 of `A-Z a-z 0-9 . _ : / -`. */
function resolveName(name: unknown): string | undefined {
  if (name === undefined) return undefined;
  if (typeof name === 'string' && STORE_NAME.test(name)) return name;
  const shown =
    typeof name === 'string' ? `${JSON.stringify(name.slice(0, 64))}${name.length > 64 ? '…' : ''}` : typeof name;
  throw new SecretsConfigError(
    'SecretStore.name',
    `expected 1 to 64 letters, digits or . _ : / - (it is printed in log lines and used as a metric attribute), got ${shown}.`,
  );
}

function resolveRotationSchedule(option: SecretStoreOptions['rotationSchedule']): ResolvedRotationSchedule | undefined {
  if (option === undefined || option === false) return undefined;
  const at = 'SecretStore.rotationSchedule';
  if (option !== true && (typeof option !== 'object' || option === null || Array.isArray(option))) {
    throw new SecretsConfigError(at, 'expected true, false or an options object such as { safetyInterval: "1h" }.');
  }
  const o = option === true ? {} : option;
  if (option !== true) checkKnownKeys(o, ROTATION_SCHEDULE_KEYS, at);
  return {
    safetyInterval: parseDuration(o.safetyInterval ?? 3_600_000, `${at}.safetyInterval`),
    describeInterval: parseDuration(o.describeInterval ?? 86_400_000, `${at}.describeInterval`),
    delay: parseDuration(o.delay ?? 60_000, `${at}.delay`, { allowZero: true }),
    jitter: parseDuration(o.jitter ?? 60_000, `${at}.jitter`, { allowZero: true }),
  };
}
