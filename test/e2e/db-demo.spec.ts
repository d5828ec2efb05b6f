/**
 * `npm start` also starts a real PostgreSQL and the database demo: GET /db queries it through
 * createPgPool while RotateSecret rotates demo/pg (single user, with a window before finishSecret).
 * This runs the launcher as a child process with fast rotations and checks that the failed-queries
 * counter stays 0 through several rotation windows, then that Ctrl-C exits cleanly.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

interface DbStatus {
  user: string;
  queries: number;
  failed: number;
  failures: Record<string, number>;
  pool: { logins: Record<string, number>; refused: number; retired: number };
}

it('serves queries through database password rotations with 0 failures, and exits on SIGINT', async () => {
  for (const built of ['apps/db-demo/dist/index.js', 'packages/database/dist/testing/index.js']) {
    if (!existsSync(join(root, built)))
      throw new Error(`${built} is missing: run \`npm run build\` first (npm test does).`);
  }
  const child = spawn(process.execPath, ['apps/demo.mjs'], {
    cwd: root,
    env: {
      ...process.env,
      NEST_PORT: '0',
      EXPRESS_PORT: '0',
      FASTIFY_PORT: '0',
      VAULT_DEMO_PORT: '0',
      EMULATOR_PORT: '0',
      DB_PORT: '0',
      DB_ROTATE_EVERY_MS: '1500',
      DB_ROTATION_WINDOW_MS: '600',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  // Every wait is bounded and a miss says which phase it was, with the demo's own output (the
  // previous version of this test hung silently in CI until Jest's timeout).
  const stuck = (phase: string) =>
    new Error(`${phase}; demo exit code ${String(exitCode)}; its output ends:\n${output.slice(-4000)}`);
  let status: DbStatus | undefined;
  try {
    const bannerBy = Date.now() + 90_000;
    while (!output.includes('Ctrl-C to stop')) {
      if (exitCode !== undefined || Date.now() > bannerBy) throw stuck('no banner within 90 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(output).toContain('watch -n1 curl -s');
    const url = /(http:\/\/\S+\/db)\b/.exec(output)![1]!;
    // Wait (by condition) until several rotations went through their windows: logins used AWSPENDING
    // after refused ones, and old connections were retired.
    const rotatedBy = Date.now() + 90_000;
    for (;;) {
      status = (await (await fetch(url, { signal: AbortSignal.timeout(10_000) })).json()) as DbStatus;
      if ((status.pool.logins['dbPending'] ?? 0) > 0 && status.pool.retired >= 2 && status.queries > 500) break;
      if (Date.now() > rotatedBy) throw stuck(`rotations not seen within 90 s: ${JSON.stringify(status)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(status.user).toBe('demo_app');
    expect(status.pool.refused).toBeGreaterThan(0);
    expect(status.pool.logins['dbPending']).toBeGreaterThan(0);
    expect(status.failed).toBe(0);
    expect(status.failures).toEqual({});
    expect(JSON.stringify(status)).not.toMatch(/password|demo-[0-9a-f]{32}/i);
  } finally {
    child.kill('SIGINT');
  }
  const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000).unref())]);
  if (code === 'hung') {
    child.kill('SIGKILL');
    throw stuck('still running 30 s after SIGINT');
  }
  expect(code).toBe(0);
  expect(output).toContain('SIGINT: shutting down');
}, 240_000);
