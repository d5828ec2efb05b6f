import { DataPointType, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { HUSH_METRICS, SecretsConfigError } from '@hush/core';
import { createSecrets, type Hush } from '@hush/express';
import type { Emulator } from '@hush/emulator';
import { dbValue, emulator, recordingLogger, secrets, source } from './helpers';

/** A reader collected on demand (cumulative temporality, the default). */
class TestReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

/** The Hush metrics collected from `reader`, as `name → [attributes, value]` (counters and gauges only). */
async function collect(
  reader: MetricReader,
): Promise<{ points: Record<string, [Record<string, unknown>, number][]>; text: string }> {
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  const points: Record<string, [Record<string, unknown>, number][]> = {};
  for (const scope of resourceMetrics.scopeMetrics) {
    expect(scope.scope.name).toBe('@hush/core');
    for (const metric of scope.metrics) {
      if (metric.dataPointType === DataPointType.HISTOGRAM) continue;
      points[metric.descriptor.name] = metric.dataPoints.map((p) => [{ ...p.attributes }, p.value as number]);
    }
  }
  return { points, text: JSON.stringify(resourceMetrics) };
}

let emu: Emulator;
let provider: MeterProvider;
let reader: TestReader;
const hushes: Hush<any>[] = [];
const logger = recordingLogger();

beforeEach(async () => {
  emu = await emulator();
  reader = new TestReader();
  provider = new MeterProvider({ readers: [reader] });
});
afterEach(async () => {
  await Promise.all(hushes.splice(0).map((h) => h.close()));
  await provider.shutdown();
  await emu.close();
});
afterAll(() => {
  expect(logger.lines.join('\n')).not.toContain('CANARY');
});

describe('createSecrets({ meterProvider })', () => {
  it('passes the MeterProvider to the store, which records its source calls and rotations on it', async () => {
    const hush = await createSecrets({
      secrets,
      source: source(emu),
      refreshInterval: false,
      minRefreshInterval: 0,
      logger,
      meterProvider: provider,
    });
    hushes.push(hush);

    const loaded = await collect(reader);
    expect(loaded.points[HUSH_METRICS.sourceCalls]).toEqual([
      [{ 'hush.source': 'aws-secrets-manager', 'hush.operation': 'BatchGetSecretValue', 'hush.outcome': 'ok' }, 1],
    ]);
    expect(loaded.points[HUSH_METRICS.storeStatus]).toEqual([[{}, 0]]);
    expect(loaded.points[HUSH_METRICS.rotations] ?? []).toEqual([]);

    emu.putSecret('app/db', JSON.stringify(dbValue(2)));
    await hush.refresh();
    const rotated = await collect(reader);
    expect(rotated.points[HUSH_METRICS.sourceCalls]).toEqual([
      [{ 'hush.source': 'aws-secrets-manager', 'hush.operation': 'BatchGetSecretValue', 'hush.outcome': 'ok' }, 2],
    ]);
    expect(
      Object.fromEntries(rotated.points[HUSH_METRICS.rotations]!.map(([a, v]) => [a['hush.secret.name'], v])),
    ).toEqual({ db: 1, dbUser: 1 });
    // Names, versions and codes only.
    expect(rotated.text).not.toContain('CANARY');
  });

  it('records nothing with meterProvider: false, and hints at the key for a typo', async () => {
    const hush = await createSecrets({
      secrets,
      source: source(emu),
      refreshInterval: false,
      logger,
      meterProvider: false,
    });
    hushes.push(hush);
    expect(hush.loaded).toBe(true);
    expect((await collect(reader)).points).toEqual({});

    const typo = await createSecrets({ secrets, source: source(emu), meterProvidr: provider } as never).catch(
      (e: unknown) => e,
    );
    expect(typo).toBeInstanceOf(SecretsConfigError);
    expect((typo as Error).message).toContain('unknown option "meterProvidr". Did you mean `meterProvider`?');
  });

  it('rejects a meterProvider that is not one, before any call to the source', async () => {
    const error = await createSecrets({ secrets, source: source(emu), meterProvider: {} as never }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SecretsConfigError);
    expect((error as Error).message).toMatch(/meterProvider.*getMeter/);
    expect(emu.calls().BatchGetSecretValue ?? 0).toBe(0);
  });
});
