import pg from 'pg';
import { createPgPool } from '@hush/database/pg';
import { fixture, rotate, until, type Fixture, type Strategy } from './support';

const WORKERS = 8;
const ROTATIONS = 3;

/** 8 workers issuing queries back to back until `stop()`; counts successes and failures by SQLSTATE. */
function load(pool: pg.Pool) {
  const counts = { ok: 0, failed: 0, codes: {} as Record<string, number> };
  let running = true;
  const workers = Array.from({ length: WORKERS }, async () => {
    while (running) {
      try {
        await pool.query('SELECT 1');
        counts.ok++;
      } catch (error) {
        counts.failed++;
        const code = String((error as { code?: string }).code);
        counts.codes[code] = (counts.codes[code] ?? 0) + 1;
      }
    }
  });
  return {
    counts,
    async stop() {
      running = false;
      await Promise.all(workers);
      return counts;
    },
  };
}

describe('rotation under load (real PostgreSQL, short-lived connections)', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await fixture();
  });
  afterAll(() => fx?.stop());

  const strategies: [string, Strategy][] = [
    ['single user', 'single'],
    ['alternating users', 'alternating'],
  ];

  it.each(strategies)('%s: createPgPool serves every query through 3 rotations', async (label, strategy) => {
    const user = `load_${label.split(' ')[0]}`;
    await fx.user(user, 'pw-load-1');
    const store = fx.store({ refreshInterval: 250, refreshJitter: 0 });
    await store.load();
    // maxUses 2: connections are short-lived, so new logins happen inside every rotation window.
    const pool = createPgPool(store, 'db', { pending: 'dbPending', max: WORKERS, maxUses: 2 });
    pool.on('error', () => {});
    const driver = load(pool);
    const okInWindows: number[] = [];
    let counts: Awaited<ReturnType<typeof driver.stop>>;
    try {
      for (let i = 0; i < ROTATIONS; i++) {
        await rotate(fx, strategy, { onWindow: () => void okInWindows.push(driver.counts.ok) });
      }
      await store.refresh('db');
      const before = driver.counts.ok;
      await until(() => driver.counts.ok >= before + 50);
    } finally {
      counts = await driver.stop();
    }
    const stats = pool.credentialStats();
    const current = await pool.query<{ u: string }>('SELECT current_user AS u');
    await pool.end();

    expect(counts.failed).toBe(0);
    expect(counts.codes).toEqual({});
    expect(counts.ok).toBeGreaterThan(200);
    // Queries kept flowing inside the windows, and the pool converged on the final credentials.
    expect(okInWindows.every((n) => n > 0)).toBe(true);
    expect(current.rows[0]!.u).toBe((store.get('db') as { username: string }).username);
    expect(stats.logins['db']).toBeGreaterThan(ROTATIONS);
    if (label === 'single user') {
      expect(stats.refused).toBeGreaterThan(0);
      expect(stats.logins['dbPending']).toBeGreaterThan(0);
    }
  });

  it('control: a plain pg.Pool with the boot-time password fails new logins after a single-user rotation', async () => {
    const { value } = await fx.user('load_plain', 'pw-plain-1');
    const pool = new pg.Pool({
      host: value.host,
      port: value.port,
      user: value.username,
      password: value.password,
      database: value.dbname,
      max: WORKERS,
      maxUses: 2,
    });
    pool.on('error', () => {});
    const driver = load(pool);
    await rotate(fx, 'single').finally(() => driver.stop());
    const counts = driver.counts;
    await pool.end();
    expect(counts.failed).toBeGreaterThan(0);
    expect(counts.codes['28P01']).toBe(counts.failed);
  });
});
