import {
  BatchGetSecretValueCommand,
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import { startEmulator, type Emulator } from '../src/index';

describe('Emulator', () => {
  let emu: Emulator;
  let client: SecretsManagerClient;
  const clients: SecretsManagerClient[] = [];

  /** A client with fast retries (2 attempts, 10 ms apart). */
  const makeClient = (extra: Record<string, unknown> = {}): SecretsManagerClient => {
    const c = new SecretsManagerClient({
      ...emu.clientConfig(),
      retryStrategy: new ConfiguredRetryStrategy(2, () => 10),
      ...extra,
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    emu = await startEmulator({
      seed: {
        secrets: {
          'prod/app/db': '{"username":"app","password":"p1"}',
          'prod/app/bin': { binary: Buffer.from([0, 1, 2, 255]).toString('base64') },
          versioned: { value: 'v3', versions: [{ value: 'v1' }, { value: 'v2' }], description: 'three versions' },
        },
      },
    });
    client = makeClient();
  });

  afterAll(async () => {
    for (const c of clients) c.destroy();
    await emu.close();
    await emu.close(); // safe twice
  });

  afterEach(() => {
    emu.clearFaults();
    emu.setThrottle(null);
  });

  describe('wire protocol', () => {
    it('returns the AWS headers and no Date header', async () => {
      const res = await fetch(`${emu.url}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.GetSecretValue' },
        body: JSON.stringify({ SecretId: 'prod/app/db' }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/x-amz-json-1.1');
      expect(res.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.headers.get('date')).toBeNull();
      const body = (await res.json()) as { CreatedDate: unknown };
      expect(typeof body.CreatedDate).toBe('number');
    });

    it('answers an unknown operation with 400 UnknownOperationException', async () => {
      const res = await fetch(`${emu.url}/`, {
        method: 'POST',
        headers: { 'x-amz-target': 'secretsmanager.Nope' },
        body: '{}',
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ __type: 'UnknownOperationException' });
    });
  });

  describe('GetSecretValue', () => {
    it('reads by name and by ARN', async () => {
      const byName = await client.send(new GetSecretValueCommand({ SecretId: 'prod/app/db' }));
      expect(byName.SecretString).toBe('{"username":"app","password":"p1"}');
      expect(byName.VersionStages).toEqual(['AWSCURRENT']);
      expect(byName.CreatedDate).toBeInstanceOf(Date);
      expect(byName.ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:123456789012:secret:prod\/app\/db-[A-Za-z0-9]{6}$/);
      const byArn = await client.send(new GetSecretValueCommand({ SecretId: byName.ARN }));
      expect(byArn.VersionId).toBe(byName.VersionId);
    });

    it('reads a binary secret as bytes', async () => {
      const out = await client.send(new GetSecretValueCommand({ SecretId: 'prod/app/bin' }));
      expect(out.SecretString).toBeUndefined();
      expect(Array.from(out.SecretBinary!)).toEqual([0, 1, 2, 255]);
    });

    it('reads by VersionStage and VersionId', async () => {
      const previous = await client.send(
        new GetSecretValueCommand({ SecretId: 'versioned', VersionStage: 'AWSPREVIOUS' }),
      );
      expect(previous.SecretString).toBe('v2');
      const byId = await client.send(
        new GetSecretValueCommand({ SecretId: 'versioned', VersionId: previous.VersionId }),
      );
      expect(byId.SecretString).toBe('v2');
      expect(byId.VersionStages).toEqual(['AWSPREVIOUS']);
    });

    it('reports a missing secret and a missing stage as ResourceNotFoundException', async () => {
      await expect(client.send(new GetSecretValueCommand({ SecretId: 'nope' }))).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
        message: "Secrets Manager can't find the specified secret.",
        $metadata: { httpStatusCode: 400, attempts: 1 },
      });
      await expect(
        client.send(new GetSecretValueCommand({ SecretId: 'prod/app/db', VersionStage: 'AWSPENDING' })),
      ).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
        message: "Secrets Manager can't find the specified secret value for staging label: AWSPENDING",
      });
    });
  });

  describe('BatchGetSecretValue', () => {
    it('returns 20 ids, with a missing one in Errors', async () => {
      for (let i = 0; i < 19; i++) emu.putSecret(`batch/${i}`, `value-${i}`);
      const ids = [...Array.from({ length: 19 }, (_, i) => `batch/${i}`), 'batch/missing'];
      const out = await client.send(new BatchGetSecretValueCommand({ SecretIdList: ids }));
      expect(out.SecretValues).toHaveLength(19);
      expect(out.SecretValues![3]).toMatchObject({
        Name: 'batch/3',
        SecretString: 'value-3',
        VersionStages: ['AWSCURRENT'],
      });
      expect(out.Errors).toEqual([
        {
          SecretId: 'batch/missing',
          ErrorCode: 'ResourceNotFoundException',
          Message: "Secrets Manager can't find the specified secret.",
        },
      ]);
    });

    it('rejects more than 20 ids', async () => {
      const ids = Array.from({ length: 21 }, (_, i) => `batch/${i}`);
      await expect(client.send(new BatchGetSecretValueCommand({ SecretIdList: ids }))).rejects.toMatchObject({
        name: 'InvalidParameterException',
      });
    });

    it('supports name filters', async () => {
      const out = await client.send(
        new BatchGetSecretValueCommand({ Filters: [{ Key: 'name', Values: ['prod/app/'] }] }),
      );
      expect(out.SecretValues!.map((v) => v.Name).sort()).toEqual(['prod/app/bin', 'prod/app/db']);
    });

    it('reports a per-secret fault in Errors', async () => {
      emu.injectFault({
        operation: 'BatchGetSecretValue',
        secretId: 'prod/app/db',
        error: 'DecryptionFailure',
        perSecret: true,
      });
      const out = await client.send(new BatchGetSecretValueCommand({ SecretIdList: ['prod/app/db', 'versioned'] }));
      expect(out.SecretValues!.map((v) => v.Name)).toEqual(['versioned']);
      expect(out.Errors).toEqual([
        expect.objectContaining({ SecretId: 'prod/app/db', ErrorCode: 'DecryptionFailure' }),
      ]);
    });
  });

  describe('writes and versions', () => {
    it('creates, puts, moves stages, describes and lists versions', async () => {
      const created = await client.send(
        new CreateSecretCommand({ Name: 'rw', SecretString: 'one', Description: 'rw secret' }),
      );
      expect(created.VersionId).toBeDefined();
      const put = await client.send(new PutSecretValueCommand({ SecretId: 'rw', SecretString: 'two' }));
      expect(put.VersionStages).toEqual(['AWSCURRENT']);

      let described = await client.send(new DescribeSecretCommand({ SecretId: 'rw' }));
      expect(described.VersionIdsToStages).toEqual({
        [created.VersionId!]: ['AWSPREVIOUS'],
        [put.VersionId!]: ['AWSCURRENT'],
      });
      expect(described.Description).toBe('rw secret');
      expect(described.ARN).toBe(created.ARN);
      expect(described.LastChangedDate).toBeInstanceOf(Date);
      expect(described.CreatedDate).toBeInstanceOf(Date);

      const pendingId = '11111111-2222-3333-4444-555555555555';
      await client.send(
        new PutSecretValueCommand({
          SecretId: 'rw',
          SecretString: 'three',
          VersionStages: ['AWSPENDING'],
          ClientRequestToken: pendingId,
        }),
      );
      expect((await client.send(new GetSecretValueCommand({ SecretId: 'rw' }))).SecretString).toBe('two');
      await client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: 'rw',
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: pendingId,
          RemoveFromVersionId: put.VersionId,
        }),
      );
      expect((await client.send(new GetSecretValueCommand({ SecretId: 'rw' }))).SecretString).toBe('three');
      described = await client.send(new DescribeSecretCommand({ SecretId: 'rw' }));
      expect(described.VersionIdsToStages![pendingId]!.sort()).toEqual(['AWSCURRENT', 'AWSPENDING']);
      expect(described.VersionIdsToStages![put.VersionId!]).toEqual(['AWSPREVIOUS']);
      expect(described.VersionIdsToStages![created.VersionId!]).toBeUndefined();

      const versions = await client.send(new ListSecretVersionIdsCommand({ SecretId: 'rw', IncludeDeprecated: true }));
      expect(versions.Versions).toHaveLength(3);
      const list = await client.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: ['rw'] }] }));
      expect(list.SecretList!.map((s) => s.Name)).toEqual(['rw']);
    });

    it('putSecret and rotate move AWSCURRENT to AWSPREVIOUS', async () => {
      const first = emu.putSecret('rot', '{"user":"u","password":"a"}');
      const second = emu.rotate('rot');
      const current = await client.send(new GetSecretValueCommand({ SecretId: 'rot' }));
      expect(current.VersionId).toBe(second.versionId);
      expect(JSON.parse(current.SecretString!)).toEqual({ user: 'u', password: 'rotated-password-2' });
      const previous = await client.send(new GetSecretValueCommand({ SecretId: 'rot', VersionStage: 'AWSPREVIOUS' }));
      expect(previous.VersionId).toBe(first.versionId);
    });

    it('round-trips a binary value written by the SDK', async () => {
      const bytes = new Uint8Array([9, 8, 7, 0, 200]);
      await client.send(new CreateSecretCommand({ Name: 'bin-rw', SecretBinary: bytes }));
      const out = await client.send(new GetSecretValueCommand({ SecretId: 'bin-rw' }));
      expect(Array.from(out.SecretBinary!)).toEqual(Array.from(bytes));
    });

    it('deletes, rejects reads while deleted, restores, and force-deletes', async () => {
      emu.putSecret('del', 'x');
      const deleted = await client.send(new DeleteSecretCommand({ SecretId: 'del', RecoveryWindowInDays: 7 }));
      expect(deleted.DeletionDate).toBeInstanceOf(Date);
      await expect(client.send(new GetSecretValueCommand({ SecretId: 'del' }))).rejects.toMatchObject({
        name: 'InvalidRequestException',
        message: "You can't perform this operation on the secret because it was marked for deletion.",
      });
      expect((await client.send(new DescribeSecretCommand({ SecretId: 'del' }))).DeletedDate).toBeInstanceOf(Date);
      const batch = await client.send(new BatchGetSecretValueCommand({ SecretIdList: ['del'] }));
      expect(batch.Errors).toEqual([
        expect.objectContaining({ SecretId: 'del', ErrorCode: 'InvalidRequestException' }),
      ]);

      await client.send(new RestoreSecretCommand({ SecretId: 'del' }));
      expect((await client.send(new GetSecretValueCommand({ SecretId: 'del' }))).SecretString).toBe('x');

      await client.send(new DeleteSecretCommand({ SecretId: 'del', ForceDeleteWithoutRecovery: true }));
      await expect(client.send(new GetSecretValueCommand({ SecretId: 'del' }))).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
      });
    });

    it('rejects creating an existing secret', async () => {
      await expect(
        client.send(new CreateSecretCommand({ Name: 'prod/app/db', SecretString: 'x' })),
      ).rejects.toMatchObject({
        name: 'ResourceExistsException',
      });
    });
  });

  describe('faults and throttling', () => {
    it('ThrottlingException is retried by the SDK, then surfaces', async () => {
      emu.resetCalls();
      emu.injectFault({ operation: 'GetSecretValue', error: 'ThrottlingException' });
      const err = await client.send(new GetSecretValueCommand({ SecretId: 'prod/app/db' })).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400, attempts: 2 } });
      expect(emu.calls().GetSecretValue).toBe(2);
      expect(emu.throttled()).toBe(2);
    });

    it('InternalServiceError (500) is retried and then succeeds', async () => {
      emu.injectFault({ operation: 'GetSecretValue', error: 'InternalServiceError', times: 1 });
      const out = await client.send(new GetSecretValueCommand({ SecretId: 'prod/app/db' }));
      expect(out.$metadata.attempts).toBe(2);
      expect(out.SecretString).toContain('p1');
    });

    it('non-retryable faults fail at once, only for the targeted secret', async () => {
      emu.injectFault({ secretId: 'prod/app/db', error: 'AccessDeniedException' });
      await expect(client.send(new GetSecretValueCommand({ SecretId: 'prod/app/db' }))).rejects.toMatchObject({
        name: 'AccessDeniedException',
        $metadata: { attempts: 1 },
      });
      await expect(client.send(new GetSecretValueCommand({ SecretId: 'versioned' }))).resolves.toMatchObject({
        SecretString: 'v3',
      });
    });

    it('a hung request times out on the client', async () => {
      emu.injectFault({ operation: 'DescribeSecret', hang: true, times: 1 });
      const c = makeClient({
        maxAttempts: 1,
        retryStrategy: undefined,
        requestHandler: { requestTimeout: 200, throwOnRequestTimeout: true },
      });
      const started = Date.now();
      await expect(c.send(new DescribeSecretCommand({ SecretId: 'prod/app/db' }))).rejects.toMatchObject({
        name: 'TimeoutError',
      });
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it('latency faults delay successful calls', async () => {
      emu.injectFault({ operation: 'DescribeSecret', latencyMs: 80, times: 1 });
      const started = Date.now();
      await client.send(new DescribeSecretCommand({ SecretId: 'prod/app/db' }));
      expect(Date.now() - started).toBeGreaterThanOrEqual(70);
    });

    it('token bucket throttling counts throttled responses', async () => {
      emu.resetCalls();
      emu.setThrottle('GetSecretValue', { ratePerSecond: 1, burst: 2 });
      const c = makeClient({ maxAttempts: 1, retryStrategy: undefined });
      const results = await Promise.allSettled(
        Array.from({ length: 5 }, () => c.send(new GetSecretValueCommand({ SecretId: 'prod/app/db' }))),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(rejected.map((r) => (r.reason as Error).name)).toEqual([
        'ThrottlingException',
        'ThrottlingException',
        'ThrottlingException',
      ]);
      expect(emu.throttled()).toBe(3);
      expect(emu.calls()).toMatchObject({ GetSecretValue: 5, total: 5 });
    });

    it('scaled AWS quotas throttle BatchGetSecretValue first', async () => {
      emu.setQuotas({ scale: 0.01 }); // BatchGetSecretValue: 1/s, GetSecretValue: 100/s
      const c = makeClient({ maxAttempts: 1, retryStrategy: undefined });
      await c.send(new BatchGetSecretValueCommand({ SecretIdList: ['prod/app/db'] }));
      await expect(c.send(new BatchGetSecretValueCommand({ SecretIdList: ['prod/app/db'] }))).rejects.toMatchObject({
        name: 'ThrottlingException',
      });
      await expect(c.send(new GetSecretValueCommand({ SecretId: 'prod/app/db' }))).resolves.toBeDefined();
    });
  });

  describe('control', () => {
    it('counts every call per operation', async () => {
      emu.resetCalls();
      await client.send(new GetSecretValueCommand({ SecretId: 'prod/app/db' }));
      await client.send(new DescribeSecretCommand({ SecretId: 'prod/app/db' }));
      await client.send(new GetSecretValueCommand({ SecretId: 'nope' })).catch(() => undefined);
      expect(emu.calls()).toMatchObject({ GetSecretValue: 2, DescribeSecret: 1, BatchGetSecretValue: 0, total: 3 });
    });

    it('exposes the HTTP control API', async () => {
      emu.resetCalls();
      const health = await fetch(`${emu.url}/_emulator/health`);
      expect(await health.json()).toMatchObject({ status: 'ok' });
      const put = await fetch(`${emu.url}/_emulator/secrets/${encodeURIComponent('ctl/one')}`, {
        method: 'POST',
        body: JSON.stringify({ value: 'hello' }),
      });
      expect(await put.json()).toMatchObject({ versionId: expect.any(String) });
      const fault = await fetch(`${emu.url}/_emulator/faults`, {
        method: 'POST',
        body: JSON.stringify({ operation: 'GetSecretValue', error: 'InternalServiceError', times: 2 }),
      });
      expect(await fault.json()).toMatchObject({ id: expect.any(String) });
      const out = await client.send(new GetSecretValueCommand({ SecretId: 'ctl/one' })).catch((e: unknown) => e);
      expect(out).toMatchObject({ name: 'InternalServiceError', $metadata: { httpStatusCode: 500 } });
      await fetch(`${emu.url}/_emulator/faults`, { method: 'DELETE' });
      expect((await client.send(new GetSecretValueCommand({ SecretId: 'ctl/one' }))).SecretString).toBe('hello');
      const calls = (await (await fetch(`${emu.url}/_emulator/calls`)).json()) as Record<string, number>;
      expect(calls.GetSecretValue).toBe(3);
      await fetch(`${emu.url}/_emulator/reset-calls`, { method: 'POST' });
      expect(emu.calls().total).toBe(0);
    });

    it('pause refuses connections and resume serves again on the same port', async () => {
      const port = emu.port;
      const c = makeClient({ maxAttempts: 1, retryStrategy: undefined });
      await c.send(new GetSecretValueCommand({ SecretId: 'prod/app/db' }));
      await emu.pause();
      // Under jest the SDK wraps Node's cross-realm network error and keeps only the message
      // ("AWS SDK error wrapper for Error: connect ECONNREFUSED ..."); outside jest it has code ECONNREFUSED.
      await expect(c.send(new GetSecretValueCommand({ SecretId: 'prod/app/db' }))).rejects.toThrow(/ECONNREFUSED/);
      await emu.resume();
      expect(emu.port).toBe(port);
      await expect(c.send(new GetSecretValueCommand({ SecretId: 'prod/app/db' }))).resolves.toMatchObject({
        Name: 'prod/app/db',
      });
    });
  });
});
