import {
  DeleteParameterCommand,
  GetParameterCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  LabelParameterVersionCommand,
  PutParameterCommand,
  SSMClient,
  paginateGetParametersByPath,
  type Parameter,
} from '@aws-sdk/client-ssm';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import { startEmulator, type Emulator } from '../src/index';

/** Values that break naive quoting, escaping and encodings. */
const HOSTILE = [
  `quote"s 'single' \`back\``,
  'back\\slash \\n not-a-newline \\u0000',
  'line1\nline2\r\nline3\ttab',
  'unicode: żółć 日本語 🔑 \u202e',
  'x',
  'nul\u0000byte and \u001b[31m escape',
  'L'.repeat(4096),
];

/** SDK errors carry the AWS code as `name` and the HTTP status in `$metadata`. */
async function awsError(p: Promise<unknown>): Promise<{ name: string; message: string; status?: number }> {
  try {
    await p;
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail');
}

describe('SSM Parameter Store (AmazonSSM JSON 1.1) over HTTP with SDK v3', () => {
  let emu: Emulator;
  let ssm: SSMClient;
  let sm: SecretsManagerClient;
  const logs: string[] = [];

  beforeAll(async () => {
    const log = (m: string) => logs.push(m);
    emu = await startEmulator({
      logger: { debug: log, info: log, warn: log, error: log },
      seed: { secrets: { 'prod/db': '{"password":"sm-secret-1"}' } },
      parameters: {
        '/app/url': 'https://example.test',
        '/app/list': { value: 'a,b,c', type: 'StringList' },
        '/app/key': { value: 'seeded-secure', type: 'SecureString', labels: ['prod'] },
        '/app/deep/one': 'one',
        '/app/deep/er/two': 'two',
        plain: { value: 'v2', versions: [{ value: 'v1', labels: ['old'] }] },
      },
    });
    const config = { ...emu.clientConfig(), retryStrategy: new ConfiguredRetryStrategy(1, () => 10) };
    ssm = new SSMClient(config);
    sm = new SecretsManagerClient(config);
  });

  afterAll(async () => {
    ssm.destroy();
    sm.destroy();
    await emu.close();
  });

  afterEach(() => {
    emu.clearFaults();
    emu.setThrottle(null);
  });

  describe('GetParameter', () => {
    it('returns a seeded String with every member AWS sends', async () => {
      const before = Date.now();
      const { Parameter } = await ssm.send(new GetParameterCommand({ Name: '/app/url' }));
      expect(Parameter).toEqual({
        Name: '/app/url',
        Type: 'String',
        Value: 'https://example.test',
        Version: 1,
        LastModifiedDate: expect.any(Date),
        ARN: 'arn:aws:ssm:us-east-1:123456789012:parameter/app/url',
        DataType: 'text',
      });
      expect(Parameter!.LastModifiedDate!.getTime()).toBeLessThanOrEqual(before + 1000);
    });

    it('keeps a StringList as the comma-separated string', async () => {
      const { Parameter } = await ssm.send(new GetParameterCommand({ Name: '/app/list' }));
      expect(Parameter).toMatchObject({ Type: 'StringList', Value: 'a,b,c' });
    });

    it('decrypts a SecureString only WithDecryption; without it the value is opaque and unrelated', async () => {
      const clear = await ssm.send(new GetParameterCommand({ Name: '/app/key', WithDecryption: true }));
      expect(clear.Parameter).toMatchObject({ Type: 'SecureString', Value: 'seeded-secure' });
      const enc = await ssm.send(new GetParameterCommand({ Name: '/app/key' }));
      expect(enc.Parameter!.Value).not.toBe('seeded-secure');
      expect(Buffer.from(enc.Parameter!.Value!, 'base64').toString('latin1')).not.toContain('seeded');
      expect(enc.Parameter!.Value).not.toContain(Buffer.from('seeded-secure').toString('base64').slice(0, 8));
    });

    it('reads name:version and name:label, echoing the Selector', async () => {
      const v1 = await ssm.send(new GetParameterCommand({ Name: 'plain:1' }));
      expect(v1.Parameter).toMatchObject({ Name: 'plain', Value: 'v1', Version: 1, Selector: ':1' });
      const old = await ssm.send(new GetParameterCommand({ Name: 'plain:old' }));
      expect(old.Parameter).toMatchObject({ Name: 'plain', Value: 'v1', Version: 1, Selector: ':old' });
      const latest = await ssm.send(new GetParameterCommand({ Name: 'plain' }));
      expect(latest.Parameter).toMatchObject({ Value: 'v2', Version: 2 });
      expect(latest.Parameter).not.toHaveProperty('Selector');
    });

    it('ParameterNotFound / ParameterVersionNotFound with HTTP 400', async () => {
      expect(await awsError(ssm.send(new GetParameterCommand({ Name: '/nope' })))).toMatchObject({
        name: 'ParameterNotFound',
        status: 400,
      });
      expect(await awsError(ssm.send(new GetParameterCommand({ Name: 'plain:9' })))).toEqual({
        name: 'ParameterVersionNotFound',
        message: 'Systems Manager could not find version 9 of plain. Verify the version and try again.',
        status: 400,
      });
      expect(await awsError(ssm.send(new GetParameterCommand({ Name: 'plain:nolabel' })))).toMatchObject({
        name: 'ParameterNotFound',
      });
    });

    it('ValidationException for bad names and selectors, with AWS text', async () => {
      const badName = await awsError(ssm.send(new GetParameterCommand({ Name: '/has space' })));
      expect(badName).toEqual({
        name: 'ValidationException',
        status: 400,
        message:
          'Parameter name: can\'t be prefixed with "ssm" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_',
      });
      for (const name of ['plain:', 'plain:1:2', 'plain:0', 'plain:9label', 'plain:awsx']) {
        expect(await awsError(ssm.send(new GetParameterCommand({ Name: name })))).toEqual({
          name: 'ValidationException',
          status: 400,
          message:
            'Invalid parameter name. Please use correct syntax for referencing a version/label  <name>:<version/label>',
        });
      }
    });
  });

  describe('GetParameters', () => {
    it('returns found names in Parameters and the rest in InvalidParameters', async () => {
      const out = await ssm.send(
        new GetParametersCommand({
          Names: ['/app/url', '/missing', 'plain:1', 'plain:7', '/app/key'],
          WithDecryption: true,
        }),
      );
      expect(out.Parameters!.map((p) => [p.Name, p.Value, p.Selector])).toEqual([
        ['/app/url', 'https://example.test', undefined],
        ['plain', 'v1', ':1'],
        ['/app/key', 'seeded-secure', undefined],
      ]);
      expect(out.InvalidParameters).toEqual(['/missing', 'plain:7']);
    });

    it('rejects more than 10 names with AWS text listing them, and an empty list', async () => {
      const names = Array.from({ length: 11 }, (_, i) => `/n${i}`);
      expect(await awsError(ssm.send(new GetParametersCommand({ Names: names })))).toEqual({
        name: 'ValidationException',
        status: 400,
        message: `1 validation error detected: Value '[${names.join(', ')}]' at 'names' failed to satisfy constraint: Member must have length less than or equal to 10`,
      });
      expect((await awsError(ssm.send(new GetParametersCommand({ Names: [] })))).message).toBe(
        "1 validation error detected: Value '[]' at 'names' failed to satisfy constraint: Member must have length greater than or equal to 1",
      );
    });
  });

  describe('PutParameter', () => {
    it('creates version 1, refuses a second put without Overwrite, then counts 2, 3', async () => {
      const name = '/put/versions';
      expect(await ssm.send(new PutParameterCommand({ Name: name, Value: 'a', Type: 'String' }))).toMatchObject({
        Version: 1,
        Tier: 'Standard',
      });
      expect(await awsError(ssm.send(new PutParameterCommand({ Name: name, Value: 'b', Type: 'String' })))).toEqual({
        name: 'ParameterAlreadyExists',
        status: 400,
        message:
          'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
      });
      expect((await ssm.send(new PutParameterCommand({ Name: name, Value: 'b', Overwrite: true }))).Version).toBe(2);
      expect(
        (await ssm.send(new PutParameterCommand({ Name: name, Value: 'c', Type: 'String', Overwrite: true }))).Version,
      ).toBe(3);
      const { Parameter } = await ssm.send(new GetParameterCommand({ Name: `${name}:2` }));
      expect(Parameter).toMatchObject({ Value: 'b', Version: 2, Type: 'String' });
    });

    it('keeps 100 versions: the 101st drops version 1, unless version 1 carries a label', async () => {
      const Name = '/put/hundred';
      for (let i = 1; i <= 100; i++) emu.putParameter(Name, `v${i}`);
      const out = await ssm.send(new PutParameterCommand({ Name, Value: 'v101', Overwrite: true }));
      expect(out.Version).toBe(101);
      expect((await awsError(ssm.send(new GetParameterCommand({ Name: `${Name}:1` })))).name).toBe(
        'ParameterVersionNotFound',
      );
      expect((await ssm.send(new GetParameterCommand({ Name: `${Name}:2` }))).Parameter!.Value).toBe('v2');
      await ssm.send(new LabelParameterVersionCommand({ Name, ParameterVersion: 2, Labels: ['keep'] }));
      expect(await awsError(ssm.send(new PutParameterCommand({ Name, Value: 'v102', Overwrite: true })))).toMatchObject(
        { name: 'ParameterMaxVersionLimitExceeded', status: 400 },
      );
    });

    it.each(HOSTILE.map((v, i) => [i, v]))('round-trips hostile value #%i in all three types', async (i, value) => {
      for (const Type of ['String', 'StringList', 'SecureString'] as const) {
        const Name = `/hostile/${Type}/${i}`;
        await ssm.send(new PutParameterCommand({ Name, Value: value, Type }));
        const { Parameter } = await ssm.send(new GetParameterCommand({ Name, WithDecryption: true }));
        expect(Parameter!.Value).toBe(value);
      }
    });

    it('validates Type, empty and too long values without quoting the value', async () => {
      const bad = await awsError(
        ssm.send(new PutParameterCommand({ Name: '/v/t', Value: 'x', Type: 'Nope' as never })),
      );
      expect(bad).toEqual({
        name: 'ValidationException',
        status: 400,
        message:
          "1 validation error detected: Value 'Nope' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]",
      });
      const long = 'secret-tail-'.repeat(400);
      const tooLong = await awsError(ssm.send(new PutParameterCommand({ Name: '/v/l', Value: long, Type: 'String' })));
      expect(tooLong.name).toBe('ValidationException');
      expect(tooLong.message).not.toContain('secret-tail');
      const missingType = await awsError(ssm.send(new PutParameterCommand({ Name: '/v/new', Value: 'x' })));
      expect(missingType.name).toBe('ValidationException');
      for (const Name of ['/aws/mine', 'ssm-x', '/SSM/x', 'bad name', 'emoji🔑']) {
        expect((await awsError(ssm.send(new PutParameterCommand({ Name, Value: 'x', Type: 'String' })))).name).toBe(
          'ValidationException',
        );
      }
    });
  });

  describe('GetParametersByPath', () => {
    it('lists one level, or every level with Recursive, with pagination (MaxResults ≤ 10)', async () => {
      const top = await ssm.send(new GetParametersByPathCommand({ Path: '/app' }));
      expect(top.Parameters!.map((p) => p.Name)).toEqual(['/app/key', '/app/list', '/app/url']);
      const deep = await ssm.send(new GetParametersByPathCommand({ Path: '/app/', Recursive: true }));
      expect(deep.Parameters!.map((p) => p.Name)).toEqual([
        '/app/deep/er/two',
        '/app/deep/one',
        '/app/key',
        '/app/list',
        '/app/url',
      ]);
      // SecureString stays encrypted without WithDecryption.
      expect(deep.Parameters!.find((p) => p.Name === '/app/key')!.Value).not.toBe('seeded-secure');

      for (let i = 0; i < 23; i++) emu.putParameter(`/paged/p${String(i).padStart(2, '0')}`, `v${i}`);
      const seen: Parameter[] = [];
      let pages = 0;
      for await (const page of paginateGetParametersByPath(
        { client: ssm, pageSize: 10 },
        { Path: '/paged', WithDecryption: true },
      )) {
        pages += 1;
        seen.push(...page.Parameters!);
      }
      expect(pages).toBe(3);
      expect(seen.map((p) => p.Value)).toEqual(Array.from({ length: 23 }, (_, i) => `v${i}`));
      const first = await ssm.send(new GetParametersByPathCommand({ Path: '/paged' }));
      expect(first.Parameters).toHaveLength(10);
      expect(first.NextToken).toEqual(expect.any(String));
      const other = ssm.send(new GetParametersByPathCommand({ Path: '/app', NextToken: first.NextToken }));
      expect(await awsError(other)).toMatchObject({ name: 'InvalidNextToken', status: 400 });
      const filtered = ssm.send(
        new GetParametersByPathCommand({ Path: '/paged', ParameterFilters: [{ Key: 'Type', Values: ['String'] }] }),
      );
      expect((await awsError(filtered)).message).toBe('ParameterFilters are not supported by @hush/emulator.');
      expect((await awsError(ssm.send(new GetParametersByPathCommand({ Path: 'paged' })))).name).toBe(
        'ValidationException',
      );
      expect(await awsError(ssm.send(new GetParametersByPathCommand({ Path: '/paged', MaxResults: 11 })))).toEqual({
        name: 'ValidationException',
        status: 400,
        message:
          "1 validation error detected: Value '11' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 10",
      });
    });
  });

  describe('DeleteParameter and LabelParameterVersion', () => {
    it('deletes, then ParameterNotFound', async () => {
      await ssm.send(new PutParameterCommand({ Name: '/del/me', Value: 'x', Type: 'String' }));
      await ssm.send(new DeleteParameterCommand({ Name: '/del/me' }));
      expect((await awsError(ssm.send(new GetParameterCommand({ Name: '/del/me' })))).name).toBe('ParameterNotFound');
      expect((await awsError(ssm.send(new DeleteParameterCommand({ Name: '/del/me' })))).name).toBe(
        'ParameterNotFound',
      );
    });

    it('moves a label between versions and reports invalid labels', async () => {
      const Name = '/label/p';
      await ssm.send(new PutParameterCommand({ Name, Value: 'one', Type: 'String' }));
      await ssm.send(new PutParameterCommand({ Name, Value: 'two', Overwrite: true }));
      const first = await ssm.send(new LabelParameterVersionCommand({ Name, ParameterVersion: 1, Labels: ['live'] }));
      expect(first).toMatchObject({ InvalidLabels: [], ParameterVersion: 1 });
      expect((await ssm.send(new GetParameterCommand({ Name: `${Name}:live` }))).Parameter!.Value).toBe('one');
      const moved = await ssm.send(new LabelParameterVersionCommand({ Name, Labels: ['live', '1bad', 'awsx'] }));
      expect(moved).toMatchObject({ InvalidLabels: ['1bad', 'awsx'], ParameterVersion: 2 });
      expect((await ssm.send(new GetParameterCommand({ Name: `${Name}:live` }))).Parameter!.Value).toBe('two');
      expect(
        await awsError(ssm.send(new LabelParameterVersionCommand({ Name, ParameterVersion: 5, Labels: ['x'] }))),
      ).toMatchObject({ name: 'ParameterVersionNotFound' });
      const eleven = Array.from({ length: 10 }, (_, i) => `l${i}`);
      await ssm.send(new LabelParameterVersionCommand({ Name, ParameterVersion: 1, Labels: eleven }));
      expect(
        await awsError(ssm.send(new LabelParameterVersionCommand({ Name, ParameterVersion: 1, Labels: ['l10'] }))),
      ).toMatchObject({ name: 'ParameterVersionLabelLimitExceeded' });
    });
  });

  describe('Secrets Manager references', () => {
    const REF = '/aws/reference/secretsmanager/prod/db';

    it('reads a secret through GetParameter with Version 0, the secret ARN and a DescribeSecret SourceResult', async () => {
      const { Parameter } = await ssm.send(new GetParameterCommand({ Name: REF, WithDecryption: true }));
      const secret = emu.store.find('prod/db')!;
      expect(Parameter).toEqual({
        Name: REF,
        Type: 'SecureString',
        Value: '{"password":"sm-secret-1"}',
        Version: 0,
        SourceResult: expect.any(String),
        LastModifiedDate: expect.any(Date),
        ARN: secret.arn,
      });
      const source = JSON.parse(Parameter!.SourceResult!) as Record<string, unknown>;
      expect(source).toMatchObject({ ARN: secret.arn, Name: 'prod/db', VersionIdsToStages: expect.any(Object) });
      expect(Parameter!.SourceResult).not.toContain('sm-secret-1');
    });

    it('selects :AWSPREVIOUS and :<VersionId>', async () => {
      const before = emu.store.get('prod/db').version.versionId;
      await sm.send(new PutSecretValueCommand({ SecretId: 'prod/db', SecretString: '{"password":"sm-secret-2"}' }));
      const prev = await ssm.send(new GetParameterCommand({ Name: `${REF}:AWSPREVIOUS`, WithDecryption: true }));
      expect(prev.Parameter).toMatchObject({ Value: '{"password":"sm-secret-1"}', Selector: ':AWSPREVIOUS' });
      const byId = await ssm.send(new GetParameterCommand({ Name: `${REF}:${before}`, WithDecryption: true }));
      expect(byId.Parameter).toMatchObject({ Value: '{"password":"sm-secret-1"}', Selector: `:${before}` });
      const cur = await ssm.send(new GetParameterCommand({ Name: REF, WithDecryption: true }));
      expect(cur.Parameter!.Value).toBe('{"password":"sm-secret-2"}');
    });

    it('WithDecryption false is a ValidationException; a missing secret is ParameterNotFound', async () => {
      expect(await awsError(ssm.send(new GetParameterCommand({ Name: REF })))).toEqual({
        name: 'ValidationException',
        status: 400,
        message: 'WithDecryption flag must be True for retrieving a Secret Manager secret.',
      });
      expect(
        await awsError(
          ssm.send(new GetParameterCommand({ Name: '/aws/reference/secretsmanager/nope', WithDecryption: true })),
        ),
      ).toEqual({
        name: 'ParameterNotFound',
        status: 400,
        message:
          'An error occurred (ParameterNotFound) when referencing Secrets Manager: Secret aws/reference/secretsmanager/nopenull not found.',
      });
    });

    it('a binary secret has no Value; a secret scheduled for deletion is an invalid request', async () => {
      emu.putSecret('bin/s', new Uint8Array([0, 1, 2]));
      const { Parameter } = await ssm.send(
        new GetParameterCommand({ Name: '/aws/reference/secretsmanager/bin/s', WithDecryption: true }),
      );
      expect(Parameter).toMatchObject({ Type: 'SecureString', Version: 0 });
      expect(Parameter).not.toHaveProperty('Value');
      // RotateSecret's AWSPENDING placeholder has no value yet: not found, by stage or by id.
      const pending = emu.store.addPlaceholder(emu.store.find('bin/s')!, 'pending-token-0000000000000000000', [
        'AWSPENDING',
      ]);
      for (const sel of ['AWSPENDING', pending.versionId]) {
        const read = ssm.send(
          new GetParameterCommand({ Name: `/aws/reference/secretsmanager/bin/s:${sel}`, WithDecryption: true }),
        );
        expect(await awsError(read)).toMatchObject({ name: 'ParameterNotFound' });
      }
      emu.putSecret('doomed', 'x');
      emu.deleteSecret('doomed');
      const name = '/aws/reference/secretsmanager/doomed';
      expect(await awsError(ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true })))).toEqual({
        name: 'ValidationException',
        status: 400,
        message: 'Invalid Request to Secrets Manager',
      });
      expect(
        (await awsError(ssm.send(new GetParametersByPathCommand({ Path: '/aws/reference/secretsmanager' })))).name,
      ).toBe('ValidationException');
    });

    it('GetParameters mixes references and parameters; misses go to InvalidParameters', async () => {
      const out = await ssm.send(
        new GetParametersCommand({
          Names: [REF, `${REF}:NOSUCH`, '/aws/reference/secretsmanager/gone', '/app/url', `${REF}:a:b`],
          WithDecryption: true,
        }),
      );
      expect(out.Parameters!.map((p) => p.Name)).toEqual([REF, '/app/url']);
      expect(out.InvalidParameters).toEqual([`${REF}:NOSUCH`, '/aws/reference/secretsmanager/gone', `${REF}:a:b`]);
      const plain = await ssm.send(new GetParametersCommand({ Names: [REF, '/app/url'] }));
      expect(plain.InvalidParameters).toEqual([REF]);
    });
  });

  describe('throughput quota and faults', () => {
    it('shares one 40 TPS bucket between the three get operations under quotas: aws', async () => {
      emu.setQuotas('aws');
      emu.resetCalls();
      // 60 calls, 20 of each operation, all taking from the bucket in one synchronous loop (invoke
      // takes its token before it first awaits): nothing measurable refills meanwhile. 60 SDK calls
      // at once spread over more than the 0.5 s in which 20 tokens come back on a loaded machine.
      const gets: [string, Record<string, unknown>][] = [
        ['GetParameter', { Name: '/app/url' }],
        ['GetParameters', { Names: ['/app/url'] }],
        ['GetParametersByPath', { Path: '/app' }],
      ];
      const started = performance.now();
      const calls = Array.from({ length: 60 }, (_, i) => emu.invoke(...gets[i % 3]!));
      const refilled = Math.floor(((performance.now() - started) / 1000) * 40);
      const results = await Promise.allSettled(calls);
      const throttled = results.filter(
        (r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'ThrottlingException',
      );
      const ok = results.filter((r) => r.status === 'fulfilled');
      // 40 tokens at once (one operation alone would have had 20 of its own).
      expect(ok.length).toBeGreaterThanOrEqual(40);
      expect(ok.length).toBeLessThanOrEqual(40 + refilled);
      expect(throttled.length).toBe(60 - ok.length);
      expect(emu.throttled()).toBe(throttled.length);
      // Over HTTP the SDK sees AWS's answer; here a shared bucket of 3 that does not refill during
      // the test: one call of each operation, then none.
      emu.setQuotas({ limits: { 'ssm:get': { ratePerSecond: 1 / 3600, burst: 3 } } });
      await ssm.send(new GetParameterCommand({ Name: '/app/url' }));
      await ssm.send(new GetParametersCommand({ Names: ['/app/url'] }));
      await ssm.send(new GetParametersByPathCommand({ Path: '/app' }));
      for (const call of [
        () => ssm.send(new GetParameterCommand({ Name: '/app/url' })),
        () => ssm.send(new GetParametersCommand({ Names: ['/app/url'] })),
        () => ssm.send(new GetParametersByPathCommand({ Path: '/app' })),
      ]) {
        expect(await awsError(call())).toEqual({ name: 'ThrottlingException', message: 'Rate exceeded', status: 400 });
      }
      // Writes are not in the shared bucket.
      await ssm.send(new PutParameterCommand({ Name: '/quota/w', Value: 'x', Type: 'String', Overwrite: true }));
    });

    it('scales with quotas.scale and takes a limit for the shared bucket', async () => {
      emu.setQuotas({ scale: 0.05 }); // 2/s
      const results = await Promise.allSettled(
        Array.from({ length: 5 }, () => ssm.send(new GetParameterCommand({ Name: '/app/url' }))),
      );
      expect(results.filter((r) => r.status === 'fulfilled').length).toBe(2);
      emu.setThrottle(null);
      emu.setQuotas({ limits: { 'ssm:get': { ratePerSecond: 1, burst: 1 } } });
      const one = await Promise.allSettled([
        ssm.send(new GetParametersCommand({ Names: ['/app/url'] })),
        ssm.send(new GetParametersByPathCommand({ Path: '/app' })),
      ]);
      expect(one.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    });

    it('injects faults on SSM operations, by parameter name', async () => {
      emu.injectFault({ operation: 'GetParameters', error: 'InternalServerError', status: 500, times: 1 });
      const e = await awsError(ssm.send(new GetParametersCommand({ Names: ['/app/url'] })));
      expect(e).toMatchObject({ name: 'InternalServerError', status: 500 });
      emu.injectFault({ operation: 'GetParameter', secretId: '/app/list', error: 'ThrottlingException', times: 1 });
      await ssm.send(new GetParameterCommand({ Name: '/app/url' }));
      expect((await awsError(ssm.send(new GetParameterCommand({ Name: '/app/list:1' })))).name).toBe(
        'ThrottlingException',
      );
      emu.injectFault({ operation: 'GetParameters', secretId: '/app/url', error: 'X', perSecret: true, times: 1 });
      const out = await ssm.send(new GetParametersCommand({ Names: ['/app/url', '/app/list'] }));
      expect(out.InvalidParameters).toEqual(['/app/url']);
      expect(out.Parameters!.map((p) => p.Name)).toEqual(['/app/list']);
    });

    it('takes faults, throttles and parameters through the HTTP control API', async () => {
      const post = (route: string, body: unknown) =>
        fetch(`${emu.url}/_emulator/${route}`, { method: 'POST', body: JSON.stringify(body) });
      expect(
        (await post('faults', { operation: 'GetParametersByPath', error: 'ThrottlingException', times: 1 })).status,
      ).toBe(200);
      expect(await awsError(ssm.send(new GetParametersByPathCommand({ Path: '/app' })))).toMatchObject({
        name: 'ThrottlingException',
        message: 'Rate exceeded',
        status: 400,
      });
      await ssm.send(new GetParametersByPathCommand({ Path: '/app' }));

      const put = await post('parameters//ctl/p', { value: 'from-control', type: 'SecureString', labels: ['blue'] });
      expect(await put.json()).toEqual({ version: 1 });
      const got = await ssm.send(new GetParameterCommand({ Name: '/ctl/p:blue', WithDecryption: true }));
      expect(got.Parameter).toMatchObject({ Type: 'SecureString', Value: 'from-control', Version: 1 });
      expect(
        ((await (await fetch(`${emu.url}/_emulator/parameters`)).json()) as { parameters: string[] }).parameters,
      ).toContain('/ctl/p');
      expect(await (await fetch(`${emu.url}/_emulator/health`)).json()).toMatchObject({
        parameters: emu.parameters.list().length,
      });
      await fetch(`${emu.url}/_emulator/parameters/${encodeURIComponent('/ctl/p')}`, { method: 'DELETE' });
      expect(emu.parameters.find('/ctl/p')).toBeUndefined();

      await post('throttle', { operation: 'ssm:get', ratePerSecond: 1, burst: 1 });
      const two = await Promise.allSettled([
        ssm.send(new GetParameterCommand({ Name: '/app/url' })),
        ssm.send(new GetParametersCommand({ Names: ['/app/url'] })),
      ]);
      expect(two.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    });

    it('counts SSM calls per operation', async () => {
      emu.resetCalls();
      await ssm.send(new GetParameterCommand({ Name: '/app/url' }));
      await ssm.send(new GetParametersCommand({ Names: ['/app/url'] }));
      expect(emu.calls()).toMatchObject({ GetParameter: 1, GetParameters: 1, GetParametersByPath: 0, total: 2 });
    });
  });

  it('refuses a bad parameter seed with an error naming the parameter, never its value', async () => {
    await expect(startEmulator({ parameters: { '/ok': 'fine', 'bad name': 'seed-value-1' } })).rejects.toThrow(
      /^Seed: parameter "bad name": Parameter name: can't be prefixed/,
    );
    const badType = startEmulator({ parameters: { '/t': { value: 'seed-value-2', type: 'Secure' as never } } });
    await expect(badType).rejects.toThrow(
      `Seed: parameter "/t": 1 validation error detected: Value 'Secure' at 'type' failed to satisfy constraint`,
    );
    await expect(startEmulator({ parameters: { '/n': { value: 42 as never } } })).rejects.toThrow(
      'Seed: parameter "/n" must be a string or an object with a string value.',
    );
    const errors = await Promise.allSettled([
      startEmulator({ parameters: { 'bad name': 'seed-value-1' } }),
      startEmulator({ parameters: { '/t': { value: 'seed-value-2', type: 'Secure' as never } } }),
    ]);
    for (const e of errors) expect(String((e as PromiseRejectedResult).reason)).not.toContain('seed-value');
    expect(() => emu.putParameter('/typed', 'x', { type: 'Nope' as never })).toThrow("Value 'Nope' at 'type'");
  });

  it('never prints a parameter or secret value in its log lines', () => {
    const text = logs.join('\n');
    expect(logs.length).toBeGreaterThan(10);
    for (const v of [...HOSTILE.filter((h) => h.length > 1), 'seeded-secure', 'sm-secret', 'https://example.test']) {
      for (const fragment of [
        v.slice(0, 12),
        JSON.stringify(v).slice(1, 13),
        Buffer.from(v).toString('base64').slice(0, 12),
      ]) {
        expect(text).not.toContain(fragment);
      }
    }
  });
});
