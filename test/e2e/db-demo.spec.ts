/**
 * `npm start` also starts a real PostgreSQL and the database demo: GET /db queries it through
 * createPgPool while RotateSecret rotates demo/pg (single user, with a window before finishSecret).
 * This runs the launcher as a child process with fast rotations and checks that the failed-queries
 * counter stays 0 through several rotation windows, then that Ctrl-C exits cleanly.
 */
import { startDemo } from './demo-process';

interface DbStatus {
  user: string;
  queries: number;
  failed: number;
  failures: Record<string, number>;
  pool: { logins: Record<string, number>; refused: number; retired: number };
}

it('serves queries through database password rotations with 0 failures, and exits on SIGINT', async () => {
  const demo = startDemo(
    'apps/demo.mjs',
    {
      NEST_PORT: '0',
      EXPRESS_PORT: '0',
      FASTIFY_PORT: '0',
      VAULT_DEMO_PORT: '0',
      EMULATOR_PORT: '0',
      DB_PORT: '0',
      DB_ROTATE_EVERY_MS: '1500',
      DB_ROTATION_WINDOW_MS: '600',
    },
    ['apps/db-demo/dist/index.js', 'packages/database/dist/testing/index.js'],
  );
  const { stuck } = demo;
  let status: DbStatus | undefined;
  try {
    const output = await demo.banner(90_000);
    expect(output).toContain('watch -n1 curl -s');
    const url = /(http:\/\/\S+\/db)\b/.exec(output)![1]!;
    // Wait (by condition) until several rotations went through their windows: logins used AWSPENDING
    // after refused ones, and old connections were retired.
    const rotatedBy = Date.now() + 90_000;
    for (;;) {
      // Each poll is bounded, and one that times out (a loaded machine) is polled again until the deadline.
      const polled = await fetch(url, { signal: AbortSignal.timeout(10_000) })
        .then(async (r) => (await r.json()) as DbStatus)
        .catch(() => undefined);
      if (polled) status = polled;
      if (status && (status.pool.logins['dbPending'] ?? 0) > 0 && status.pool.retired >= 2 && status.queries > 500)
        break;
      if (Date.now() > rotatedBy) throw stuck(`rotations not seen within 90 s: ${JSON.stringify(status)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    if (!status) throw stuck('no answer from /db');
    expect(status.user).toBe('demo_app');
    expect(status.pool.refused).toBeGreaterThan(0);
    expect(status.pool.logins['dbPending']).toBeGreaterThan(0);
    expect(status.failed).toBe(0);
    expect(status.failures).toEqual({});
    expect(JSON.stringify(status)).not.toMatch(/password|demo-[0-9a-f]{32}/i);
  } finally {
    demo.child.kill('SIGINT');
  }
  expect(await demo.stop('SIGINT', 30_000)).toBe(0);
  expect(demo.output()).toContain('SIGINT: shutting down');
}, 240_000);
