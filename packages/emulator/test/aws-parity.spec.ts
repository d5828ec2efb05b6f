/**
 * The places where the emulator used to be more lenient than AWS (issue 14, mismatches 1–11),
 * each checked with the SDK v3 client over HTTP, and with raw requests where the SDK would hide it.
 */
import {
  BatchGetSecretValueCommand,
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  type Filter,
} from '@aws-sdk/client-secrets-manager';
import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import { startEmulator, type Emulator } from '../src/index';

describe('AWS parity', () => {
  let emu: Emulator;
  let client: SecretsManagerClient;

  /** A raw awsJson1.1 request, as a hand-written client (or curl) sends it: no SDK defaults. */
  const raw = async (op: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
    const res = await fetch(`${emu.url}/`, {
      method: 'POST',
      headers: { 'X-Amz-Target': `secretsmanager.${op}`, 'Content-Type': 'application/x-amz-json-1.1' },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    emu = await startEmulator({
      deletionDelay: '300ms',
      seed: {
        secrets: {
          'app/db': { value: '{"password":"p"}', description: 'Primary Postgres for Billing' },
          'app/cache': { value: 'c', description: 'redis cache' },
          'other/x': 'x',
        },
      },
    });
    client = new SecretsManagerClient({ ...emu.clientConfig(), retryStrategy: new ConfiguredRetryStrategy(1) });
  });
  afterAll(async () => {
    client.destroy();
    await emu.close();
  });

  const values = (n: number, prefix = 'v') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

  describe('1. filter value limits', () => {
    it('accepts 10 values, rejects 11 in one filter and more than 10 across filters', async () => {
      await expect(
        client.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: values(10) }] })),
      ).resolves.toBeDefined();
      await expect(
        client.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: values(11) }] })),
      ).rejects.toMatchObject({ name: 'ValidationException' });
      const across: Filter[] = [
        { Key: 'name', Values: values(6) },
        { Key: 'description', Values: values(5) },
      ];
      await expect(client.send(new ListSecretsCommand({ Filters: across }))).rejects.toMatchObject({
        name: 'InvalidParameterException',
        message: 'The filter list has too many filters.',
      });
      await expect(client.send(new BatchGetSecretValueCommand({ Filters: across }))).rejects.toMatchObject({
        name: 'InvalidParameterException',
      });
    });
  });

  describe('2. secret names', () => {
    it.each([['has space'], ['hash#tag'], ['é'], ['x'.repeat(513)]])(
      'rejects the name %j with ValidationException on create and on read',
      async (name) => {
        await expect(client.send(new CreateSecretCommand({ Name: name, SecretString: 'v' }))).rejects.toMatchObject({
          name: 'ValidationException',
        });
        await expect(client.send(new GetSecretValueCommand({ SecretId: name }))).rejects.toMatchObject({
          name: 'ValidationException',
        });
      },
    );

    it('a seed with an invalid name fails start-up with an error that names it', async () => {
      await expect(startEmulator({ seed: { 'bad name': 'v' } })).rejects.toThrow(
        'Seed: secret "bad name": Invalid name. Must be a valid name containing alphanumeric characters',
      );
    });

    it('accepts every allowed character and 512 characters', async () => {
      await client.send(new CreateSecretCommand({ Name: 'ok/_+=.@-Name9', SecretString: 'v' }));
      await client.send(new CreateSecretCommand({ Name: 'n'.repeat(512), SecretString: 'v' }));
      expect((await client.send(new GetSecretValueCommand({ SecretId: 'n'.repeat(512) }))).SecretString).toBe('v');
    });
  });

  describe('3. ARNs', () => {
    it('matches full and partial ARNs of its own Region and account only', async () => {
      const { ARN } = await client.send(new DescribeSecretCommand({ SecretId: 'app/db' }));
      expect((await client.send(new GetSecretValueCommand({ SecretId: ARN }))).Name).toBe('app/db');
      const partial = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db';
      expect((await client.send(new GetSecretValueCommand({ SecretId: partial }))).Name).toBe('app/db');
      for (const id of [
        'arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/db',
        'arn:aws:secretsmanager:us-east-1:999999999999:secret:app/db',
        'arn:aws-cn:secretsmanager:us-east-1:123456789012:secret:app/db',
        ARN!.replace('us-east-1', 'eu-west-1'),
      ]) {
        await expect(client.send(new GetSecretValueCommand({ SecretId: id }))).rejects.toMatchObject({
          name: 'ResourceNotFoundException',
        });
      }
    });
  });

  describe('4. ClientRequestToken on raw requests', () => {
    it('is required by CreateSecret with a value and by PutSecretValue; the SDK fills it in', async () => {
      const noToken = await raw('CreateSecret', { Name: 'raw/one', SecretString: 'v' });
      expect(noToken.status).toBe(400);
      expect(noToken.json.__type).toBe('InvalidParameterException');
      expect(noToken.json.Message).toContain('ClientRequestToken');
      // Without a value there is no version, so no token is needed.
      expect((await raw('CreateSecret', { Name: 'raw/empty' })).status).toBe(200);
      const put = await raw('PutSecretValue', { SecretId: 'raw/empty', SecretString: 'v' });
      expect(put.json.__type).toBe('InvalidParameterException');
      const token = '0123456789abcdef0123456789abcdef';
      const ok = await raw('PutSecretValue', { SecretId: 'raw/empty', SecretString: 'v', ClientRequestToken: token });
      expect(ok).toMatchObject({ status: 200, json: { VersionId: token } });
      const sdk = await client.send(new CreateSecretCommand({ Name: 'raw/sdk', SecretString: 'v' }));
      expect(sdk.VersionId).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  describe('5. description and all filters', () => {
    const names = async (Filters: Filter[]) =>
      ((await client.send(new ListSecretsCommand({ Filters }))).SecretList ?? []).map((s) => s.Name).sort();

    it('matches description case-insensitively, name case-sensitively', async () => {
      expect(await names([{ Key: 'description', Values: ['primary postgres'] }])).toEqual(['app/db']);
      expect(await names([{ Key: 'description', Values: ['REDIS'] }])).toEqual(['app/cache']);
      expect(await names([{ Key: 'name', Values: ['APP/'] }])).toEqual([]);
    });

    it('matches all word by word, case-insensitively, across name, description and tags', async () => {
      expect(await names([{ Key: 'all', Values: ['billing'] }])).toEqual(['app/db']);
      expect(await names([{ Key: 'all', Values: ['POSTGRES billing'] }])).toEqual(['app/db']);
      expect(await names([{ Key: 'all', Values: ['postgres redis'] }])).toEqual([]);
      expect(await names([{ Key: 'all', Values: ['cache'] }])).toEqual(['app/cache']);
    });
  });

  describe('6. BatchGetSecretValue MaxResults', () => {
    it('accepts 1–20 and rejects 21', async () => {
      await expect(
        client.send(new BatchGetSecretValueCommand({ Filters: [{ Key: 'name', Values: ['app/'] }], MaxResults: 20 })),
      ).resolves.toBeDefined();
      await expect(
        client.send(new BatchGetSecretValueCommand({ Filters: [{ Key: 'name', Values: ['app/'] }], MaxResults: 21 })),
      ).rejects.toMatchObject({ name: 'ValidationException' });
      await expect(client.send(new ListSecretsCommand({ MaxResults: 101 }))).rejects.toMatchObject({
        name: 'ValidationException',
      });
    });
  });

  describe('7. deprecated versions', () => {
    it('omit the VersionStages member', async () => {
      emu.putSecret('dep', 'v1');
      emu.putSecret('dep', 'v2');
      emu.putSecret('dep', 'v3'); // v1 is now unlabelled
      const res = await raw('ListSecretVersionIds', { SecretId: 'dep', IncludeDeprecated: true });
      const versions = res.json.Versions as Array<Record<string, unknown>>;
      expect(versions).toHaveLength(3);
      expect('VersionStages' in versions[0]!).toBe(false);
      expect(versions[1]!.VersionStages).toEqual(['AWSPREVIOUS']);
      const sdk = await client.send(new ListSecretVersionIdsCommand({ SecretId: 'dep', IncludeDeprecated: true }));
      expect(sdk.Versions![0]!.VersionStages).toBeUndefined();
    });
  });

  describe('8. deletion in the background', () => {
    it('a force-deleted name cannot be re-created until the deletion delay has passed', async () => {
      await client.send(new CreateSecretCommand({ Name: 'gone', SecretString: 'v' }));
      await client.send(new DeleteSecretCommand({ SecretId: 'gone', ForceDeleteWithoutRecovery: true }));
      await expect(client.send(new GetSecretValueCommand({ SecretId: 'gone' }))).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
      });
      await expect(client.send(new CreateSecretCommand({ Name: 'gone', SecretString: 'v2' }))).rejects.toMatchObject({
        name: 'InvalidRequestException',
        message: "You can't create this secret because a secret with this name is already scheduled for deletion.",
      });
      const deadline = Date.now() + 5_000;
      for (;;) {
        try {
          await client.send(new CreateSecretCommand({ Name: 'gone', SecretString: 'v2' }));
          break;
        } catch (err) {
          if ((err as Error).name !== 'InvalidRequestException' || Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      expect((await client.send(new GetSecretValueCommand({ SecretId: 'gone' }))).SecretString).toBe('v2');
    });

    it('the default delay is on (2 s), and a recovery window ends with the deletion', async () => {
      const defaults = await startEmulator({ seed: { a: 'v' } });
      const c = new SecretsManagerClient(defaults.clientConfig());
      try {
        await c.send(new DeleteSecretCommand({ SecretId: 'a', ForceDeleteWithoutRecovery: true }));
        await expect(c.send(new CreateSecretCommand({ Name: 'a', SecretString: 'v' }))).rejects.toMatchObject({
          name: 'InvalidRequestException',
        });
        await c.send(new CreateSecretCommand({ Name: 'b', SecretString: 'v' }));
        await c.send(new DeleteSecretCommand({ SecretId: 'b', RecoveryWindowInDays: 7 }));
        defaults.advanceClock('6d');
        expect((await c.send(new DescribeSecretCommand({ SecretId: 'b' }))).DeletedDate).toBeInstanceOf(Date);
        defaults.advanceClock('1d');
        await expect(c.send(new DescribeSecretCommand({ SecretId: 'b' }))).rejects.toMatchObject({
          name: 'ResourceNotFoundException',
        });
      } finally {
        c.destroy();
        await defaults.close();
      }
    });
  });

  describe('9. force-deleting a missing secret', () => {
    it('succeeds as if it had been deleted; without force it is ResourceNotFoundException', async () => {
      const out = await client.send(
        new DeleteSecretCommand({ SecretId: 'never/was', ForceDeleteWithoutRecovery: true }),
      );
      expect(out.Name).toBe('never/was');
      expect(out.DeletionDate).toBeInstanceOf(Date);
      await expect(client.send(new DeleteSecretCommand({ SecretId: 'never/was' }))).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
      });
    });
  });

  describe('10. KmsKeyId and AddReplicaRegions', () => {
    it('keeps them and shows them in DescribeSecret and ListSecrets', async () => {
      const created = await client.send(
        new CreateSecretCommand({
          Name: 'kms/one',
          SecretString: 'v',
          KmsKeyId: 'alias/app',
          AddReplicaRegions: [{ Region: 'eu-west-1', KmsKeyId: 'alias/eu' }, { Region: 'us-west-2' }],
        }),
      );
      expect(created.ReplicationStatus).toEqual([
        { Region: 'eu-west-1', KmsKeyId: 'alias/eu', Status: 'InSync', StatusMessage: 'Replication succeeded' },
        { Region: 'us-west-2', Status: 'InSync', StatusMessage: 'Replication succeeded' },
      ]);
      const d = await client.send(new DescribeSecretCommand({ SecretId: 'kms/one' }));
      expect(d).toMatchObject({
        KmsKeyId: 'alias/app',
        PrimaryRegion: 'us-east-1',
        ReplicationStatus: created.ReplicationStatus,
      });
      const listed = await client.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: ['kms/'] }] }));
      expect(listed.SecretList![0]).toMatchObject({ KmsKeyId: 'alias/app', PrimaryRegion: 'us-east-1' });
    });

    it('rejects replicating to the primary Region and malformed Regions', async () => {
      await expect(
        client.send(new CreateSecretCommand({ Name: 'kms/two', AddReplicaRegions: [{ Region: 'us-east-1' }] })),
      ).rejects.toMatchObject({ name: 'InvalidParameterException' });
      await expect(
        client.send(new CreateSecretCommand({ Name: 'kms/two', AddReplicaRegions: [{ Region: 'Europe' }] })),
      ).rejects.toMatchObject({ name: 'ValidationException' });
    });
  });

  describe('11. maximum lengths', () => {
    it('SecretString and SecretBinary up to 65,536 bytes', async () => {
      await client.send(new CreateSecretCommand({ Name: 'len/max', SecretString: 'x'.repeat(65_536) }));
      for (const input of [
        { SecretString: 'x'.repeat(65_537) },
        { SecretString: 'é'.repeat(32_769) }, // 65,538 bytes in UTF-8
        { SecretBinary: new Uint8Array(65_537) },
      ]) {
        await expect(client.send(new CreateSecretCommand({ Name: 'len/over', ...input }))).rejects.toMatchObject({
          name: 'ValidationException',
        });
        await expect(client.send(new PutSecretValueCommand({ SecretId: 'len/max', ...input }))).rejects.toMatchObject({
          name: 'ValidationException',
        });
      }
      // The error never quotes the value.
      const res = await raw('PutSecretValue', {
        SecretId: 'len/max',
        SecretString: 'CANARY'.repeat(11_000),
        ClientRequestToken: 'c'.repeat(32),
      });
      expect(res.json.__type).toBe('ValidationException');
      expect(JSON.stringify(res.json)).not.toContain('CANARY');
    });

    it('Description up to 2,048 characters, ClientRequestToken 32–64', async () => {
      await client.send(new CreateSecretCommand({ Name: 'len/desc', Description: 'd'.repeat(2048) }));
      await expect(
        client.send(new CreateSecretCommand({ Name: 'len/desc2', Description: 'd'.repeat(2049) })),
      ).rejects.toMatchObject({ name: 'ValidationException' });
      for (const token of ['t'.repeat(31), 't'.repeat(65)]) {
        await expect(
          client.send(new PutSecretValueCommand({ SecretId: 'len/max', SecretString: 'v', ClientRequestToken: token })),
        ).rejects.toMatchObject({ name: 'ValidationException' });
      }
      await client.send(
        new PutSecretValueCommand({ SecretId: 'len/max', SecretString: 'v', ClientRequestToken: 't'.repeat(64) }),
      );
    });
  });
});
