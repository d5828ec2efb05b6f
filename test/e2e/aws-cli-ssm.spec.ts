/**
 * The AWS CLI's `aws ssm …` against the `hush-emulator` process, seeded from a seed file with
 * `parameters` and `secrets`: reads, writes, versions, labels, paths, Secrets Manager references
 * and the errors the CLI shows. Either CLI major version works (see aws-cli.spec.ts); without a CLI
 * this file runs one test that says so.
 *
 * Values avoid a leading `http://`: CLI v1 fetches such parameter values as URLs.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliVersion, findAwsCli } from './aws-cli-support';
import { startEmulatorCli, type EmulatorCli } from './helpers';

const awsCli = findAwsCli();
/** Each CLI call is a Python start: seconds each on a loaded machine. */
const TIMEOUT = 180_000;
const HOSTILE = `it's "quoted" \\ back\\slash\nnew line żółć 🔑 ${'~'.repeat(300)}`;

if (!awsCli) {
  it('AWS CLI ssm end-to-end: NOT RUN, because no `aws` executable was found (apt-get install -y awscli)', () => {
    process.stderr.write(
      '\n*** test/e2e/aws-cli-ssm.spec.ts did NOT run the AWS CLI: no `aws` on this machine. ***\n\n',
    );
    expect(awsCli).toBeUndefined();
  });
} else {
  describe(`AWS CLI ${cliVersion(awsCli)}: aws ssm against hush-emulator`, () => {
    let emu: EmulatorCli;
    let dir: string;

    const aws = (...args: string[]): Promise<{ code: number; json: Record<string, unknown>; stderr: string }> =>
      new Promise((resolve) => {
        execFile(
          awsCli,
          ['--endpoint-url', emu.endpoint, '--region', 'us-east-1', '--output', 'json', 'ssm', ...args],
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
              PYTHONIOENCODING: 'utf-8',
            },
          },
          (err, stdout, stderr) => {
            const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
            let json: Record<string, unknown> = {};
            try {
              if (stdout.trim()) json = JSON.parse(stdout) as Record<string, unknown>;
            } catch {
              json = { raw: stdout };
            }
            resolve({ code, json, stderr });
          },
        );
      });
    const ok = async (...args: string[]): Promise<Record<string, unknown>> => {
      const r = await aws(...args);
      if (r.code !== 0) throw new Error(`aws ssm ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
      return r.json;
    };
    const fails = async (...args: string[]): Promise<string> => {
      const r = await aws(...args);
      expect(r.code).not.toBe(0);
      return r.stderr;
    };

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'hush-aws-cli-ssm-'));
      const seed = join(dir, 'seed.json');
      writeFileSync(
        seed,
        JSON.stringify({
          secrets: { 'prod/db': '{"password":"cli-secret"}' },
          parameters: {
            '/app/name': 'billing',
            '/app/hosts': { value: 'a.internal,b.internal', type: 'StringList' },
            ...Object.fromEntries(
              Array.from({ length: 12 }, (_, i) => [`/cli/paged/p${String(i).padStart(2, '0')}`, `v${i}`]),
            ),
            '/app/token': {
              value: 'v2-token',
              type: 'SecureString',
              versions: [{ value: 'v1-token', labels: ['old'] }],
            },
          },
        }),
      );
      emu = await startEmulatorCli(['--port', '0', '--seed', seed]);
    });
    afterAll(async () => {
      expect(await emu?.stop()).toBe(0);
      rmSync(dir, { recursive: true, force: true });
    }, TIMEOUT);

    it(
      'lists the seeded parameters at start-up, never their values',
      () => {
        expect(emu.output()).toContain('Parameters: /app/hosts, /app/name, /app/token, /cli/paged/p00');
        expect(emu.output()).not.toContain('v2-token');
        expect(emu.output()).not.toContain('cli-secret');
      },
      TIMEOUT,
    );

    it(
      'get-parameters: seeded values, selectors, InvalidParameters and a Secrets Manager reference',
      async () => {
        const out = await ok(
          'get-parameters',
          '--with-decryption',
          '--names',
          '/app/name',
          '/app/hosts',
          '/app/token',
          '/app/token:1',
          '/app/token:old',
          '/missing',
          '/aws/reference/secretsmanager/prod/db',
        );
        const params = out.Parameters as Array<Record<string, unknown>>;
        expect(params.map((p) => [p.Name, p.Type, p.Value, p.Version])).toEqual([
          ['/app/name', 'String', 'billing', 1],
          ['/app/hosts', 'StringList', 'a.internal,b.internal', 1],
          ['/app/token', 'SecureString', 'v2-token', 2],
          ['/app/token', 'SecureString', 'v1-token', 1],
          ['/app/token', 'SecureString', 'v1-token', 1],
          ['/aws/reference/secretsmanager/prod/db', 'SecureString', '{"password":"cli-secret"}', 0],
        ]);
        expect(params.map((p) => p.Selector)).toEqual([undefined, undefined, undefined, ':1', ':old', undefined]);
        expect(out.InvalidParameters).toEqual(['/missing']);
      },
      TIMEOUT,
    );

    it(
      'put-parameter: a hostile SecureString round-trips; versions count up; overwrite is required',
      async () => {
        expect(
          await ok('put-parameter', '--name', '/cli/hostile', '--type', 'SecureString', '--value', HOSTILE),
        ).toMatchObject({ Version: 1, Tier: 'Standard' });
        const got = await ok('get-parameter', '--name', '/cli/hostile', '--with-decryption');
        expect((got.Parameter as Record<string, unknown>).Value).toBe(HOSTILE);
        const encrypted = await ok('get-parameter', '--name', '/cli/hostile');
        expect((encrypted.Parameter as Record<string, unknown>).Value).not.toContain('quoted');
        expect(
          await fails('put-parameter', '--name', '/cli/hostile', '--type', 'SecureString', '--value', 'x'),
        ).toContain('An error occurred (ParameterAlreadyExists) when calling the PutParameter operation');
        expect(await ok('put-parameter', '--name', '/cli/hostile', '--value', 'x', '--overwrite')).toMatchObject({
          Version: 2,
        });
      },
      TIMEOUT,
    );

    it(
      'get-parameters-by-path pages through every parameter (the CLI follows NextToken)',
      async () => {
        const out = await ok('get-parameters-by-path', '--path', '/cli/paged', '--page-size', '5');
        expect((out.Parameters as Array<Record<string, unknown>>).map((p) => p.Value)).toEqual(
          Array.from({ length: 12 }, (_, i) => `v${i}`),
        );
      },
      TIMEOUT,
    );

    it(
      'label-parameter-version, delete-parameter and the errors AWS prints',
      async () => {
        const labelled = await ok(
          'label-parameter-version',
          '--name',
          '/app/token',
          '--labels',
          'old',
          '--parameter-version',
          '2',
        );
        expect(labelled).toMatchObject({ InvalidLabels: [], ParameterVersion: 2 });
        const old = await ok('get-parameter', '--name', '/app/token:old', '--with-decryption');
        expect((old.Parameter as Record<string, unknown>).Value).toBe('v2-token');
        await ok('delete-parameter', '--name', '/app/name');
        expect(await fails('get-parameter', '--name', '/app/name')).toContain(
          'An error occurred (ParameterNotFound) when calling the GetParameter operation',
        );
        expect(await fails('get-parameter', '--name', '/aws/reference/secretsmanager/prod/db')).toContain(
          'WithDecryption flag must be True for retrieving a Secret Manager secret.',
        );
        const names = Array.from({ length: 11 }, (_, i) => `/n${i}`);
        expect(await fails('get-parameters', '--names', ...names)).toContain(
          `Value '[${names.join(', ')}]' at 'names' failed to satisfy constraint: Member must have length less than or equal to 10`,
        );
      },
      TIMEOUT,
    );
  });
}
