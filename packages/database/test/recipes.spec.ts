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

  it('postgres.js: a `password` function (pgConnectionConfig) is read at every new connection (single user)', async () => {
    const { value } = await fx.user('pgjs_app', 'pw-pgjs-1');
    const store = fx.store();
    await store.load();
    const sql = postgres({
      host: value.host,
      port: value.port,
      database: value.dbname,
      username: value.username,
      password: () => pgConnectionConfig(store, 'db').password,
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
      password: () => pgConnectionConfig(store, 'db').password,
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

  describe('when a new version is bad or refused', () => {
    interface Recipe {
      who(): Promise<string>;
      end(): Promise<void>;
    }
    type Store = ReturnType<Fixture['store']>;
    const RECIPES: Record<string, (store: Store, value: Db) => Promise<Recipe>> = {
      async knex(store) {
        const db = knex({
          client: 'pg',
          connection: () => {
            const version = store.handle('db').version;
            return {
              ...pgConnectionConfig(store, 'db'),
              expirationChecker: () => store.handle('db').version !== version,
            };
          },
          pool: { min: 0, max: 2 },
          acquireConnectionTimeout: 3_000,
        });
        return {
          who: async () => (await db.raw('SELECT current_user AS u')).rows[0].u as string,
          end: () => db.destroy(),
        };
      },
      async typeorm(store, value) {
        const ds = new DataSource({
          type: 'postgres',
          host: value.host,
          port: value.port,
          database: value.dbname,
          username: value.username,
          password: () => pgConnectionConfig(store, 'db').password,
          poolSize: 2,
        });
        await ds.initialize();
        return {
          who: async () => (await ds.query('SELECT current_user AS u'))[0].u as string,
          end: () => ds.destroy(),
        };
      },
      async postgresjs(store, value) {
        const sql = postgres({
          host: value.host,
          port: value.port,
          database: value.dbname,
          username: value.username,
          password: () => pgConnectionConfig(store, 'db').password,
          max: 2,
          connect_timeout: 3,
          onnotice: () => {},
        });
        return {
          who: async () => (await sql`SELECT current_user AS u`)[0]!.u as string,
          end: () => sql.end({ timeout: 1 }),
        };
      },
      async drizzle(store) {
        const pool = createPgPool(store, 'db', { pending: 'dbPending', max: 2, retryBudget: 500 });
        pool.on('error', () => {});
        const db = drizzle({ client: pool });
        return {
          who: async () => (await db.execute<{ u: string }>(dsql`SELECT current_user AS u`)).rows[0]!.u,
          end: () => pool.end(),
        };
      },
    };

    const KICKED = new Set(['57P01', 'ECONNRESET', 'EPIPE', 'CONNECTION_CLOSED', 'CONNECTION_ENDED']);
    /** Five queries in a row; the failures by code. Sessions the test itself ended are not counted. */
    /** A query that hangs (postgres.js may, on a session ended under it) counts as failed after 4 s. */
    async function bounded<T>(query: Promise<T>): Promise<T> {
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([
        query,
        new Promise<never>((_, fail) => {
          timer = setTimeout(() => fail(Object.assign(new Error('no answer in 4 s'), { code: 'HUNG' })), 4_000);
        }),
      ]).finally(() => clearTimeout(timer));
    }

    async function five(recipe: Recipe, user: string): Promise<{ ok: number; failed: string[] }> {
      const out = { ok: 0, failed: [] as string[] };
      for (let i = 0; i < 5; i++) {
        try {
          expect(await bounded(recipe.who())).toBe(user);
          out.ok++;
        } catch (error) {
          const e = error as { code?: string; message?: string };
          // The test ended the sessions (kick): a driver may report it on the next query.
          if (KICKED.has(String(e.code)) || /terminat|ended|closed/i.test(String(e.message))) continue;
          out.failed.push(String(e.code ?? e.message));
        }
      }
      return out;
    }

    it.each(Object.keys(RECIPES))(
      '%s: a version without a password is set aside; new connections log in with the last good one',
      async (recipeName) => {
        const user = `bad_${recipeName}`;
        const { value } = await fx.user(user, 'pw-bad-1');
        const store = fx.store();
        await store.load();
        const recipe = await RECIPES[recipeName]!(store, value);
        try {
          expect(await recipe.who()).toBe(user);
          const { password: _dropped, ...noPassword } = value;
          fx.emu.putSecret('app/db', JSON.stringify(noPassword));
          await store.refresh('db');
          await kick(user);
          expect(await five(recipe, user)).toEqual({ ok: expect.any(Number), failed: [] });
          expect((await five(recipe, user)).ok).toBe(5);
        } finally {
          await recipe.end();
        }
      },
    );

    // What each recipe does when AWSCURRENT moves to a version the database refuses (a typo): only
    // createPgPool knows a login failed, so only Drizzle (and Prisma) on it serve on.
    const REFUSED: Record<string, { beforeKick: number; afterKick: number }> = {
      knex: { beforeKick: 0, afterKick: 0 }, // the expirationChecker retires working connections at once
      typeorm: { beforeKick: 5, afterKick: 0 }, // working connections serve; new logins fail
      postgresjs: { beforeKick: 5, afterKick: 0 },
      drizzle: { beforeKick: 5, afterKick: 5 }, // createPgPool serves on with the last good login
    };
    it.each(Object.keys(RECIPES))(
      '%s: AWSCURRENT moves to a version the database refuses',
      async (recipeName) => {
        const user = `refused_${recipeName}`;
        const { value } = await fx.user(user, 'pw-refused-1');
        const store = fx.store();
        await store.load();
        const recipe = await RECIPES[recipeName]!(store, value);
        try {
          expect(await recipe.who()).toBe(user);
          fx.emu.putSecret('app/db', JSON.stringify({ ...value, password: 'pw-typo' }));
          await store.refresh('db');
          const before = await five(recipe, user);
          await kick(user);
          // One query to let the driver notice its ended sessions (its failure is not counted).
          await bounded(recipe.who()).catch(() => undefined);
          const after = await five(recipe, user);
          expect({ before: before.ok, after: after.ok }).toEqual({
            before: REFUSED[recipeName]!.beforeKick,
            after: REFUSED[recipeName]!.afterKick,
          });
        } finally {
          await recipe.end();
        }
      },
      60_000,
    );

    it('Drizzle on createPgPool, pool full (max 1, 3 concurrent): a single-user rotation fails no query', async () => {
      await fx.user('full_drizzle', 'pw-full-1');
      const store = fx.store();
      await store.load();
      const pool = createPgPool(store, 'db', { pending: 'dbPending', max: 1, maxUses: 2, retryBudget: 300 });
      pool.on('error', () => {});
      const db = drizzle({ client: pool });
      let running = true;
      const counts = { ok: 0, failed: 0 };
      const workers = Array.from({ length: 3 }, async () => {
        while (running) {
          await db.execute(dsql`SELECT 1`).then(
            () => counts.ok++,
            () => counts.failed++,
          );
        }
      });
      try {
        await rotate(fx, 'single', { onWindow: () => until(() => counts.ok > 20) });
        await store.refresh('db');
      } finally {
        running = false;
        await Promise.all(workers);
        await pool.end();
      }
      expect(counts).toEqual({ ok: expect.any(Number), failed: 0 });
      expect(pool.credentialStats().logins['dbPending']).toBeGreaterThan(0);
    });
  });
});
