/**
 * `hush-emulator` option handling (node:util parseArgs): --version, missing values, environment
 * variables, a taken port, and --rotation-module loading a Lambda-style handler that rotates a
 * secret through the SDK from its environment — each as a separate process.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { startEmulatorCli, until } from './helpers';

const root = join(__dirname, '..', '..');
const cli = join(root, 'packages/emulator/dist/cli.js');
const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 10_000, env: { ...process.env, ...env } });

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'hush-cli-opts-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('--version prints the package version', () => {
  const result = run(['--version']);
  const { version } = JSON.parse(readFileSync(join(root, 'packages/emulator/package.json'), 'utf8')) as {
    version: string;
  };
  expect(result.status).toBe(0);
  expect(result.stdout.trim()).toBe(version);
});

it.each([
  [['--port'], '--port needs a value.'],
  [['--seed', '--verbose'], '--seed needs a value.'],
  [['stray'], "Unexpected argument 'stray'"],
  [['--rotation-window', 'soon'], '--rotation-window must be a duration'],
  [['--time-scale', '0'], '--time-scale must be greater than 0.'],
])('usage error %j: exit code 2 and one line saying what is wrong', (args, message) => {
  const result = run(args);
  expect(result.status).toBe(2);
  expect(result.stderr).toContain(message);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
});

it('reads HUSH_EMULATOR_* variables, and a flag wins over its variable', async () => {
  const seed = join(dir, 'env-seed.json');
  writeFileSync(seed, JSON.stringify({ 'env/key': 'from-env-seed' }));
  expect(run([], { HUSH_EMULATOR_PORT: 'abc' }).stderr).toContain(
    '--port needs a number, got abc (from HUSH_EMULATOR_PORT).',
  );
  const emu = await startEmulatorCli(['--region', 'eu-west-1'], {
    ...process.env,
    HUSH_EMULATOR_PORT: '0',
    HUSH_EMULATOR_SEED: seed,
    HUSH_EMULATOR_REGION: 'ap-south-1',
  });
  const client = new SecretsManagerClient({
    region: 'eu-west-1',
    endpoint: emu.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  try {
    const got = await client.send(new GetSecretValueCommand({ SecretId: 'env/key' }));
    expect(got.SecretString).toBe('from-env-seed');
    expect(got.ARN).toMatch(/^arn:aws:secretsmanager:eu-west-1:/);
  } finally {
    client.destroy();
    expect(await emu.stop()).toBe(0);
  }
});

it('a taken port is a one-line error with exit code 1, not a stack trace', async () => {
  const first = await startEmulatorCli(['--port', '0']);
  try {
    const port = new URL(first.endpoint).port;
    const second = run(['--port', port]);
    expect(second.status).toBe(1);
    expect(second.stderr.trim()).toBe(
      `hush-emulator: port ${port} on 127.0.0.1 is taken (LocalStack uses 4566 too). Use --port <n> or HUSH_EMULATOR_PORT.`,
    );
  } finally {
    expect(await first.stop()).toBe(0);
  }
});

it('--rotation-module runs a Lambda-style handler that talks back through an SDK client built from its environment', async () => {
  const seed = join(dir, 'rot-seed.json');
  writeFileSync(seed, JSON.stringify({ 'rot/db': '{"username":"app","password":"pw-CANARY-before"}' }));
  const arn = 'arn:aws:lambda:us-east-1:123456789012:function:cli-rotation';
  const emu = await startEmulatorCli([
    '--port',
    '0',
    '--seed',
    seed,
    '--rotation-module',
    join(__dirname, 'fixtures/rotation-handler.mjs'),
    '--rotation-arn',
    arn,
  ]);
  const client = new SecretsManagerClient({
    region: 'us-east-1',
    endpoint: emu.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  try {
    expect(emu.output()).toContain(`Rotation functions: ${arn}`);
    const { VersionId } = await client.send(new RotateSecretCommand({ SecretId: 'rot/db', RotationLambdaARN: arn }));
    const described = await until(
      () => client.send(new DescribeSecretCommand({ SecretId: 'rot/db' })),
      // LastRotatedDate is set once finishSecret has returned, a moment after AWSCURRENT moved.
      (d) => d.VersionIdsToStages?.[VersionId!]?.includes('AWSCURRENT') === true && d.LastRotatedDate !== undefined,
      10_000,
    );
    expect(described.LastRotatedDate).toBeInstanceOf(Date);
    const now = JSON.parse((await client.send(new GetSecretValueCommand({ SecretId: 'rot/db' }))).SecretString!) as {
      password: string;
    };
    expect(now.password).toHaveLength(24);
    for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
      expect(emu.output()).toContain(`rotation-handler: ${step} ${VersionId}`);
    }
    expect(emu.output().indexOf('createSecret')).toBeLessThan(emu.output().indexOf('finishSecret'));
  } finally {
    client.destroy();
    expect(await emu.stop()).toBe(0);
  }
  expect(emu.output()).not.toContain('CANARY');
}, 30_000);
