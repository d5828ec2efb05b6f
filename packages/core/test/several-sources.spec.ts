import { inspect } from 'node:util';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  defineSecrets,
  HUSH_METRICS,
  memorySource,
  SecretsConfigError,
  SecretsLoadError,
  SecretStore,
  type FetchContext,
  type SecretRequest,
  type Source,
} from '@hush/core';
import { recordingLogger, waitFor } from '../../../test/support';

/** A source whose next fetches wait until `release()`: a slow or hung endpoint. */
function gated(inner: Source): Source & { hold(): void; release(): void; calls: SecretRequest[][] } {
  let gate: Promise<void> | undefined;
  let open = (): void => {};
  const calls: SecretRequest[][] = [];
  return {
    kind: `gated-${inner.kind}`,
    calls,
    hold() {
      gate = new Promise((resolve) => (open = resolve));
    },
    release() {
      gate = undefined;
      open();
    },
    async fetch(requests: readonly SecretRequest[], context: FetchContext) {
      calls.push([...requests]);
      if (gate) await gate;
      return inner.fetch(requests, context);
    },
    stats: () => inner.stats!(),
  };
}

const secrets = defineSecrets({
  db: { id: 'prod/app/db', key: 'password' },
  apiKey: 'prod/app/api-key',
  host: { id: '/app/prod/db-host', source: 'ssm' },
  flags: { id: '/app/prod/flags', source: 'ssm', optional: true },
  // The same id in both sources is two things.
  shared: { id: 'same-id', source: 'ssm' },
  sharedSm: 'same-id',
});

function setup() {
  const sm = memorySource({
    'prod/app/db': { password: 'pw-CANARY-"\\\n-ü' },
    'prod/app/api-key': 'key-CANARY-1',
    'same-id': 'from-sm',
  });
  const ssm = memorySource({ '/app/prod/db-host': 'db.internal', 'same-id': 'from-ssm' });
  return { sm, ssm };
}

