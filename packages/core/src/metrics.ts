import type {
  Attributes,
  BatchObservableResult,
  Counter,
  Histogram,
  Meter,
  Observable,
  ObservableGauge,
} from '@opentelemetry/api';
import { SecretsConfigError } from './errors';
import type { SecretsEvent } from './events';
import type { HealthReport, StoreStats, StoreStatus } from './health';

/**
 * Anything with OpenTelemetry's `getMeter()`: the global `metrics` API, an SDK `MeterProvider`.
 * Typed structurally so `@hush/core` compiles without `@opentelemetry/api` installed.
 */
export interface MeterProviderLike {
  getMeter(name: string, version?: string, options?: { schemaUrl?: string }): unknown;
}

/**
 * Names of the metrics Hush records (OpenTelemetry names; a Prometheus exporter turns the dots
 * into underscores and adds `_total` to counters: `hush_source_calls_total`). Every series of a
 * store with a `name` also carries `hush.store.name`.
 */
export const HUSH_METRICS = Object.freeze({
  /** Counter: calls to the source, by `hush.operation`, `hush.outcome` (`ok`/`throttled`/`error`) and `error.type`. */
  sourceCalls: 'hush.source.calls',
  /** Counter: background/forced refreshes of each secret, by `hush.secret.name`, `hush.outcome` (`ok`/`error`) and `error.type`. */
  refreshes: 'hush.refreshes',
  /** Counter: version changes, by `hush.secret.name`. */
  rotations: 'hush.rotations',
  /** Histogram (s): duration of one fetch round against the source, by `hush.reason` and `hush.outcome`. */
  fetchDuration: 'hush.fetch.duration',
  /** Gauge (s): age of each secret's last good fetch, by `hush.secret.name`. */
  secretAge: 'hush.secret.age',
  /** Gauge: number of secrets older than `maxStaleness`. */
  staleSecrets: 'hush.secrets.stale',
  /** Gauge: store status, see {@link STORE_STATUS_VALUES}. */
  storeStatus: 'hush.store.status',
} as const);

/** The value of the `hush.store.status` gauge for each store status. */
export const STORE_STATUS_VALUES: Readonly<Record<StoreStatus, number>> = Object.freeze({
  up: 0,
  degraded: 1,
  down: 2,
});

/** Histogram buckets in seconds: a call to Secrets Manager takes tens of ms, a throttled load seconds. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30];

const SCOPE = '@hush/core';
/** The attribute every metric of a named store carries. */
const STORE_NAME = 'hush.store.name';

/** What the instrumentation reads from a store: its public surface only. */
export interface InstrumentedStore {
  /** The store's `name`: every metric of a named store carries it as `hush.store.name`. */
  readonly name?: string | undefined;
  readonly loaded: boolean;
  onEvent(listener: (event: SecretsEvent) => void): () => void;
  stats(): StoreStats;
  health(): HealthReport;
}

interface Instruments {
  readonly calls: Counter;
  readonly refreshes: Counter;
  readonly rotations: Counter;
  readonly duration: Histogram;
  /** Live stores observed by the gauges of this meter (several stores in one process add up). */
  readonly stores: Set<InstrumentedStore>;
}

const instrumentsByMeter = new WeakMap<object, Instruments>();
let otelApi: { metrics: MeterProviderLike } | null | undefined;
let version: string | undefined;

/** `@opentelemetry/api`'s global `metrics`, or `undefined` when the optional peer is not installed. */
function globalMeterProvider(): MeterProviderLike | undefined {
  if (otelApi === undefined) {
    try {
      // Optional peer: loaded lazily so Hush works (without metrics) when it is absent.
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- an import would make the optional peer required
      otelApi = require('@opentelemetry/api') as { metrics: MeterProviderLike };
    } catch {
      otelApi = null;
    }
  }
  return otelApi?.metrics;
}

function packageVersion(): string | undefined {
  if (version === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- read at run time, outside the compiled rootDir
      version = (require('../package.json') as { version: string }).version;
    } catch {
      version = '';
    }
  }
  return version || undefined;
}

function instrumentsFor(meter: Meter): Instruments {
  let instruments = instrumentsByMeter.get(meter);
  if (instruments) return instruments;
  const stores = new Set<InstrumentedStore>();
  const age = meter.createObservableGauge(HUSH_METRICS.secretAge, {
    unit: 's',
    description: "Seconds since each secret's last good fetch from the source.",
  });
  const stale = meter.createObservableGauge(HUSH_METRICS.staleSecrets, {
    unit: '{secret}',
    description: 'Number of secrets whose last good fetch is older than maxStaleness.',
  });
  const status = meter.createObservableGauge(HUSH_METRICS.storeStatus, {
    description:
      'Secret store status: 0 up, 1 degraded (serving stale values), 2 down (a required secret has no value).',
  });
  meter.addBatchObservableCallback((result) => observe(result, stores, age, stale, status), [
    age,
    stale,
    status,
  ] as Observable[]);
  instruments = {
    calls: meter.createCounter(HUSH_METRICS.sourceCalls, {
      unit: '{call}',
      description: 'Calls to the secrets source (after the SDK retries), by operation and outcome.',
    }),
    refreshes: meter.createCounter(HUSH_METRICS.refreshes, {
      unit: '{refresh}',
      description: 'Background and forced refreshes of each secret, by outcome.',
    }),
    rotations: meter.createCounter(HUSH_METRICS.rotations, {
      unit: '{rotation}',
      description: 'Version changes picked up by the store, by secret.',
    }),
    duration: meter.createHistogram(HUSH_METRICS.fetchDuration, {
      unit: 's',
      description: 'Duration of one fetch round against the source (load or refresh).',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    }),
    stores,
  };
  instrumentsByMeter.set(meter, instruments);
  return instruments;
}

