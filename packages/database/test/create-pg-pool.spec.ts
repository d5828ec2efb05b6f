import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import pino from 'pino';
import { SecretsConfigError } from '@hush/core';
import { DatabaseCredentialsError, DatabaseLoginError } from '@hush/database';
import { createPgPool, type HushPgPool } from '@hush/database/pg';
import { startPostgres } from '@hush/database/testing';
import { SECRET_ID, fixture, ident, literal, rotate, until, type Fixture } from './support';

// Every value carries CANARY, so the run-wide leak scan also fails if one reaches any output.
const HOSTILE = [
  `it's "CANARY" \\ back\\slash \\' \\"`,
  'pässwörd-ü-日本語-ß-CANARY',
  `CANARY${'x'.repeat(1000)}`,
  `;DROP ROLE postgres;--CANARY`,
];

describe('createPgPool', () => {
  let fx: Fixture;
  const pools: HushPgPool[] = [];
  // An idle connection killed by the server is reported on the pool: an app listens for it.
  const track = (p: HushPgPool) => (pools.push(p), p.on('error', () => {}), p);

  beforeAll(async () => {
    fx = await fixture();
  });
  afterEach(async () => {
    await Promise.allSettled(pools.splice(0).map((p) => p.end()));
  });
  afterAll(() => fx?.stop());

  it('logs in with the secret (user, password, host, port, dbname) and reads it at every new connection', async () => {
    await fx.user('reader', 'pw-reader-1');
    const store = fx.store();
    await store.load();
    const pool = track(createPgPool(store, 'db', { max: 2 }));
    const first = await pool.query<{ u: string; d: string }>('SELECT current_user AS u, current_database() AS d');
    expect(first.rows[0]).toEqual({ u: 'reader', d: 'reader' });
    // A new version (a different user): existing idle connections keep theirs until released; new ones use it.
    await fx.user('reader2', 'pw-reader-2');
    await store.refresh('db');
    const c1 = await pool.connect();
    const c2 = await pool.connect();
    const users = new Set([
      (await c1.query('SELECT current_user AS u')).rows[0].u,
      (await c2.query('SELECT current_user AS u')).rows[0].u,
    ]);
    expect(users.has('reader2')).toBe(true);
    c1.release();
    c2.release();
    expect(pool.credentialStats().retired).toBeGreaterThanOrEqual(1);
    expect((await pool.query('SELECT current_user AS u')).rows[0].u).toBe('reader2');
  });

  it('on a refused login (28P01) forces one refresh and retries with the new version', async () => {
    await fx.user('lagging', 'pw-old');
    const store = fx.store();
    await store.load();
    const before = store.handle('db').version;
    // The password changes in the database and in Secrets Manager, but this store has not refreshed.
    await fx.pg.query(`ALTER ROLE lagging PASSWORD 'pw-new'`);
    fx.emu.putSecret(SECRET_ID, JSON.stringify({ ...JSON.parse(JSON.stringify(store.get('db'))), password: 'pw-new' }));
    const pool = track(createPgPool(store, 'db'));
    const results = await Promise.all(Array.from({ length: 8 }, () => pool.query('SELECT 1 AS one')));
    expect(results.every((r) => r.rows[0].one === 1)).toBe(true);
    expect(store.handle('db').version).not.toBe(before);
    const stats = pool.credentialStats();
    expect(stats.refused).toBeGreaterThanOrEqual(1);
    // Eight concurrent refusals share one forced refresh.
    expect(stats.refreshes).toBe(1);
    expect(fx.emu.calls().GetSecretValue ?? 0).toBeGreaterThan(0);
  });

  it('tries AWSPENDING inside a single-user rotation window, then converges on the new AWSCURRENT', async () => {
    await fx.user('single', 'pw-single-1');
    const store = fx.store();
    await store.load();
    // maxUses 1: every query is a new login, so logins happen inside the window.
    const pool = track(createPgPool(store, 'db', { pending: 'dbPending', maxUses: 1 }));
    await pool.query('SELECT 1');
    let inWindow = 0;
    await rotate(fx, 'single', {
      onWindow: async () => {
        // The database wants the pending password; AWSCURRENT still returns the old one.
        for (let i = 0; i < 5; i++) inWindow += (await pool.query('SELECT 1 AS one')).rows[0].one;
      },
    });
    expect(inWindow).toBe(5);
    expect(pool.credentialStats().logins['dbPending']).toBeGreaterThanOrEqual(5);
    await store.refresh('db');
    await pool.query('SELECT 1');
    expect(pool.credentialStats().logins['db']).toBeGreaterThanOrEqual(2);
  });

  it('retires a connection opened with an older version when it is released, never mid-query', async () => {
    await fx.user('busy', 'pw-busy-1');
    const store = fx.store();
    await store.load();
    const pool = track(createPgPool(store, 'db', { pending: 'dbPending', max: 4 }));
    const client = await pool.connect();
    const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const slow = client.query('SELECT pg_sleep(0.4), 42 AS answer');
    await rotate(fx, 'alternating');
    await store.refresh('db');
    expect((await slow).rows[0].answer).toBe(42);
    expect(pool.totalCount).toBe(1);
    // The new version has not logged in yet: the working connection goes back to the pool while one
    // probe login tries the new version; the next checkout waits for that probe, then retires it.
    expect(pool.credentialHealth()).toMatchObject({ status: 'ok', proven: false });
    client.release();
    expect(pool.credentialStats().retired).toBe(0);
    expect((await pool.query('SELECT current_user AS u')).rows[0].u).toBe('busy_clone');
    expect(pool.credentialHealth()).toMatchObject({ status: 'ok', proven: true });
    expect(pool.credentialStats().retired).toBe(1);
    await until(async () => (await fx.pg.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 0);
  });

  it('applies a host/port/dbname change (failover) to new connections', async () => {
    const other = await startPostgres();
    try {
      await fx.user('mover', 'pw-mover');
      await other.query(`CREATE ROLE mover LOGIN PASSWORD 'pw-mover'`);
      await other.query(`CREATE DATABASE moved OWNER mover`);
      const store = fx.store();
      await store.load();
      const pool = track(createPgPool(store, 'db', { max: 1 }));
      expect((await pool.query('SELECT inet_server_port() AS p')).rows[0].p).toBe(fx.pg.port);
      fx.emu.putSecret(
        SECRET_ID,
        JSON.stringify({ ...(store.get('db') as object), port: String(other.port), dbname: 'moved' }),
      );
      await store.refresh('db');
      const moved = await pool.query('SELECT inet_server_port() AS p, current_database() AS d');
      expect(moved.rows[0]).toEqual({ p: other.port, d: 'moved' });
    } finally {
      await other.stop();
    }
  });

  it.each(HOSTILE.map((p, i) => [i, p]))(
    'fails with a typed error naming the secret, never the password (hostile password #%s)',
    async (_i, password) => {
      const name = `hostile${_i}`;
      await fx.pg.query(`CREATE ROLE ${ident(name)} LOGIN PASSWORD ${literal(password as string)}`);
      fx.emu.putSecret(
        SECRET_ID,
        JSON.stringify({ host: fx.pg.host, port: fx.pg.port, username: name, password, dbname: 'postgres' }),
      );
      const store = fx.store();
      await store.load();
      const pool = track(createPgPool(store, 'db', { pending: 'dbPending', retryBudget: 300, max: 1 }));
      // The real password works...
      expect((await pool.query('SELECT current_user AS u')).rows[0].u).toBe(name);
      // ...then the database stops accepting it and no new version arrives.
      await fx.pg.query(`ALTER ROLE ${ident(name)} PASSWORD 'something-else'`);
      await fx.pg.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [name]);
      await until(() => pool.totalCount === 0);
      const error = await pool.query('SELECT 1').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(DatabaseLoginError);
      const e = error as DatabaseLoginError;
      expect(e.code).toBe('DATABASE_LOGIN_FAILED');
      expect(e.secretName).toBe('db');
      expect(e.sqlState).toBe('28P01');
      expect(e.message).toContain('"db"');
      for (const text of [
        e.message,
        JSON.stringify(e),
        inspect(e, { depth: 5 }),
        String(e.stack),
        inspect(pool, { depth: 3 }),
      ]) {
        expect(text).not.toContain(password);
        expect(text).not.toContain((password as string).slice(0, 12));
        expect(text).not.toContain(encodeURIComponent(password as string));
        expect(text).not.toContain(JSON.stringify(password).slice(1, -1));
      }
      // The budget bounds it, and a second caller fails fast (circuit breaker).
      const t0 = performance.now();
      await expect(pool.query('SELECT 1')).rejects.toBeInstanceOf(DatabaseLoginError);
      expect(performance.now() - t0).toBeLessThan(2_000);
    },
  );

  // Usernames a DBA could create: quotes, backslashes, unicode, a near-limit length.
  const USERS = [`o'brien "x" \\ y`, 'ünï_çødé_日本', `u${'x'.repeat(55)}`];
  it.each(USERS.map((u, i) => [i, u]))(
    'DatabaseLoginError never prints the username (hostile username #%s) through inspect, console.error, pino',
    async (_i, user) => {
      const username = user as string;
      await fx.pg.query(`CREATE ROLE ${ident(username)} LOGIN PASSWORD 'pw-user-CANARY-1'`);
      fx.emu.putSecret(
        SECRET_ID,
        JSON.stringify({
          host: fx.pg.host,
          port: fx.pg.port,
          username,
          password: 'pw-wrong-CANARY',
          dbname: 'postgres',
        }),
      );
      const store = fx.store();
      await store.load();
      const pool = track(createPgPool(store, 'db', { retryBudget: 200, max: 1 }));
      const error = (await pool.query('SELECT 1').catch((e: unknown) => e)) as DatabaseLoginError;
      expect(error).toBeInstanceOf(DatabaseLoginError);
      expect(error.sqlState).toBe('28P01');
      // The cause keeps pg's SQLSTATE, not its message.
      expect(error.cause).toMatchObject({ code: '28P01' });
      const printed: string[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          printed.push(chunk.toString());
          done();
        },
      });
      new Console({ stdout: sink, stderr: sink }).error(error);
      new Console({ stdout: sink, stderr: sink }).error('query failed:', error);
      pino({}, sink).error({ err: error }, 'query failed');
      pino({}, sink).error(error);
      printed.push(inspect(error, { depth: 10 }), inspect({ error }, { depth: 10, showHidden: true }));
      printed.push(JSON.stringify(error), String(error), String(error.stack));
      const text = printed.join('\n');
      expect(text).toContain('28P01');
      for (const fragment of [
        username,
        username.slice(0, 8),
        username.slice(-8),
        JSON.stringify(username).slice(1, -1),
        encodeURIComponent(username),
        Buffer.from(username).toString('base64').slice(0, 12),
      ]) {
        expect(text).not.toContain(fragment);
      }
      expect(text).not.toMatch(/for user/);
    },
  );

  it('rejects a connectionString or explicit credentials (pg would drop the password function)', async () => {
    const store = fx.store();
    expect(() => createPgPool(store, 'db', { connectionString: 'postgres://x@y/z' } as never)).toThrow(
      SecretsConfigError,
    );
    expect(() => createPgPool(store, 'db', { password: 'x' } as never)).toThrow(/sets `password` itself/);
    expect(() => createPgPool(store, 'nope')).toThrow(/not declared/);
    expect(() => createPgPool(store, 'db', { pending: 'missing' })).toThrow(/AWSPENDING/);
  });

  it('fails at creation when the secret does not hold credentials', async () => {
    fx.emu.putSecret(SECRET_ID, JSON.stringify({ username: 'u', host: 'h' }));
    const store = fx.store();
    await store.load();
    expect(() => createPgPool(store, 'db')).toThrow(DatabaseCredentialsError);
    expect(() => createPgPool(store, 'db')).toThrow(/`password` is missing/);
  });
});
