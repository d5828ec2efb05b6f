/**
 * `hush-emulator` (packages/emulator/dist/cli.js) as a user runs it: a seed file, an agent port,
 * the real SDK and a plain HTTP agent request against what it prints, SIGTERM to stop.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

const root = join(__dirname, '..', '..');
const cli = join(root, 'packages/emulator/dist/cli.js');

beforeAll(() => {
  if (!existsSync(cli))
    throw new Error('packages/emulator/dist/cli.js is missing: run `npm run build` first (npm test does).');
});

it('serves a seed file over the SDK and the agent API, prints names but no values, and stops on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hush-cli-'));
  const seed = join(dir, 'seed.json');
  writeFileSync(
    seed,
    JSON.stringify({ secrets: { 'cli/db': '{"password":"pw-CANARY-cli"}', 'cli/key': 'key-CANARY-cli' } }),
  );
  const child = spawn(
    process.execPath,
    [cli, '--port', '0', '--seed', seed, '--agent-port', '0', '--agent-token', 'cli-token'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let client: SecretsManagerClient | undefined;
  try {
    const deadline = Date.now() + 15_000;
    while (!output.includes('Control API:') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(output).toContain('Secrets: cli/db, cli/key');
    const endpoint = /endpoint: '([^']+)'/.exec(output)?.[1];
    const agentUrl = /'(http:\/\/[^']+)\/secretsmanager\/get/.exec(output)?.[1];
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(agentUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    client = new SecretsManagerClient({
      region: 'us-east-1',
      endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const got = await client.send(new GetSecretValueCommand({ SecretId: 'cli/key' }));
    expect(got.SecretString).toBe('key-CANARY-cli');

    const denied = await fetch(`${agentUrl}/secretsmanager/get?secretId=cli%2Fdb`);
    expect(denied.status).toBe(403);
    const viaAgent = await fetch(`${agentUrl}/secretsmanager/get?secretId=cli%2Fdb`, {
      headers: { 'X-Aws-Parameters-Secrets-Token': 'cli-token' },
    });
    expect(viaAgent.status).toBe(200);
    expect(JSON.parse(((await viaAgent.json()) as { SecretString: string }).SecretString)).toEqual({
      password: 'pw-CANARY-cli',
    });
  } finally {
    client?.destroy();
    child.kill('SIGTERM');
    const code = await exited;
    rmSync(dir, { recursive: true, force: true });
    expect(code).toBe(0);
  }
  expect(output).toContain('SIGTERM: closing');
  expect(output).not.toContain('CANARY');
}, 30_000);

it.each([
  [['--port', 'abc'], '--port needs a number, got abc.'],
  [['--quotas', 'fast'], '--quotas only accepts "aws"'],
  [['--nope'], 'Unknown option --nope. Run hush-emulator --help.'],
])('rejects %j with exit code 2 and a message that says what is wrong', (args, message) => {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 10_000 });
  expect(result.status).toBe(2);
  expect(result.stderr).toContain(message);
});

it('prints its usage with --help', () => {
  const result = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8', timeout: 10_000 });
  expect(result.status).toBe(0);
  expect(result.stdout).toContain('Usage: hush-emulator [options]');
  expect(result.stdout).toContain('--agent-port');
});
