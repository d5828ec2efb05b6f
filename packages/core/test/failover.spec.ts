import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  awsSecretsManager,
  defineSecrets,
  SecretsConfigError,
  SecretsLoadError,
  SecretStore,
  type AwsSecretsManagerOptions,
  type SecretDeclarations,
} from '@hush/core';
import { startEmulator, type Emulator } from '@hush/emulator';
import { recordingLogger } from '../../../test/support';

const logger = recordingLogger();
const { lines } = logger;

const replicated: Record<string, string> = {
  'prod/app/db': JSON.stringify({ username: 'app', password: 'pw-CANARY-region' }),
  'prod/app/api-key': 'key-CANARY-region',
};
const secrets = defineSecrets({
  dbPassword: { id: 'prod/app/db', key: 'password' },
  apiKey: 'prod/app/api-key',
});
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

let east: Emulator;
let west: Emulator;
const stores: SecretStore[] = [];

function options(extra: Partial<AwsSecretsManagerOptions> = {}): AwsSecretsManagerOptions {
  return {
    region: 'us-east-1',
    failoverRegions: ['us-west-2'],
    endpoints: { 'us-east-1': east.url, 'us-west-2': west.url },
    clientConfig: { credentials, maxAttempts: 2 },
    ...extra,
  } as AwsSecretsManagerOptions;
}

function store<D extends SecretDeclarations>(
  decls: D,
  source: ReturnType<typeof awsSecretsManager>,
  extra: object = {},
): SecretStore<D> {
  const s = new SecretStore(decls, {
    source,
    refreshInterval: false,
    logger,
    minRefreshInterval: 0,
    backoff: { initial: 10, max: 50 },
    ...extra,
  });
  stores.push(s as unknown as SecretStore);
  return s;
}

beforeAll(async () => {
  east = await startEmulator({ region: 'us-east-1', seed: replicated });
  west = await startEmulator({ region: 'us-west-2', seed: { ...replicated, 'prod/app/west-only': 'w-CANARY' } });
});

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  if (east.port && !(await reachable(east))) await east.resume();
  east.clearFaults();
  west.clearFaults();
  east.resetCalls();
  west.resetCalls();
});

afterAll(async () => {
  await east.close();
  await west.close();
  expect(lines.join('\n')).not.toContain('CANARY');
});

async function reachable(emu: Emulator): Promise<boolean> {
  try {
    await fetch(emu.url, { method: 'POST', signal: AbortSignal.timeout(500) });
    return true;
  } catch {
    return false;
  }
}

