/**
 * The AWS SDK is loaded only by the AWS source: an app reading secrets from memory or mounted files
 * (or the Agent) never loads an `@aws-sdk/*` module. Runs the built packages in a child process and
 * looks at Node's module cache, with a control that the same check sees the SDK once it is used.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');
let dir: string;

beforeAll(() => {
  for (const p of ['core', 'nestjs', 'express'])
    if (!existsSync(join(root, 'packages', p, 'dist', 'index.js')))
      throw new Error(`packages/${p}/dist is missing: run \`npm run build\` first (npm test does).`);
  dir = mkdtempSync(join(tmpdir(), 'hush-lazy-sdk-'));
  writeFileSync(join(dir, 'api-key'), 'key-CANARY-lazy');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const script = `
const sdkModules = () => Object.keys(require.cache).filter((f) => /[\\\\/]@aws-sdk[\\\\/]/.test(f)).length;
const { SecretStore, defineSecrets, memorySource, mountedFiles, awsSecretsManager } = require('@hush/core');
require('@hush/nestjs');
require('@hush/express');
(async () => {
  const secrets = defineSecrets({ apiKey: 'api-key' });
  const files = new SecretStore(secrets, { source: mountedFiles({ dir: process.argv[1], watch: false, pollInterval: false }), refreshInterval: false });
  await files.load();
  const memory = new SecretStore(secrets, { source: memorySource({ 'api-key': 'key-CANARY-memory' }), refreshInterval: false });
  await memory.load();
  const ok = files.get('apiKey') === 'key-CANARY-lazy' && memory.get('apiKey') === 'key-CANARY-memory';
  await files.close();
  await memory.close();
  const before = sdkModules();
  const aws = awsSecretsManager({ region: 'us-east-1' });
  const after = sdkModules();
  await aws.close();
  console.log(JSON.stringify({ ok, before, afterAwsSource: after > 0 }));
})();
`;

it('memorySource and mountedFiles apps never load the AWS SDK; awsSecretsManager() does', () => {
  const out = execFileSync(process.execPath, ['-e', script, dir], { cwd: root, encoding: 'utf8' });
  expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ ok: true, before: 0, afterAwsSource: true });
});
