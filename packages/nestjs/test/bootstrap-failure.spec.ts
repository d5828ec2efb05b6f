/**
 * What the README FAQ says about a failed bootstrap, checked on a real NestFactory.create() app in a
 * child process: by default Nest logs the SecretsLoadError and exits with code 1 (process.exit(1),
 * not process.abort(): no core dump, no SIGABRT); with abortOnError: false the promise rejects.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');
const fixture = join(__dirname, 'fixtures', 'boot-failure.cjs');

function run(mode: string): Promise<{ code: number | null; signal: string | null; output: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [fixture, mode], { cwd: root, timeout: 20_000 }, (_e, stdout, stderr) =>
      resolve({ code: child.exitCode, signal: child.signalCode, output: stdout + stderr }),
    );
  });
}

beforeAll(() => {
  if (!existsSync(join(root, 'packages/nestjs/dist/index.js')))
    throw new Error('packages/nestjs/dist is missing: run `npm run build` first (npm test does).');
});

it('default abortOnError: Nest logs the SecretsLoadError and exits with code 1 (no abort signal)', async () => {
  const { code, signal, output } = await run('abort');
  expect({ code, signal }).toEqual({ code: 1, signal: null });
  expect(output).toContain('SecretsLoadError');
  expect(output).not.toContain('created');
  expect(output).not.toContain('rejected');
});

it('abortOnError: false: NestFactory.create() rejects with the SecretsLoadError', async () => {
  const { code, signal, output } = await run('no-abort');
  expect({ code, signal }).toEqual({ code: 3, signal: null });
  expect(output).toContain('rejected: SecretsLoadError');
});