describe('awsSecretsManager multi-Region failover (two emulators)', () => {
  it('serves from the primary Region and says so in health', async () => {
    const s = store(secrets, awsSecretsManager(options()));
    await s.load();
    expect(s.get('apiKey')).toBe('key-CANARY-region');
    expect(s.health().secrets.apiKey).toMatchObject({ status: 'fresh', region: 'us-east-1' });
    expect(west.calls().total).toBe(0);
  });

  it('reads replicas from the next Region while the primary is down, and returns to the primary', async () => {
    await east.pause();
    const s = store(secrets, awsSecretsManager(options()));
    await s.load();
    expect(s.get('dbPassword')).toBe('pw-CANARY-region');
    expect(s.health()).toMatchObject({
      status: 'up',
      secrets: {
        dbPassword: { status: 'fresh', region: 'us-west-2' },
        apiKey: { status: 'fresh', region: 'us-west-2' },
      },
    });
    expect(west.calls().BatchGetSecretValue).toBe(1);
    expect(lines.some((l) => l.includes('region-failover') && l.includes('us-west-2'))).toBe(true);

    await east.resume();
    await s.refresh();
    expect(s.health().secrets.apiKey).toMatchObject({ status: 'fresh', region: 'us-east-1' });
    expect(s.stats().calls.BatchGetSecretValue).toBeGreaterThanOrEqual(3); // east (failed) + west + east
  });

  it('fails over on 5xx from the primary', async () => {
    east.injectFault({ error: 'InternalServiceError', status: 500 });
    const s = store(secrets, awsSecretsManager(options()));
    await s.load();
    expect(s.health().secrets.apiKey).toMatchObject({ region: 'us-west-2' });
    expect(east.calls().BatchGetSecretValue).toBe(2); // the SDK's retry, then failover
  });

  it('fails over when the primary hangs past failoverTimeout', async () => {
    east.injectFault({ hang: true });
    const s = store(secrets, awsSecretsManager(options({ failoverTimeout: 300 })));
    const started = Date.now();
    await s.load();
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(s.get('apiKey')).toBe('key-CANARY-region');
    expect(s.health().secrets.apiKey).toMatchObject({ region: 'us-west-2' });
  });

  it('never fails over on a 4xx: ResourceNotFound in the primary is final', async () => {
    const s = store(defineSecrets({ westOnly: 'prod/app/west-only' }), awsSecretsManager(options()), {
      bootTimeout: '5s',
    });
    const error = (await s.load().catch((e: unknown) => e)) as SecretsLoadError;
    expect(error).toBeInstanceOf(SecretsLoadError);
    expect(error.failures[0]).toMatchObject({ code: 'ResourceNotFoundException' });
    expect(west.calls().total).toBe(0);

    east.injectFault({ error: 'AccessDeniedException' });
    const deniedStore = store(defineSecrets({ apiKey: 'prod/app/api-key' }), awsSecretsManager(options()), {
      bootTimeout: '5s',
    });
    const denied = (await deniedStore.load().catch((e: unknown) => e)) as SecretsLoadError;
    expect(denied.failures[0]).toMatchObject({ code: 'AccessDeniedException' });
    expect(west.calls().total).toBe(0);
  });

  it("keeps the primary's transient error when the replica cannot serve either, and serves the last good value", async () => {
    const s = store(secrets, awsSecretsManager(options()));
    await s.load();
    east.injectFault({ error: 'ServiceUnavailable', status: 503 });
    // Every call: a whole-batch client error alone is now retried id by id with GetSecretValue.
    west.injectFault({ error: 'ResourceNotFoundException' });
    await s.refresh();
    expect(s.health().secrets.apiKey).toMatchObject({
      status: 'error',
      error: 'ServiceUnavailable',
      region: 'us-east-1',
    });
    expect(s.get('apiKey')).toBe('key-CANARY-region');
    expect(west.calls().BatchGetSecretValue).toBe(1);
  });

  it('rewrites ARN ids to the replica Region', async () => {
    // A partial ARN (no random suffix): the emulators' suffixes differ, real replicas' do not.
    const full = await arnOf(east, 'prod/app/api-key');
    const arn = full.slice(0, -7);
    expect(arn).toBe('arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/app/api-key');
    await east.pause();
    const s = store(defineSecrets({ apiKey: arn }), awsSecretsManager(options()));
    await s.load();
    expect(s.get('apiKey')).toBe('key-CANARY-region');
    expect(s.health().secrets.apiKey).toMatchObject({ region: 'us-west-2' });
  });

  it('accepts a user client plus failoverClients, and validates options', async () => {
    const primary = new SecretsManagerClient({ ...east.clientConfig(), maxAttempts: 1 });
    const replica = new SecretsManagerClient({ ...west.clientConfig(), maxAttempts: 1 });
    try {
      east.injectFault({ error: 'InternalServiceError', status: 500, times: 1 });
      const s = store(
        secrets,
        awsSecretsManager({
          client: primary,
          failoverRegions: ['us-west-2'],
          failoverClients: { 'us-west-2': replica },
        }),
      );
      await s.load();
      expect(s.health().secrets.apiKey).toMatchObject({ region: 'us-west-2' });
    } finally {
      primary.destroy();
      replica.destroy();
    }
    expect(() => awsSecretsManager({ region: 'us-east-1', failoverRegions: ['us-east-1'] })).toThrow(
      SecretsConfigError,
    );
    expect(() => awsSecretsManager({ region: 'us-east-1', failoverRegion: ['us-west-2'] } as never)).toThrow(
      /Did you mean `failoverRegions`/,
    );
    expect(() => awsSecretsManager({ region: 'us-east-1', failoverClients: { 'us-west-2': replica } })).toThrow(
      /failoverRegions/,
    );
  });

  it('without failoverRegions, health has no region (unchanged behaviour)', async () => {
    const s = store(
      secrets,
      awsSecretsManager({ region: 'us-east-1', endpoint: east.url, clientConfig: { credentials } }),
    );
    await s.load();
    expect(s.health().secrets.apiKey).not.toHaveProperty('region');
  });
});

async function arnOf(emu: Emulator, id: string): Promise<string> {
  const client = new SecretsManagerClient({ ...emu.clientConfig(), maxAttempts: 1 });
  try {
    const { DescribeSecretCommand } = await import('@aws-sdk/client-secrets-manager');
    const out = await client.send(new DescribeSecretCommand({ SecretId: id }));
    return out.ARN!;
  } finally {
    client.destroy();
  }
}
