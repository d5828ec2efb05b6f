/**
 * Recipes from the README, each against the real database through a real rotation:
 * Knex (connection function), postgres.js (password function), TypeORM (password function),
 * Drizzle (on createPgPool). Prisma 7 (on createPgPool) is in recipe-prisma.spec.ts: it generates its client first.
 */
import 'reflect-metadata';
import { drizzle } from 'drizzle-orm/node-postgres';
import { sql as dsql } from 'drizzle-orm';
import knex from 'knex';
import postgres from 'postgres';
import { DataSource } from 'typeorm';
import { createPgPool, pgConnectionConfig } from '@hush/database/pg';
import { fixture, phased, rotate, until, type Fixture } from './support';

type Db = { username: string; password: string; host: string; port: number; dbname: string };

describe('recipes', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await fixture();
  });
  afterAll(() => fx?.stop());

  /** Ends every session of `user`, so the next query needs a new login. */
  const kick = (user: string) =>
    fx.pg.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [user]);

  it('Knex: `connection` as a function with expirationChecker reads the current login for every new connection (username too)', async () => {
    await fx.user('knex_app', 'pw-knex-1');
    const store = fx.store();
    await store.load();
    const db = knex({
      client: 'pg',
      // Knex caches the result until expirationChecker says it expired, and then also validates
      // pooled connections against it: expire when the secret's version changes.
      connection: () => {
        const version = store.handle('db').version;
        return { ...pgConnectionConfig(store, 'db'), expirationChecker: () => store.handle('db').version !== version };
      },
      pool: { min: 0, max: 2 },
      acquireConnectionTimeout: 3_000,
    });
    try {
      expect((await db.raw('SELECT current_user AS u')).rows[0].u).toBe('knex_app');
      await rotate(fx, 'alternating');
      await store.refresh('db');
      // The version changed, so the config expired: Knex re-reads it and replaces the pooled connection.
      await until(
        async () =>
          (await db.raw('SELECT current_user AS u').then(
            (r) => r.rows[0].u,
            () => '',
          )) === 'knex_app_clone',
      );
    } finally {
      await db.destroy();
    }
  });

  it('postgres.js: a `password` function is read at every new connection (single user)', async () => {
    const { value } = await fx.user('pgjs_app', 'pw-pgjs-1');
    const store = fx.store();
    await store.load();
    const sql = postgres({
      host: value.host,
      port: value.port,
      database: value.dbname,
      username: value.username,
      password: () => (store.get('db') as Db).password,
      max: 2,
      connect_timeout: 3,
      onnotice: () => {},
    });
    try {
      await phased(async (phase) => {
        expect((await sql`SELECT current_user AS u`)[0]!.u).toBe('pgjs_app');
        phase('rotation');
        await rotate(fx, 'single');
        phase('refresh');
        await store.refresh('db');
        phase('kick');
        await kick('pgjs_app');
        phase('query on a new connection');
        await until(
          async () =>
            (await sql`SELECT 1 AS one`.then(
              (r) => r[0]!.one,
              () => 0,
            )) === 1,
        );
        expect((await sql`SELECT current_user AS u`)[0]!.u).toBe('pgjs_app');
      });
    } finally {
      await sql.end({ timeout: 1 });
    }
  });

  it('TypeORM: a `password` function is read at every new connection; the username is fixed per DataSource', async () => {
    const { value } = await fx.user('typeorm_app', 'pw-typeorm-1');
    const store = fx.store();
    await store.load();
    const ds = new DataSource({
      type: 'postgres',
      host: value.host,
      port: value.port,
      database: value.dbname,
      username: value.username,
      password: () => (store.get('db') as Db).password,
      poolSize: 2,
      // Passed to pg.Pool: every query opens a new connection, so the rotated password is needed.
      extra: { maxUses: 1 },
    });
    await ds.initialize();
    try {
      expect((await ds.query('SELECT current_user AS u'))[0].u).toBe('typeorm_app');
      await rotate(fx, 'single');
      await store.refresh('db');
      // A new connection (maxUses 1) logs in with the rotated password, first time.
      expect((await ds.query('SELECT current_user AS u'))[0].u).toBe('typeorm_app');
    } finally {
      await ds.destroy();
    }
  });

  it('Drizzle on createPgPool: queries keep working through an alternating-users rotation', async () => {
    await fx.user('drizzle_app', 'pw-drizzle-1');
    const store = fx.store();
    await store.load();
    const pool = createPgPool(store, 'db', { pending: 'dbPending', max: 2 });
    // pool.end() resolves before the sockets close; the server's shutdown may still reach one.
    pool.on('error', () => {});
    const db = drizzle({ client: pool });
    try {
      await phased(async (phase) => {
        const who = async () => (await db.execute<{ u: string }>(dsql`SELECT current_user AS u`)).rows[0]!.u;
        expect(await who()).toBe('drizzle_app');
        phase('rotation');
        await rotate(fx, 'alternating');
        phase('refresh');
        await store.refresh('db');
        phase('query after rotation');
        // The idle connection of the old version is retired at checkout: the next query logs in as the clone.
        expect(await who()).toBe('drizzle_app_clone');
      });
    } finally {
      await pool.end();
    }
  });
});
