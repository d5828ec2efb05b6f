import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import {
  awsSecretsManager,
  defineSecrets,
  SecretsConfigError,
  SecretsLoadError,
  SecretStore,
  type SecretDeclarations,
} from '@hush/core';
import { startEmulator, type Emulator } from '@hush/emulator';
import { recordingLogger } from '../../../test/support';

const logger = recordingLogger();
const { lines } = logger;

const seed: Record<string, string> = {
  'prod/app/db': JSON.stringify({ username: 'app', password: 'pw-CANARY-aws-1' }),
  'prod/app/api-key': 'key-CANARY-aws-1',
};
for (let i = 0; i < 45; i++) seed[`prod/bulk/s${i}`] = `bulk-CANARY-${i}`;

let emu: Emulator;
const clients: SecretsManagerClient[] = [];

function client(extra: ConstructorParameters<typeof SecretsManagerClient>[0] = {}): SecretsManagerClient {
  const c = new SecretsManagerClient({
    ...emu.clientConfig(),
    retryStrategy: new ConfiguredRetryStrategy(3, () => 5),
    ...extra,
  });
  clients.push(c);
  return c;
}

function bulk(n: number): SecretDeclarations {
  const d: Record<string, string> = {};
  for (let i = 0; i < n; i++) d[`s${i}`] = `prod/bulk/s${i}`;
  return defineSecrets(d);
}

beforeAll(async () => {
  emu = await startEmulator({ seed });
});
afterEach(() => {
  emu.clearFaults();
  emu.resetCalls();
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await emu.close();
  expect(lines.join('\n')).not.toContain('CANARY');
});

