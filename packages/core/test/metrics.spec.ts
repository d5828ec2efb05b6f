import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import { metrics } from '@opentelemetry/api';
import { DataPointType, MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import {
  awsSecretsManager,
  defineSecrets,
  HUSH_METRICS,
  memorySource,
  SecretsConfigError,
  SecretsLoadError,
  SecretStore,
  STORE_STATUS_VALUES,
  type Clock,
  type SecretStoreOptions,
} from '@hush/core';
import { startEmulator, type Emulator } from '@hush/emulator';

/** A reader collected on demand (cumulative temporality, the default). */
class TestReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

type Point = { attributes: Record<string, unknown>; value: number | { count: number; sum: number } };

/** Every Hush metric as `{ name: [{ attributes, value }] }`, plus the raw export for the canary scan. */
async function collect(reader: MetricReader): Promise<{ byName: Record<string, Point[]>; raw: ResourceMetrics }> {
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  const byName: Record<string, Point[]> = {};
  for (const scope of resourceMetrics.scopeMetrics) {
    expect(scope.scope.name).toBe('@hush/core');
    expect(scope.scope.version).toBe('0.1.0');
    for (const metric of scope.metrics) {
      byName[metric.descriptor.name] = metric.dataPoints.map((p) => ({
        attributes: { ...p.attributes },
        value:
          metric.dataPointType === DataPointType.HISTOGRAM
            ? { count: (p.value as { count: number }).count, sum: (p.value as { sum: number }).sum }
            : (p.value as number),
      }));
    }
  }
  return { byName, raw: resourceMetrics };
}

/** The data points of one metric, sorted, as `attributes → value`. */
function points(byName: Record<string, Point[]>, name: string): Point[] {
  return [...(byName[name] ?? [])].sort((a, b) =>
    JSON.stringify(a.attributes).localeCompare(JSON.stringify(b.attributes)),
  );
}

const secrets = defineSecrets({
  db: { id: 'prod/app/db', format: 'json' },
  dbUser: { id: 'prod/app/db', key: 'username' },
  apiKey: 'prod/app/api-key',
});

const AWS = 'aws-secrets-manager';
const batch = (outcome: string, extra: Record<string, string> = {}) => ({
  'hush.source': AWS,
  'hush.operation': 'BatchGetSecretValue',
  'hush.outcome': outcome,
  ...extra,
});
const get = (outcome: string, extra: Record<string, string> = {}) => ({
  'hush.source': AWS,
  'hush.operation': 'GetSecretValue',
  'hush.outcome': outcome,
  ...extra,
});

/** A test clock: monotonic time only moves when the test says so. */
function testClock(): Clock & { advance(ms: number): void } {
  let t = 1_000_000;
  return { now: () => t, wallNow: () => Date.now(), advance: (ms) => void (t += ms) };
}

describe('metrics (OpenTelemetry)', () => {
  let emu: Emulator;
  let reader: TestReader;
  let provider: MeterProvider;
  const open: { close(): Promise<void> | void }[] = [];

  beforeEach(async () => {
    emu = await startEmulator({
      seed: {
        'prod/app/db': JSON.stringify({ username: 'app', password: 'pw-CANARY-m-1' }),
        'prod/app/api-key': 'key-CANARY-m-1',
      },
    });
    reader = new TestReader();
    provider = new MeterProvider({ readers: [reader] });
  });

  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
    await provider.shutdown();
    metrics.disable();
    await emu.close();
  });

  function makeStore(options: Partial<SecretStoreOptions> = {}) {
    // One SDK attempt per call, so one throttled answer is one throttled call.
    const client = new SecretsManagerClient({
      ...emu.clientConfig(),
      retryStrategy: new ConfiguredRetryStrategy(1, () => 1),
    });
    open.push({ close: () => client.destroy() });
    const clock = testClock();
    const store = new SecretStore(secrets, {
      source: awsSecretsManager({ client }),
      refreshInterval: false,
      minRefreshInterval: 0,
      maxStaleness: '1m',
      bootTimeout: 2_000,
      backoff: { initial: 1 },
      meterProvider: provider,
      clock,
      ...options,
    });
    open.push(store);
    return { store, clock };
  }

  it('counts one batched call for a load, and reports fresh ages and status up', async () => {
    const { store } = makeStore();
    await store.load();
    const { byName, raw } = await collect(reader);

    expect(points(byName, HUSH_METRICS.sourceCalls)).toEqual([{ attributes: batch('ok'), value: 1 }]);
    expect(points(byName, HUSH_METRICS.fetchDuration)).toEqual([
      { attributes: { 'hush.reason': 'load', 'hush.outcome': 'ok' }, value: { count: 1, sum: expect.any(Number) } },
    ]);
    expect(byName[HUSH_METRICS.refreshes]).toBeUndefined();
    expect(byName[HUSH_METRICS.rotations]).toBeUndefined();
    expect(points(byName, HUSH_METRICS.secretAge)).toEqual([
      { attributes: { 'hush.secret.name': 'apiKey' }, value: 0 },
      { attributes: { 'hush.secret.name': 'db' }, value: 0 },
      { attributes: { 'hush.secret.name': 'dbUser' }, value: 0 },
    ]);
    expect(points(byName, HUSH_METRICS.staleSecrets)).toEqual([{ attributes: {}, value: 0 }]);
    expect(points(byName, HUSH_METRICS.storeStatus)).toEqual([{ attributes: {}, value: STORE_STATUS_VALUES.up }]);
    // Units and descriptions as documented.
    const descriptors = Object.fromEntries(
      raw.scopeMetrics[0]!.metrics.map((m) => [m.descriptor.name, m.descriptor.unit]),
    );
    expect(descriptors).toMatchObject({
      'hush.source.calls': '{call}',
      'hush.fetch.duration': 's',
      'hush.secret.age': 's',
      'hush.secrets.stale': '{secret}',
    });
    expect(JSON.stringify(raw)).not.toContain('CANARY');
    expect(emu.calls()).toMatchObject({ BatchGetSecretValue: 1, total: 1 });
  });

  it('counts a rotation per secret name and a refresh per secret', async () => {
    const { store } = makeStore();
    await store.load();
    emu.putSecret('prod/app/db', JSON.stringify({ username: 'app', password: 'pw-CANARY-m-2' }));
    await store.refresh();
    const { byName, raw } = await collect(reader);

    expect(points(byName, HUSH_METRICS.sourceCalls)).toEqual([{ attributes: batch('ok'), value: 2 }]);
    // db and dbUser share an id: one rotation of that id is a version change of both names.
    expect(points(byName, HUSH_METRICS.rotations)).toEqual([
      { attributes: { 'hush.secret.name': 'db' }, value: 1 },
      { attributes: { 'hush.secret.name': 'dbUser' }, value: 1 },
    ]);
    expect(points(byName, HUSH_METRICS.refreshes)).toEqual([
      { attributes: { 'hush.secret.name': 'apiKey', 'hush.outcome': 'ok' }, value: 1 },
      { attributes: { 'hush.secret.name': 'db', 'hush.outcome': 'ok' }, value: 1 },
      { attributes: { 'hush.secret.name': 'dbUser', 'hush.outcome': 'ok' }, value: 1 },
    ]);
    expect(
      points(byName, HUSH_METRICS.fetchDuration).map((p) => [
        p.attributes['hush.reason'],
        (p.value as { count: number }).count,
      ]),
    ).toEqual([
      ['load', 1],
      ['refresh', 1],
    ]);
    expect(store.stats().rotations).toBe(2);
    expect(JSON.stringify(raw)).not.toContain('CANARY');
  });

  it('counts a throttled batch call and the GetSecretValue calls it spilled over to', async () => {
    const { store } = makeStore();
    emu.injectFault({ operation: 'BatchGetSecretValue', error: 'ThrottlingException', times: 1 });
    await store.load();
    let { byName } = await collect(reader);
    expect(points(byName, HUSH_METRICS.sourceCalls)).toEqual([
      { attributes: batch('throttled'), value: 1 },
      { attributes: get('ok'), value: 2 },
    ]);
    expect(points(byName, HUSH_METRICS.fetchDuration).map((p) => (p.value as { count: number }).count)).toEqual([1]);

    // Throttled everywhere during a refresh: the values stay, every secret records one failed refresh.
    emu.injectFault({ error: 'ThrottlingException', times: 3 });
    await store.refresh();
    ({ byName } = await collect(reader));
    expect(points(byName, HUSH_METRICS.sourceCalls)).toEqual([
      { attributes: batch('throttled'), value: 2 },
      { attributes: get('ok'), value: 2 },
      { attributes: get('throttled'), value: 2 },
    ]);
    const failed = { 'hush.outcome': 'error', 'error.type': 'ThrottlingException' };
    expect(points(byName, HUSH_METRICS.refreshes)).toEqual([
      { attributes: { 'hush.secret.name': 'apiKey', ...failed }, value: 1 },
      { attributes: { 'hush.secret.name': 'db', ...failed }, value: 1 },
      { attributes: { 'hush.secret.name': 'dbUser', ...failed }, value: 1 },
    ]);
    expect(points(byName, HUSH_METRICS.storeStatus)).toEqual([{ attributes: {}, value: STORE_STATUS_VALUES.up }]);
    // The counter agrees with stats() exactly.
    expect(store.stats().outcomes).toEqual({
      BatchGetSecretValue: { throttled: 2 },
      GetSecretValue: { ok: 2, throttled: 2 },
    });
    expect(emu.throttled()).toBe(4);
  });

  it('reports an outage: failed calls by error code, stale secrets, degraded status, then recovery', async () => {
    // Refreshed in the background (hourly): a secret nobody asked to refresh is never stale.
    const { store, clock } = makeStore({ refreshInterval: '1h' });
    await store.load();
    await emu.pause();
    await store.refresh();
    clock.advance(61_000);
    const collected = await collect(reader);
    let { byName } = collected;
    const { raw } = collected;

    expect(points(byName, HUSH_METRICS.sourceCalls)).toEqual([
      { attributes: batch('error', { 'error.type': 'ECONNREFUSED' }), value: 1 },
      { attributes: batch('ok'), value: 1 },
    ]);
    const failed = { 'hush.outcome': 'error', 'error.type': 'ECONNREFUSED' };
    expect(points(byName, HUSH_METRICS.refreshes)).toEqual([
      { attributes: { 'hush.secret.name': 'apiKey', ...failed }, value: 1 },
      { attributes: { 'hush.secret.name': 'db', ...failed }, value: 1 },
      { attributes: { 'hush.secret.name': 'dbUser', ...failed }, value: 1 },
    ]);
    expect(points(byName, HUSH_METRICS.secretAge).map((p) => p.value)).toEqual([61, 61, 61]);
    expect(points(byName, HUSH_METRICS.staleSecrets)).toEqual([{ attributes: {}, value: 3 }]);
    expect(points(byName, HUSH_METRICS.storeStatus)).toEqual([{ attributes: {}, value: STORE_STATUS_VALUES.degraded }]);
    expect(points(byName, HUSH_METRICS.fetchDuration).map((p) => p.attributes)).toEqual([
      { 'hush.reason': 'load', 'hush.outcome': 'ok' },
      { 'hush.reason': 'refresh', 'hush.outcome': 'error' },
    ]);
    expect(JSON.stringify(raw)).not.toContain('CANARY');

    await emu.resume();
    await store.refresh();
    ({ byName } = await collect(reader));
    expect(points(byName, HUSH_METRICS.sourceCalls)).toEqual([
      { attributes: batch('error', { 'error.type': 'ECONNREFUSED' }), value: 1 },
      { attributes: batch('ok'), value: 2 },
    ]);
    expect(
      points(byName, HUSH_METRICS.refreshes)
        .filter((p) => p.attributes['hush.outcome'] === 'ok')
        .map((p) => p.value),
    ).toEqual([1, 1, 1]);
    expect(points(byName, HUSH_METRICS.secretAge).map((p) => p.value)).toEqual([0, 0, 0]);
    expect(points(byName, HUSH_METRICS.staleSecrets)).toEqual([{ attributes: {}, value: 0 }]);
    expect(points(byName, HUSH_METRICS.storeStatus)).toEqual([{ attributes: {}, value: STORE_STATUS_VALUES.up }]);
    expect(byName[HUSH_METRICS.rotations]).toBeUndefined();
  });

  it('reports status down when a required secret cannot be loaded, and does not count load failures as refreshes', async () => {
    const store = new SecretStore(defineSecrets({ db: 'prod/app/db', missing: 'prod/app/missing' }), {
      source: awsSecretsManager({ client: new SecretsManagerClient({ ...emu.clientConfig(), maxAttempts: 1 }) }),
      meterProvider: provider,
      refreshInterval: false,
    });
    open.push(store);
    await expect(store.load()).rejects.toBeInstanceOf(SecretsLoadError);
    const { byName } = await collect(reader);
    // The batch call itself succeeded; the missing id came back in its Errors[].
    expect(points(byName, HUSH_METRICS.sourceCalls)).toEqual([{ attributes: batch('ok'), value: 1 }]);
    expect(points(byName, HUSH_METRICS.storeStatus)).toEqual([{ attributes: {}, value: STORE_STATUS_VALUES.down }]);
    expect(points(byName, HUSH_METRICS.secretAge)).toEqual([{ attributes: { 'hush.secret.name': 'db' }, value: 0 }]);
    expect(points(byName, HUSH_METRICS.fetchDuration)).toEqual([
      { attributes: { 'hush.reason': 'load', 'hush.outcome': 'error' }, value: { count: 1, sum: expect.any(Number) } },
    ]);
    expect(byName[HUSH_METRICS.refreshes]).toBeUndefined();
  });

  it('adds up several stores on one meter and stops observing a store once it is closed', async () => {
    const a = makeStore({ refreshInterval: '1h' });
    const b = makeStore({ refreshInterval: '1h' });
    await a.store.load();
    await b.store.load();
    b.clock.advance(61_000);
    let { byName } = await collect(reader);
    expect(points(byName, HUSH_METRICS.sourceCalls)).toEqual([{ attributes: batch('ok'), value: 2 }]);
    // Ages: the oldest per name; status: the worst store.
    expect(points(byName, HUSH_METRICS.secretAge).map((p) => p.value)).toEqual([61, 61, 61]);
    expect(points(byName, HUSH_METRICS.staleSecrets)).toEqual([{ attributes: {}, value: 3 }]);
    expect(points(byName, HUSH_METRICS.storeStatus)).toEqual([{ attributes: {}, value: STORE_STATUS_VALUES.degraded }]);

    await b.store.close();
    ({ byName } = await collect(reader));
    expect(points(byName, HUSH_METRICS.sourceCalls)).toEqual([{ attributes: batch('ok'), value: 2 }]);
    expect(points(byName, HUSH_METRICS.secretAge).map((p) => p.value)).toEqual([0, 0, 0]);
    expect(points(byName, HUSH_METRICS.storeStatus)).toEqual([{ attributes: {}, value: STORE_STATUS_VALUES.up }]);

    await a.store.close();
    ({ byName } = await collect(reader));
    // Counters keep their totals after the stores are gone.
    expect(points(byName, HUSH_METRICS.sourceCalls)).toEqual([{ attributes: batch('ok'), value: 2 }]);
  });

  it('keeps named stores apart: every series of a store with a name carries hush.store.name', async () => {
    const payments = makeStore({ name: 'payments', refreshInterval: '1h' });
    const orders = makeStore({ name: 'orders', refreshInterval: '1h' });
    const unnamed = makeStore({ refreshInterval: '1h' });
    for (const s of [payments, orders, unnamed]) await s.store.load();
    emu.rotate('prod/app/api-key');
    await payments.store.refresh('apiKey');
    orders.clock.advance(61_000);
    const { byName } = await collect(reader);
    const named = (name: string, attributes: Record<string, unknown>) => ({ 'hush.store.name': name, ...attributes });

    expect(points(byName, HUSH_METRICS.sourceCalls)).toEqual([
      { attributes: batch('ok'), value: 1 },
      { attributes: named('orders', batch('ok')), value: 1 },
      { attributes: named('payments', batch('ok')), value: 2 },
    ]);
    expect(points(byName, HUSH_METRICS.rotations)).toEqual([
      { attributes: named('payments', { 'hush.secret.name': 'apiKey' }), value: 1 },
    ]);
    expect(points(byName, HUSH_METRICS.refreshes)).toEqual([
      { attributes: named('payments', { 'hush.secret.name': 'apiKey', 'hush.outcome': 'ok' }), value: 1 },
    ]);
    expect(points(byName, HUSH_METRICS.fetchDuration).map((p) => p.attributes)).toEqual([
      { 'hush.reason': 'load', 'hush.outcome': 'ok' },
      named('orders', { 'hush.reason': 'load', 'hush.outcome': 'ok' }),
      named('payments', { 'hush.reason': 'load', 'hush.outcome': 'ok' }),
      named('payments', { 'hush.reason': 'refresh', 'hush.outcome': 'ok' }),
    ]);
    // Gauges per store: only "orders" is stale and degraded.
    expect(points(byName, HUSH_METRICS.storeStatus)).toEqual([
      { attributes: named('orders', {}), value: STORE_STATUS_VALUES.degraded },
      { attributes: named('payments', {}), value: STORE_STATUS_VALUES.up },
      { attributes: {}, value: STORE_STATUS_VALUES.up },
    ]);
    expect(points(byName, HUSH_METRICS.staleSecrets)).toEqual([
      { attributes: named('orders', {}), value: 3 },
      { attributes: named('payments', {}), value: 0 },
      { attributes: {}, value: 0 },
    ]);
    expect(
      points(byName, HUSH_METRICS.secretAge)
        .filter((p) => p.attributes['hush.secret.name'] === 'db')
        .map((p) => [p.attributes['hush.store.name'], p.value]),
    ).toEqual([
      [undefined, 0],
      ['orders', 61],
      ['payments', 0],
    ]);
  });

  it('uses the global MeterProvider by default, and none with meterProvider: false', async () => {
    metrics.setGlobalMeterProvider(provider);
    const source = memorySource({
      'prod/app/db': { username: 'u', password: 'pw-CANARY-m-3' },
      'prod/app/api-key': 'key-CANARY-m-3',
    });
    const viaGlobal = new SecretStore(secrets, { source, refreshInterval: false });
    open.push(viaGlobal);
    await viaGlobal.load();
    const off = new SecretStore(secrets, {
      source: memorySource({ 'prod/app/db': {}, 'prod/app/api-key': 'x-CANARY' }),
      meterProvider: false,
    });
    open.push(off);
    await off.load().catch(() => undefined);
    const { byName } = await collect(reader);
    expect(points(byName, HUSH_METRICS.sourceCalls)).toEqual([
      { attributes: { 'hush.source': 'memory', 'hush.operation': 'GetSecretValue', 'hush.outcome': 'ok' }, value: 2 },
    ]);
    expect(points(byName, HUSH_METRICS.storeStatus)).toEqual([{ attributes: {}, value: STORE_STATUS_VALUES.up }]);
  });

  it('rejects a meterProvider that is not one', () => {
    const source = memorySource({});
    const build = () => new SecretStore(secrets, { source, meterProvider: {} as never });
    expect(build).toThrow(SecretsConfigError);
    expect(build).toThrow(/SecretStore\.meterProvider.*getMeter/);
  });

  it('counts a version that fails to parse as a failed refresh of that secret only', async () => {
    const source = memorySource({
      'prod/app/db': { username: 'u', password: 'pw-CANARY-m-5' },
      'prod/app/api-key': 'key-CANARY-m-5',
    });
    const store = new SecretStore(secrets, {
      source,
      refreshInterval: false,
      minRefreshInterval: 0,
      meterProvider: provider,
    });
    open.push(store);
    await store.load();
    source.set('prod/app/db', 'not-json-CANARY');
    await store.refresh();
    const { byName, raw } = await collect(reader);
    const parseFailed = { 'hush.outcome': 'error', 'error.type': 'SECRET_PARSE_FAILED:INVALID_JSON' };
    expect(points(byName, HUSH_METRICS.refreshes)).toEqual([
      { attributes: { 'hush.secret.name': 'apiKey', 'hush.outcome': 'ok' }, value: 1 },
      { attributes: { 'hush.secret.name': 'db', ...parseFailed }, value: 1 },
      { attributes: { 'hush.secret.name': 'dbUser', ...parseFailed }, value: 1 },
    ]);
    expect(byName[HUSH_METRICS.rotations]).toBeUndefined();
    expect(JSON.stringify(raw)).not.toContain('CANARY');
  });

  it('works without @opentelemetry/api installed', async () => {
    // The global provider is set, but this copy of @hush/core cannot load the API, so it records nothing.
    metrics.setGlobalMeterProvider(provider);
    let core: typeof import('@hush/core') | undefined;
    jest.isolateModules(() => {
      jest.doMock('@opentelemetry/api', () => {
        throw Object.assign(new Error("Cannot find module '@opentelemetry/api'"), { code: 'MODULE_NOT_FOUND' });
      });
      core = require('@hush/core') as typeof import('@hush/core');
    });
    const store = new core!.SecretStore(secrets, {
      source: core!.memorySource({ 'prod/app/db': { username: 'u' }, 'prod/app/api-key': 'key-CANARY-m-4' }),
      refreshInterval: false,
    });
    await store.load();
    expect(store.get('apiKey')).toBe('key-CANARY-m-4');
    await store.close();
    expect((await collect(reader)).byName).toEqual({});
    jest.dontMock('@opentelemetry/api');
  });
});
