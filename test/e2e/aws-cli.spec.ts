/**
 * The AWS CLI against the `hush-emulator` process: a full secret lifecycle, rotation through a
 * --rotation-module handler, and every AWS mismatch of issue 14 that the CLI can express. Either
 * major version works: Debian's v2 (`apt-get install -y awscli`, 2.9.x; `.ci/run` installs it) or a
 * pip-installed v1 (`pip install awscli`); the suite's title and a line on stderr say which CLI and
 * version ran. Without a CLI this file runs one test that says so plainly (it does not fail, and it
 * does not pretend the lifecycle ran). A test may take minutes on a loaded machine: each call is
 * a CLI process (a Python start).
 *
 * Not expressible with this CLI: a missing ClientRequestToken (4; the CLI always generates one),
 * a token shorter than 32 characters (botocore rejects it before sending), and BatchGetSecretValue
 * MaxResults (6; the operation is newer than CLI 2.9). packages/emulator/test/aws-parity.spec.ts
 * covers those with raw requests and SDK v3.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliVersion, findAwsCli } from './aws-cli-support';
import { startEmulatorCli, type EmulatorCli } from './helpers';

/**
 * A timestamp as the CLI prints it, in milliseconds. v2 parses timestamps and prints ISO 8601
 * (`cli_timestamp_format = iso8601`, its default); v1 prints what came over the wire (its default
 * `none`), which for Secrets Manager's JSON protocol is epoch seconds, a number with a fraction.
 */
function cliTimestamp(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value)) return Math.round(value * 1000);
  if (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  if (Number.isNaN(ms))
    throw new Error(`not a timestamp of AWS CLI v1 (epoch seconds) or v2 (ISO 8601): ${String(value)}`);
  return ms;
}

const awsCli = findAwsCli();
const awsCliVersion = awsCli ? cliVersion(awsCli) : undefined;
const LAMBDA = 'arn:aws:lambda:us-east-1:123456789012:function:cli-rotation';

it('reads timestamps as either CLI prints them (v1: epoch seconds, v2: ISO 8601)', () => {
  expect(cliTimestamp(1_765_054_567.123)).toBe(Date.parse('2025-12-06T20:56:07.123Z'));
  expect(cliTimestamp('2025-12-06T20:56:07.123000+00:00')).toBe(Date.parse('2025-12-06T20:56:07.123Z'));
  expect(() => cliTimestamp(undefined)).toThrow('not a timestamp');
});