function observe(
  result: BatchObservableResult,
  stores: ReadonlySet<InstrumentedStore>,
  age: ObservableGauge,
  stale: ObservableGauge,
  status: ObservableGauge,
): void {
  if (stores.size === 0) return;
  // One series per store name; stores without a name add up in the series without the attribute.
  const byName = new Map<string | undefined, InstrumentedStore[]>();
  for (const store of stores) byName.set(store.name, [...(byName.get(store.name) ?? []), store]);
  for (const [storeName, group] of byName) {
    const attributes: Attributes = storeName === undefined ? {} : { [STORE_NAME]: storeName };
    const ages = new Map<string, number>();
    let staleCount = 0;
    let worst = 0;
    for (const store of group) {
      const health = store.health();
      worst = Math.max(worst, STORE_STATUS_VALUES[health.status]);
      for (const [name, secret] of Object.entries(health.secrets)) {
        if (secret.status === 'stale') staleCount++;
        if (secret.ageSeconds !== undefined) ages.set(name, Math.max(ages.get(name) ?? 0, secret.ageSeconds));
      }
    }
    for (const [name, seconds] of ages) result.observe(age, seconds, { ...attributes, 'hush.secret.name': name });
    result.observe(stale, staleCount, attributes);
    result.observe(status, worst, attributes);
  }
}

/**
 * Records a store's metrics on `provider`'s meter `@hush/core` (the global OpenTelemetry
 * `MeterProvider` by default, a no-op unless the app registered one). Called by the store's
 * constructor; reads only its public events, `stats()` and `health()`.
 * Returns a function that stops recording (also done on `closed`).
 */
export function instrumentStore(store: InstrumentedStore, provider?: MeterProviderLike | false): () => void {
  if (provider === false) return () => {};
  if (
    provider !== undefined &&
    (provider === null || typeof (provider as Partial<MeterProviderLike>).getMeter !== 'function')
  ) {
    throw new SecretsConfigError(
      'SecretStore.meterProvider',
      'expected an OpenTelemetry MeterProvider (an object with getMeter()), or false to record no metrics.',
    );
  }
  const meterProvider = provider ?? globalMeterProvider();
  if (!meterProvider) return () => {};
  const meter = meterProvider.getMeter(SCOPE, packageVersion()) as Meter;
  const { calls, refreshes, rotations, duration, stores } = instrumentsFor(meter);
  stores.add(store);

  // A named store's series carry its name; an unnamed store's are unchanged.
  const named: Attributes = store.name === undefined ? {} : { [STORE_NAME]: store.name };
  // Source calls are counted by the source itself (stats().outcomes); the counter adds the delta
  // after each fetch round, so it matches stats() exactly.
  // Per source name: a store with several sources counts each one's calls under its own kind.
  const seen = new Map<string, StoreStats['outcomes']>();
  const countCalls = (): void => {
    const stats = store.stats();
    const bySource = stats.sources ?? { default: stats };
    for (const [name, { outcomes, source }] of Object.entries(bySource)) {
      const before = seen.get(name) ?? {};
      for (const [operation, byOutcome] of Object.entries(outcomes)) {
        for (const [outcome, count] of Object.entries(byOutcome)) {
          const delta = count - (before[operation]?.[outcome] ?? 0);
          if (delta > 0) calls.add(delta, { ...named, ...callAttributes(source, operation, outcome) });
        }
      }
      seen.set(name, outcomes);
    }
  };

  let stop = (): void => {};
  const unsubscribe = store.onEvent((event) => {
    switch (event.type) {
      case 'fetched':
        countCalls();
        duration.record(event.durationMs / 1000, {
          ...named,
          'hush.reason': event.reason,
          'hush.outcome': event.failed > 0 ? 'error' : 'ok',
        });
        break;
      case 'refreshed':
        refreshes.add(1, { ...named, 'hush.secret.name': event.name, 'hush.outcome': 'ok' });
        break;
      case 'refresh-failed':
        // The same event reports failed attempts of load(); those are not refreshes.
        if (store.loaded)
          refreshes.add(1, {
            ...named,
            'hush.secret.name': event.name,
            'hush.outcome': 'error',
            'error.type': event.code,
          });
        break;
      case 'rotated':
        rotations.add(1, { ...named, 'hush.secret.name': event.name });
        break;
      case 'closed':
        countCalls();
        stop();
        break;
    }
  });
  stop = () => {
    unsubscribe();
    stores.delete(store);
  };
  return stop;
}

function callAttributes(source: string, operation: string, outcome: string): Attributes {
  const attributes: Attributes = {
    'hush.source': source,
    'hush.operation': operation,
    'hush.outcome': outcome === 'ok' || outcome === 'throttled' ? outcome : 'error',
  };
  if (outcome !== 'ok' && outcome !== 'throttled') attributes['error.type'] = outcome;
  return attributes;
}
