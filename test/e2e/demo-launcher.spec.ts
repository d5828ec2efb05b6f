/**
 * `npm start` runs apps/demo.mjs on the built packages: one emulator, the Nest and the Express
 * demo. This starts it as a real child process, reads both /whoami endpoints, and checks Ctrl-C
 * (SIGINT) exits cleanly.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

it('starts both demos on one emulator and exits cleanly on SIGINT', async () => {
  for (const built of [
    'apps/nest-demo/dist/index.js',
    'apps/express-demo/dist/main.js',
    'packages/emulator/dist/index.js',
  ]) {
    if (!existsSync(join(root, built)))
      throw new Error(`${built} is missing: run \`npm run build\` first (npm test does).`);
  }
  const child = spawn(process.execPath, ['apps/demo.mjs'], {
    cwd: root,
    env: { ...process.env, NEST_PORT: '0', EXPRESS_PORT: '0', EMULATOR_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 20_000;
    while (!output.includes('Ctrl-C to stop') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(output).toContain('Ctrl-C to stop');
    const urls = [...output.matchAll(/(http:\/\/\S+)\/whoami/g)].map((m) => m[1]!);
    expect(urls).toHaveLength(2);
    const [nest, web] = await Promise.all(
      urls.map(async (u) => (await fetch(`${u}/whoami`)).json() as Promise<Record<string, unknown>>),
    );
    // Both apps read the same secret version from the one emulator.
    expect(nest!['dbVersion']).toEqual(web!['dbVersion']);
    expect(JSON.stringify([nest, web])).not.toMatch(/password/i);
  } finally {
    child.kill('SIGINT');
  }
  expect(await exited).toBe(0);
  expect(output).toContain('SIGINT: shutting down');
}, 40_000);
