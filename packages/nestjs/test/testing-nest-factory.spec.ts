/**
 * rotateSecret() on an app made by NestFactory.create(): that app is a proxy running every method in
 * Nest's exception zone, so a failed `app.get()` probe logs a stack trace and, with the default
 * abortOnError, exits the process with code 1. Runs the built package in a child process, as an app would.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');
const fixture = join(__dirname, 'fixtures', 'rotate-app.cjs');

function run(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [fixture, ...args], { cwd: root, timeout: 20_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

beforeAll(() => {
  if (!existsSync(join(root, 'packages/nestjs/dist/testing.js')))
    throw new Error('packages/nestjs/dist is missing: run `npm run build` first (npm test does).');
});

describe.each([
  ['forRoot', 'abort'],
  ['forRoot', 'no-abort'],
  ['forTesting', 'abort'],
])('rotateSecret on NestFactory.create() with SecretsModule.%s (%s)', (kind, abort) => {
  it('rotates, rejects an unknown name with a typed error, exits 0 and logs no stack trace', async () => {
    const { code, stdout, stderr } = await run(kind, abort);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const result = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(result).toEqual({ rotated: true, version: 'string', unknown: 'SecretNotFoundError' });
    expect(stdout).not.toMatch(/UnknownElementException|ExceptionHandler|\n\s+at /);
  });
});