describe('awsSecretsManager source against the emulator (real SDK over HTTP)', () => {
  it('loads 45 secrets in exactly 3 BatchGetSecretValue calls', async () => {
    const store = new SecretStore(bulk(45), {
      source: awsSecretsManager({ client: client() }),
      refreshInterval: false,
      logger,
    });
    await store.load();
    expect(emu.calls().BatchGetSecretValue).toBe(3);
    expect(emu.calls().GetSecretValue ?? 0).toBe(0);
    expect(store.get('s44')).toBe('bulk-CANARY-44');
    expect(store.stats().calls).toEqual({ BatchGetSecretValue: 3 });
    await store.close();
  });

  it('fetches duplicate ids once and pinned stages with GetSecretValue', async () => {
    emu.putSecret('prod/app/api-key', 'key-CANARY-aws-2');
    const secrets = defineSecrets({
      db: { id: 'prod/app/db', format: 'json' },
      dbUser: { id: 'prod/app/db', key: 'username' },
      dbPassword: { id: 'prod/app/db', key: 'password' },
      apiKey: 'prod/app/api-key',
      previousApiKey: { id: 'prod/app/api-key', versionStage: 'AWSPREVIOUS' },
    });
    const store = new SecretStore(secrets, {
      source: awsSecretsManager({ client: client() }),
      refreshInterval: false,
      logger,
    });
    await store.load();
    expect(emu.calls().BatchGetSecretValue).toBe(1);
    expect(emu.calls().GetSecretValue).toBe(1);
    expect(store.get('dbUser')).toBe('app');
    expect(store.get('apiKey')).toBe('key-CANARY-aws-2');
    expect(store.get('previousApiKey')).toBe('key-CANARY-aws-1');
    await store.close();
  });

  /** 25 secrets (two batch chunks), loaded, refreshes not rate-limited. */
  async function loadedBulk25(): Promise<SecretStore> {
    const store = new SecretStore(bulk(25), {
      source: awsSecretsManager({ client: client() }),
      refreshInterval: false,
      logger,
      minRefreshInterval: 0,
    });
    await store.load();
    return store;
  }

  it('falls back to GetSecretValue when BatchGetSecretValue is denied, warning once, and probes again only later', async () => {
    emu.injectFault({ operation: 'BatchGetSecretValue', error: 'AccessDeniedException' });
    lines.length = 0;
    const store = await loadedBulk25();
    expect(emu.calls().BatchGetSecretValue).toBe(2);
    expect(emu.calls().GetSecretValue).toBe(25);
    await store.refresh();
    // The next fetch probes with one batch call (denied again: the other chunk is not tried)…
    expect(emu.calls().BatchGetSecretValue).toBe(3);
    expect(emu.calls().GetSecretValue).toBe(50);
    await store.refresh();
    // …and the one after that, within a minute of the second denial, does not probe.
    expect(emu.calls().BatchGetSecretValue).toBe(3);
    expect(emu.calls().GetSecretValue).toBe(75);
    expect(lines.filter((l) => l.includes('BatchGetSecretValue was denied')).length).toBe(1);
    await store.close();
  });

  it('uses BatchGetSecretValue again after a transient AccessDeniedException (issue 12)', async () => {
    // Both chunks of the first load are denied (an IAM policy still propagating), then allowed.
    emu.injectFault({ operation: 'BatchGetSecretValue', error: 'AccessDeniedException', times: 2 });
    const store = await loadedBulk25();
    expect(emu.calls()).toMatchObject({ BatchGetSecretValue: 2, GetSecretValue: 25 });
    await store.refresh();
    await store.refresh();
    // Two more refreshes of 25 secrets: 2 batch calls each, no more GetSecretValue.
    expect(emu.calls()).toMatchObject({ BatchGetSecretValue: 6, GetSecretValue: 25 });
    expect(lines.some((l) => l.includes('BatchGetSecretValue is allowed again'))).toBe(true);
    await store.close();
  });

  it.each(['InvalidSignatureException', 'SignatureDoesNotMatch', 'RequestTimeTooSkewed'])(
    'retries %s during load instead of failing boot (issue 12)',
    async (code) => {
      emu.injectFault({ error: code, status: 403, times: 1 });
      const store = new SecretStore(defineSecrets({ key: 'prod/app/api-key' }), {
        source: awsSecretsManager({ client: client() }),
        refreshInterval: false,
        backoff: { initial: 20 },
        logger,
      });
      await store.load();
      expect(store.get('key')).toMatch(/^key-CANARY-aws-/);
      expect(emu.calls().total).toBeGreaterThanOrEqual(2);
      await store.close();
    },
  );

  describe('Region (issue 12)', () => {
    const saved = { AWS_REGION: process.env.AWS_REGION, AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION };
    afterEach(() => {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    });

    it('is a SecretsConfigError at construction when no Region is configured', () => {
      delete process.env.AWS_REGION;
      delete process.env.AWS_DEFAULT_REGION;
      expect(() => awsSecretsManager({ endpoint: emu.url })).toThrow(SecretsConfigError);
      expect(() => awsSecretsManager({ endpoint: emu.url })).toThrow(/awsSecretsManager\.region.*AWS_REGION/s);
    });

    it('honours AWS_DEFAULT_REGION when AWS_REGION is unset', async () => {
      delete process.env.AWS_REGION;
      process.env.AWS_DEFAULT_REGION = emu.region;
      const store = new SecretStore(defineSecrets({ key: 'prod/app/api-key' }), {
        source: awsSecretsManager({
          endpoint: emu.url,
          clientConfig: { credentials: { accessKeyId: 'test', secretAccessKey: 'test' } },
        }),
        refreshInterval: false,
        logger,
      });
      await store.load();
      expect(store.get('key')).toMatch(/^key-CANARY-aws-/);
      await store.close();
    });
  });

  it('lists every missing secret with its AWS error code', async () => {
    const secrets = defineSecrets({
      apiKey: 'prod/app/api-key',
      a: 'missing/a',
      b: 'missing/b',
      c: { id: 'missing/c', optional: true },
    });
    const store = new SecretStore(secrets, {
      source: awsSecretsManager({ client: client() }),
      refreshInterval: false,
      logger,
    });
    const error = (await store.load().catch((e: unknown) => e)) as SecretsLoadError;
    expect(error).toBeInstanceOf(SecretsLoadError);
    expect(error.failures.map((f) => [f.name, f.id, f.code])).toEqual([
      ['a', 'missing/a', 'ResourceNotFoundException'],
      ['b', 'missing/b', 'ResourceNotFoundException'],
    ]);
    await store.close();
  });

  it('survives a throttling storm at boot', async () => {
    emu.injectFault({ error: 'ThrottlingException', times: 8 });
    const store = new SecretStore(bulk(45), {
      source: awsSecretsManager({ client: client() }),
      refreshInterval: false,
      bootTimeout: 10_000,
      backoff: { initial: 20 },
      logger,
    });
    await store.load();
    expect(store.get('s0')).toBe('bulk-CANARY-0');
    expect(emu.throttled()).toBeGreaterThanOrEqual(8);
    await store.close();
  });

  it('spills a throttled batch over to GetSecretValue at full speed (default retry mode is standard, not adaptive)', async () => {
    // Every BatchGetSecretValue is throttled; GetSecretValue (100x the quota on AWS) is not. With
    // retryMode 'adaptive' the first throttle arms one token bucket for the whole client and this
    // load took 18.3 s here; with the default ('standard') it took 1.2 s.
    emu.injectFault({ operation: 'BatchGetSecretValue', error: 'ThrottlingException' });
    const source = awsSecretsManager({ clientConfig: emu.clientConfig() });
    const store = new SecretStore(bulk(45), { source, refreshInterval: false, bootTimeout: 20_000, logger });
    const started = performance.now();
    await store.load();
    expect(performance.now() - started).toBeLessThan(6_000);
    expect(store.get('s44')).toBe('bulk-CANARY-44');
    expect(emu.calls().GetSecretValue).toBe(45);
    await store.close();
  }, 30_000);

  it('single flight: 200 concurrent refreshes cause one API call', async () => {
    const store = new SecretStore(defineSecrets({ apiKey: 'prod/app/api-key' }), {
      source: awsSecretsManager({ client: client() }),
      refreshInterval: false,
      minRefreshInterval: 0,
      logger,
    });
    await store.load();
    emu.resetCalls();
    await Promise.all(Array.from({ length: 200 }, () => store.refresh('apiKey')));
    expect(emu.calls().total).toBe(1);
    await store.close();
  });

  it('picks up a rotation on refresh and keeps the last good value when a refresh hangs', async () => {
    const store = new SecretStore(defineSecrets({ apiKey: 'prod/app/api-key' }), {
      source: awsSecretsManager({
        client: client({ requestHandler: { requestTimeout: 300, throwOnRequestTimeout: true } }),
      }),
      refreshInterval: false,
      minRefreshInterval: 0,
      fetchTimeout: 10_000,
      logger,
    });
    await store.load();
    const { versionId } = emu.putSecret('prod/app/api-key', 'key-CANARY-aws-3');
    await store.refresh('apiKey');
    expect(store.get('apiKey')).toBe('key-CANARY-aws-3');
    expect(store.handle('apiKey').version).toBe(versionId);

    emu.injectFault({ hang: true });
    const started = Date.now();
    await store.refresh('apiKey');
    // The SDK's request timeout (300 ms, throwing; 3 attempts) ends the hung call long before fetchTimeout.
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(store.health().secrets['apiKey']?.error).toBe('TimeoutError');
    expect(store.get('apiKey')).toBe('key-CANARY-aws-3');
    expect(store.health().secrets['apiKey']?.status).toBe('error');
    emu.clearFaults();
    await store.close();
  });

  it('loads binary secrets as immutable SecretBytes', async () => {
    emu.putSecret('prod/app/cert', new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
    const store = new SecretStore(defineSecrets({ cert: { id: 'prod/app/cert', format: 'binary' } }), {
      source: awsSecretsManager({ client: client() }),
      refreshInterval: false,
      logger,
    });
    await store.load();
    expect(Array.from(store.get('cert').toUint8Array())).toEqual([0xde, 0xad, 0xbe, 0xef]);
    await store.close();
  });
});
