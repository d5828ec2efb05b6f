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
  let status: DbStatus | undefined;
  try {
    const deadline = Date.now() + 45_000;
    while (!output.includes('Ctrl-C to stop') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(output).toContain('watch -n1 curl -s');
    const url = /(http:\/\/\S+\/db)\b/.exec(output)![1]!;
    // Wait (by condition) until several rotations went through their windows: logins used AWSPENDING
    // after refused ones, and old connections were retired.
    while (Date.now() < deadline) {
      status = (await (await fetch(url)).json()) as DbStatus;
      if ((status.pool.logins['dbPending'] ?? 0) > 0 && status.pool.retired >= 2 && status.queries > 500) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(status!.user).toBe('demo_app');
    expect(status!.pool.refused).toBeGreaterThan(0);
    expect(status!.pool.logins['dbPending']).toBeGreaterThan(0);
    expect(status!.failed).toBe(0);
    expect(status!.failures).toEqual({});
    expect(JSON.stringify(status)).not.toMatch(/password|demo-[0-9a-f]{32}/i);
  } finally {
    child.kill('SIGINT');
  }
  expect(await exited).toBe(0);
  expect(output).toContain('SIGINT: shutting down');
}, 60_000);