if (!awsCli) {
  it('AWS CLI end-to-end: NOT RUN, because no `aws` executable was found (install it: apt-get install -y awscli)', () => {
    process.stderr.write(
      '\n*** test/e2e/aws-cli.spec.ts did NOT run the AWS CLI lifecycle: no `aws` on this machine. ' +
        "Install Debian's CLI with `apt-get install -y awscli` (CI does, in .ci/run). ***\n\n",
    );
    expect(awsCli).toBeUndefined();
  });
} else {
  describe(`AWS CLI ${awsCliVersion} (${awsCli}) against hush-emulator`, () => {
    let emu: EmulatorCli;
    let dir: string;

    interface Result {
      code: number;
      json: Record<string, unknown>;
      stderr: string;
    }

    /** Runs `aws secretsmanager <args>` against the emulator. */
    const aws = (...args: string[]): Promise<Result> =>
      new Promise((resolve) => {
        execFile(
          awsCli,
          ['--endpoint-url', emu.endpoint, '--region', 'us-east-1', '--output', 'json', 'secretsmanager', ...args],
          {
            timeout: 30_000,
            env: {
              PATH: process.env.PATH,
              HOME: dir,
              AWS_ACCESS_KEY_ID: 'test',
              AWS_SECRET_ACCESS_KEY: 'test',
              AWS_PAGER: '',
              AWS_MAX_ATTEMPTS: '1',
              AWS_CONFIG_FILE: join(dir, 'none'),
              AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
            },
          },
          (err, stdout, stderr) => {
            const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
            let json: Record<string, unknown>;
            try {
              json = stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : {};
            } catch {
              json = { raw: stdout };
            }
            resolve({ code, json, stderr });
          },
        );
      });

    /** Expects the CLI to report an AWS error `code` (it exits non-zero and prints "An error occurred (code)"). */
    const fails = async (code: string, ...args: string[]): Promise<string> => {
      const result = await aws(...args);
      expect({ exit: result.code === 0 ? 0 : 'non-zero', stderr: result.stderr }).toMatchObject({
        exit: 'non-zero',
        stderr: expect.stringContaining(`An error occurred (${code})`),
      });
      return result.stderr;
    };
    const ok = async (...args: string[]): Promise<Record<string, unknown>> => {
      const result = await aws(...args);
      if (result.code !== 0) throw new Error(`aws ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
      return result.json;
    };

    beforeAll(async () => {
      process.stderr.write(`\ntest/e2e/aws-cli.spec.ts runs ${awsCli}: ${awsCliVersion}\n`);
      dir = mkdtempSync(join(tmpdir(), 'hush-aws-cli-'));
      emu = await startEmulatorCli([
        '--port',
        '0',
        '--deletion-delay',
        '20s',
        '--rotation-module',
        join(__dirname, 'fixtures/rotation-handler.mjs'),
        '--rotation-arn',
        LAMBDA,
      ]);
    });
    afterAll(async () => {
      expect(await emu?.stop()).toBe(0);
      rmSync(dir, { recursive: true, force: true });
    });

    it('runs a full lifecycle: create, read, put, stages, versions, list, filters, delete, restore', async () => {
      const created = await ok(
        'create-secret',
        '--name',
        'cli/db',
        '--description',
        'Billing Postgres primary',
        '--secret-string',
        '{"username":"app","password":"p1"}',
        '--kms-key-id',
        'alias/app',
        '--add-replica-regions',
        'Region=eu-west-1',
      );
      expect(created.ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:123456789012:secret:cli\/db-[A-Za-z0-9]{6}$/);
      // 10. KmsKeyId and replicas are kept, not dropped.
      expect(created.ReplicationStatus).toEqual([
        { Region: 'eu-west-1', Status: 'InSync', StatusMessage: 'Replication succeeded' },
      ]);
      const described = await ok('describe-secret', '--secret-id', 'cli/db');
      expect(described).toMatchObject({
        KmsKeyId: 'alias/app',
        PrimaryRegion: 'us-east-1',
        Description: 'Billing Postgres primary',
      });

      expect((await ok('get-secret-value', '--secret-id', 'cli/db')).SecretString).toBe(
        '{"username":"app","password":"p1"}',
      );
      expect((await ok('get-secret-value', '--secret-id', String(created.ARN))).Name).toBe('cli/db');

      const v2 = await ok(
        'put-secret-value',
        '--secret-id',
        'cli/db',
        '--secret-string',
        '{"username":"app","password":"p2"}',
      );
      expect(v2.VersionStages).toEqual(['AWSCURRENT']);
      await ok('put-secret-value', '--secret-id', 'cli/db', '--secret-string', '{"username":"app","password":"p3"}');
      const previous = await ok('get-secret-value', '--secret-id', 'cli/db', '--version-stage', 'AWSPREVIOUS');
      expect(previous.VersionId).toBe(v2.VersionId);

      // 7. The deprecated first version has no VersionStages member.
      const versions = (await ok('list-secret-version-ids', '--secret-id', 'cli/db', '--include-deprecated'))
        .Versions as Array<Record<string, unknown>>;
      const first = versions.find((v) => v.VersionId === created.VersionId)!;
      expect(first).toBeDefined();
      expect('VersionStages' in first).toBe(false);

      await ok(
        'update-secret-version-stage',
        '--secret-id',
        'cli/db',
        '--version-stage',
        'AWSCURRENT',
        '--move-to-version-id',
        String(v2.VersionId),
        '--remove-from-version-id',
        String((await ok('get-secret-value', '--secret-id', 'cli/db')).VersionId),
      );
      expect((await ok('get-secret-value', '--secret-id', 'cli/db')).VersionId).toBe(v2.VersionId);

      // 5. description and all filters are case-insensitive, all word by word.
      await ok('create-secret', '--name', 'cli/cache', '--description', 'redis cache', '--secret-string', 'c');
      const names = async (...filters: string[]) =>
        ((await ok('list-secrets', '--filters', ...filters)).SecretList as Array<{ Name: string }>)
          .map((s) => s.Name)
          .sort();
      expect(await names('Key=description,Values=BILLING')).toEqual(['cli/db']);
      expect(await names('Key=all,Values=postgres billing')).toEqual(['cli/db']);
      expect(await names('Key=all,Values=REDIS')).toEqual(['cli/cache']);
      expect(await names('Key=name,Values=CLI/')).toEqual([]);

      await ok('delete-secret', '--secret-id', 'cli/cache', '--recovery-window-in-days', '7');
      await fails('InvalidRequestException', 'get-secret-value', '--secret-id', 'cli/cache');
      await ok('restore-secret', '--secret-id', 'cli/cache');
      expect((await ok('get-secret-value', '--secret-id', 'cli/cache')).SecretString).toBe('c');

      const password = (await ok('get-random-password', '--password-length', '40', '--exclude-punctuation'))
        .RandomPassword as string;
      expect(password).toMatch(/^[A-Za-z0-9]{40}$/);
    }, 300_000);

    it('rotates through the --rotation-module handler: rotate-secret, schedule fields, cancel-rotate-secret', async () => {
      await ok('create-secret', '--name', 'cli/rot', '--secret-string', '{"username":"app","password":"before"}');
      const rotated = await ok(
        'rotate-secret',
        '--secret-id',
        'cli/rot',
        '--rotation-lambda-arn',
        LAMBDA,
        '--rotation-rules',
        'AutomaticallyAfterDays=30',
      );
      let d: Record<string, unknown>;
      const deadline = Date.now() + 20_000;
      do {
        d = await ok('describe-secret', '--secret-id', 'cli/rot');
      } while (d.LastRotatedDate === undefined && Date.now() < deadline);
      expect(d).toMatchObject({
        RotationEnabled: true,
        RotationLambdaARN: LAMBDA,
        RotationRules: { AutomaticallyAfterDays: 30 },
      });
      expect(cliTimestamp(d.NextRotationDate) - cliTimestamp(d.LastRotatedDate)).toBe(30 * 86_400_000);
      expect((d.VersionIdsToStages as Record<string, string[]>)[String(rotated.VersionId)]).toContain('AWSCURRENT');
      const now = JSON.parse(String((await ok('get-secret-value', '--secret-id', 'cli/rot')).SecretString)) as {
        password: string;
      };
      expect(now.password).not.toBe('before');
      expect(now.password).toHaveLength(24);
      const listed = (await ok('list-secrets', '--filters', 'Key=name,Values=cli/rot')).SecretList as Array<
        Record<string, unknown>
      >;
      expect(listed[0]).toMatchObject({ RotationEnabled: true, NextRotationDate: d.NextRotationDate });

      await fails(
        'AccessDeniedException',
        'rotate-secret',
        '--secret-id',
        'cli/rot',
        '--rotation-lambda-arn',
        `${LAMBDA}-x`,
      );
      await ok('cancel-rotate-secret', '--secret-id', 'cli/rot');
      const cancelled = await ok('describe-secret', '--secret-id', 'cli/rot');
      expect(cancelled.RotationEnabled).toBe(false);
      expect(cancelled.NextRotationDate).toBeUndefined();
    }, 300_000);

    it('answers like AWS where the emulator used to be lenient (mismatches 1, 2, 3, 8, 9, 11)', async () => {
      // 1. filter value limits
      const eleven = Array.from({ length: 11 }, (_, i) => `v${i}`).join(',');
      await fails('ValidationException', 'list-secrets', '--filters', `Key=name,Values=${eleven}`);
      const six = Array.from({ length: 6 }, (_, i) => `a${i}`).join(',');
      const five = Array.from({ length: 5 }, (_, i) => `b${i}`).join(',');
      expect(
        await fails(
          'InvalidParameterException',
          'list-secrets',
          '--filters',
          `Key=name,Values=${six}`,
          `Key=description,Values=${five}`,
        ),
      ).toContain('The filter list has too many filters');

      // 2. names
      await fails('ValidationException', 'create-secret', '--name', 'has space', '--secret-string', 'v');
      await fails('ValidationException', 'create-secret', '--name', 'hash#tag', '--secret-string', 'v');
      await fails('ValidationException', 'create-secret', '--name', 'x'.repeat(513), '--secret-string', 'v');
      await fails('ValidationException', 'get-secret-value', '--secret-id', 'has space');

      // 3. partial ARNs of another Region or account
      await ok('create-secret', '--name', 'cli/arn', '--secret-string', 'v');
      expect(
        (await ok('get-secret-value', '--secret-id', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:cli/arn'))
          .Name,
      ).toBe('cli/arn');
      await fails(
        'ResourceNotFoundException',
        'get-secret-value',
        '--secret-id',
        'arn:aws:secretsmanager:eu-west-1:999999999999:secret:cli/arn',
      );

      // 8. deletion happens in the background: the name stays taken for a while
      await ok('delete-secret', '--secret-id', 'cli/arn', '--force-delete-without-recovery');
      await fails('ResourceNotFoundException', 'get-secret-value', '--secret-id', 'cli/arn');
      expect(
        await fails('InvalidRequestException', 'create-secret', '--name', 'cli/arn', '--secret-string', 'v'),
      ).toContain('already scheduled for deletion');

      // 9. force-deleting a missing secret succeeds
      expect(await ok('delete-secret', '--secret-id', 'cli/never', '--force-delete-without-recovery')).toMatchObject({
        Name: 'cli/never',
      });

      // 11. maximum lengths
      const big = join(dir, 'big.txt');
      writeFileSync(big, 'x'.repeat(65_537));
      await fails('ValidationException', 'create-secret', '--name', 'cli/big', '--secret-string', `file://${big}`);
      writeFileSync(big, 'x'.repeat(65_536));
      await ok('create-secret', '--name', 'cli/big', '--secret-string', `file://${big}`);
      await fails('ValidationException', 'create-secret', '--name', 'cli/desc', '--description', 'd'.repeat(2049));
      await fails(
        'ValidationException',
        'put-secret-value',
        '--secret-id',
        'cli/big',
        '--secret-string',
        'v',
        '--client-request-token',
        't'.repeat(65),
      );
    }, 300_000);
  });
}