describe('one store, several sources', () => {
  it('loads each source in one call, in parallel, and serves both side by side', async () => {
    const { sm, ssm } = setup();
    const store = new SecretStore(secrets, { source: sm, sources: { ssm }, refreshInterval: false });
    await store.load();
    expect(store.get('db')).toBe('pw-CANARY-"\\\n-ü');
    expect(store.get('host')).toBe('db.internal');
    expect(store.get('shared')).toBe('from-ssm');
    expect(store.get('sharedSm')).toBe('from-sm');
    expect(store.get('flags')).toBeUndefined();
    expect(sm.fetchCalls).toBe(1);
    expect(ssm.fetchCalls).toBe(1);
    const health = store.health();
    expect(health.status).toBe('up');
    expect(health.secrets.db).toMatchObject({ status: 'fresh', source: 'default' });
    expect(health.secrets.host).toMatchObject({ status: 'fresh', source: 'ssm' });
    expect(health.secrets.flags).toMatchObject({ status: 'missing', source: 'ssm' });
    const stats = store.stats();
    expect(stats.source).toBe('memory');
    expect(stats.calls).toEqual({ GetSecretValue: 3 });
    expect(stats.sources?.default?.calls).toEqual({ GetSecretValue: 3 });
    expect(stats.sources?.ssm).toMatchObject({ source: 'memory', calls: { GetSecretValue: 3 } });
    expect(inspect(store)).not.toContain('CANARY');
    await store.close();
  });

  it('fetches each source once per round, all sources started together', async () => {
    const { sm, ssm } = setup();
    const slowSm = gated(sm);
    const slowSsm = gated(ssm);
    const store = new SecretStore(secrets, {
      source: slowSm,
      sources: { ssm: slowSsm },
      refreshInterval: 60_000,
      minRefreshInterval: 0,
    });
    slowSm.hold();
    slowSsm.hold();
    const loading = store.load();
    // Both calls are under way before either answers: parallel, not one after the other.
    await waitFor(() => slowSm.calls.length === 1 && slowSsm.calls.length === 1);
    expect(slowSm.calls[0]!.map((r) => r.id)).toEqual(['prod/app/db', 'prod/app/api-key', 'same-id']);
    expect(slowSsm.calls[0]!.map((r) => r.id)).toEqual(['/app/prod/db-host', '/app/prod/flags', 'same-id']);
    slowSm.release();
    slowSsm.release();
    await loading;
    await store.refresh();
    expect(slowSm.calls).toHaveLength(2);
    expect(slowSsm.calls).toHaveLength(2);
    await store.close();
  });

  it('a hung source never holds back the values of another', async () => {
    const { sm, ssm } = setup();
    const slowSsm = gated(ssm);
    const store = new SecretStore(secrets, {
      source: sm,
      sources: { ssm: slowSsm },
      refreshInterval: false,
      minRefreshInterval: 0,
    });
    await store.load();
    sm.set('prod/app/api-key', 'key-CANARY-2');
    ssm.set('/app/prod/db-host', 'db2.internal');
    slowSsm.hold();
    const refreshing = store.refresh();
    await waitFor(() => store.get('apiKey') === 'key-CANARY-2');
    expect(store.get('host')).toBe('db.internal');
    slowSsm.release();
    await refreshing;
    expect(store.get('host')).toBe('db2.internal');
    await store.close();
  });

  it('load() lists every failure of every source, each with its source', async () => {
    const { sm, ssm } = setup();
    sm.fail('prod/app/api-key', 'AccessDeniedException');
    ssm.delete('/app/prod/db-host');
    const store = new SecretStore(secrets, { source: sm, sources: { ssm }, bootTimeout: 300 });
    const error = await store.load().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SecretsLoadError);
    const failures = (error as SecretsLoadError).failures;
    expect(failures.map((f) => [f.name, f.code, f.source])).toEqual([
      ['apiKey', 'AccessDeniedException', 'default'],
      ['host', 'ResourceNotFoundException', 'ssm'],
    ]);
    expect((error as Error).message).toContain('host (id "/app/prod/db-host", source "ssm")');
    expect((error as Error).message).not.toContain('CANARY');
    await store.close();
  });

  it('retries the throttled source during load while keeping what the other gave', async () => {
    const { sm, ssm } = setup();
    ssm.fail('/app/prod/db-host', 'ThrottlingException', { times: 2 });
    const logger = recordingLogger();
    const store = new SecretStore(secrets, {
      source: sm,
      sources: { ssm },
      bootTimeout: 10_000,
      backoff: { initial: 10, max: 50 },
      logger,
    });
    await store.load();
    expect(store.get('host')).toBe('db.internal');
    expect(sm.fetchCalls).toBe(1);
    expect(ssm.fetchCalls).toBe(3);
    const waiting = logger.records.find((r) => r.fields?.event === 'load-retrying');
    expect(waiting?.message).toContain('"host"');
    expect(waiting?.message).not.toContain('"db"');
    await store.close();
  });

  it('background rounds refresh both sources under the one timer', async () => {
    const { sm, ssm } = setup();
    const store = new SecretStore(secrets, { source: sm, sources: { ssm }, refreshInterval: 50, refreshJitter: 0 });
    await store.load();
    sm.set('prod/app/api-key', 'key-CANARY-3');
    ssm.set('/app/prod/db-host', 'db3.internal');
    await waitFor(() => store.get('apiKey') === 'key-CANARY-3' && store.get('host') === 'db3.internal');
    // Each round is one call per source: the two counts move together.
    expect(Math.abs(sm.fetchCalls - ssm.fetchCalls)).toBeLessThanOrEqual(1);
    await store.close();
  });

  it('a source given under two names is one source: one call per round', async () => {
    const { sm } = setup();
    const store = new SecretStore(defineSecrets({ a: 'prod/app/api-key', b: { id: 'same-id', source: 'again' } }), {
      source: sm,
      sources: { again: sm },
    });
    await store.load();
    expect(sm.fetchCalls).toBe(1);
    expect(store.get('b')).toBe('from-sm');
    await store.close();
  });

  it('closes every source once, when its last store closes', async () => {
    const { sm, ssm } = setup();
    const closed: string[] = [];
    const a = Object.assign(Object.create(sm) as Source, { close: () => void closed.push('sm') });
    const b = Object.assign(Object.create(ssm) as Source, { close: () => void closed.push('ssm') });
    const store = new SecretStore(secrets, { source: a, sources: { ssm: b } });
    await store.load();
    await store.close();
    expect(closed.sort()).toEqual(['sm', 'ssm']);
  });

  it('rejects an unknown source name, "default" redefined and a non-source, naming the option', () => {
    const { sm, ssm } = setup();
    const thrown = (f: () => unknown): SecretsConfigError => {
      try {
        f();
      } catch (e) {
        return e as SecretsConfigError;
      }
      throw new Error('did not throw');
    };
    const unknown = thrown(() => new SecretStore(secrets, { source: sm }));
    expect(unknown).toBeInstanceOf(SecretsConfigError);
    expect(unknown.option).toBe('secrets.host.source');
    expect(unknown.message).toContain('unknown source "ssm"');
    const typo = thrown(() => new SecretStore(secrets, { source: sm, sources: { smm: ssm } }));
    expect(typo.message).toContain('"default", "smm"');
    const redefined = thrown(() => new SecretStore(secrets, { source: sm, sources: { default: ssm } }));
    expect(redefined.option).toBe('SecretStore.sources.default');
    const notSource = thrown(() => new SecretStore(secrets, { source: sm, sources: { ssm: {} as Source } }));
    expect(notSource.option).toBe('SecretStore.sources.ssm');
    const badName = thrown(() => new SecretStore(secrets, { source: sm, sources: { 'a b': ssm } }));
    expect(badName.option).toBe('SecretStore.sources.a b');
    const emptyDecl = thrown(() => defineSecrets({ x: { id: 'x', source: '' } }));
    expect(emptyDecl.option).toBe('secrets.x.source');
  });

  it('a store whose construction failed leaves nothing behind for the leak check of others', async () => {
    const { sm, ssm } = setup();
    expect(() => new SecretStore(secrets, { source: sm })).toThrow(SecretsConfigError);
    const store = new SecretStore(secrets, {
      source: sm,
      sources: { ssm },
      refreshInterval: false,
      minRefreshInterval: 0,
    });
    await store.load();
    // Foreign text is checked against every store alive in the process: the failed one must not be among them.
    sm.fail('prod/app/api-key', 'InternalServiceError', { message: 'echo key-CANARY-1' });
    await store.refresh('apiKey');
    expect(store.health().secrets.apiKey).toMatchObject({ status: 'error', error: 'InternalServiceError' });
    expect(JSON.stringify(store.health())).not.toContain('CANARY');
    await store.close();
  });

  it("metrics count each source's calls under its own kind, once", async () => {
    class Reader extends MetricReader {
      protected async onForceFlush(): Promise<void> {}
      protected async onShutdown(): Promise<void> {}
    }
    const reader = new Reader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const { sm } = setup();
    const ssm = Object.assign(Object.create(setup().ssm) as Source, { kind: 'ssm-like' });
    const store = new SecretStore(secrets, { source: sm, sources: { ssm }, refreshInterval: false, meterProvider });
    await store.load();
    await store.refresh();
    const { resourceMetrics } = await reader.collect();
    const points = resourceMetrics.scopeMetrics
      .flatMap((s) => s.metrics)
      .find((m) => m.descriptor.name === HUSH_METRICS.sourceCalls)!.dataPoints;
    const byKind: Record<string, number> = {};
    for (const p of points) {
      const kind = String(p.attributes['hush.source']);
      byKind[kind] = (byKind[kind] ?? 0) + (p.value as number);
    }
    // Each source's calls under its own kind, exactly as its own counters say (none counted twice).
    const stats = store.stats().sources!;
    const total = (name: string) => Object.values(stats[name]!.calls).reduce((n, c) => n + c, 0);
    expect(byKind).toEqual({ memory: total('default'), 'ssm-like': total('ssm') });
    expect(total('default')).toBe(6); // 3 ids a round, load and refresh
    await store.close();
    await meterProvider.shutdown();
  });

  it('source: "default" names the default source', async () => {
    const { sm } = setup();
    const store = new SecretStore(defineSecrets({ k: { id: 'prod/app/api-key', source: 'default' } }), { source: sm });
    await store.load();
    expect(store.get('k')).toBe('key-CANARY-1');
    expect(store.health().secrets.k).not.toHaveProperty('source');
    expect(store.stats()).not.toHaveProperty('sources');
    await store.close();
  });
});
