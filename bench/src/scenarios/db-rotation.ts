import { RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretStore, awsSecretsManager, defineSecrets } from '@hush/core';
import { createPgPool } from '@hush/database/pg';
import { startPostgres } from '@hush/database/testing';
import { startEmulator, type Emulator } from '@hush/emulator';
import { postgresAlternatingUsers, postgresSingleUser } from '@hush/emulator/rotation-postgres';
import pg from 'pg';
import { met, type Row } from '../report';
import { fmt, nowMs, percentile, sleep, type BenchContext } from '../util';

const WORKERS = 8;
/** Store background refresh in every store-based variant (the `pool.end()` pattern needs it to notice). */
const REFRESH_MS = 250;

type Strategy = 'single user' | 'alternating users';
type Variant = 'createPgPool' | 'plain pg.Pool (boot password)' | 'pool.end() on rotation';
const LAMBDA: Record<Strategy, string> = {
  'single user': 'arn:aws:lambda:us-east-1:123456789012:function:bench-pg-single-user',
  'alternating users': 'arn:aws:lambda:us-east-1:123456789012:function:bench-pg-alternating-users',
};
const VARIANTS: Variant[] = ['createPgPool', 'plain pg.Pool (boot password)', 'pool.end() on rotation'];

interface Sample {
  readonly at: number;
  readonly ms: number;
  readonly ok: boolean;
}

interface Outcome {
  readonly queries: number;
  readonly failed: number;
  readonly failedInWindows: number;
  readonly steady: { p50: number; p99: number; n: number };
  readonly windows: { p50: number; p99: number; n: number };
}

/**
 * Scenario 8 — database credential rotation under load: 8 workers run `SELECT 1` back to back on
 * short-lived connections (`maxUses: 2`, so new logins happen inside every window) while the
 * password rotates N times through the PostgreSQL rotation functions (single user, alternating
 * users) with a window between setSecret and finishSecret. Compared side by side: createPgPool, a
 * plain pg.Pool with the boot-time password, and the "`pool.end()` and rebuild on rotation" pattern.
 */
export async function dbRotationScenario(ctx: BenchContext): Promise<Row[]> {
  const rotations = ctx.quick ? 1 : 5;
  const windowMs = ctx.quick ? 150 : 1_000;
  const steadyMs = ctx.quick ? 150 : 1_500;
  // The window runs from setSecret (the database changes) to the end of finishSecret.
  const marks = new Map<string, number>();
  const mark = (fn: ReturnType<typeof postgresSingleUser>): ReturnType<typeof postgresSingleUser> => {
    return async (event, context) => {
      if (event.Step === 'setSecret') marks.set(event.ClientRequestToken, nowMs());
      await fn(event, context);
    };
  };
  const [db, emu] = await Promise.all([
    startPostgres(),
    startEmulator({
      rotationFunctions: {
        [LAMBDA['single user']]: mark(postgresSingleUser()),
        [LAMBDA['alternating users']]: mark(postgresAlternatingUsers()),
      },
      rotationWindow: windowMs,
    }),
  ]);
  const sm = new SecretsManagerClient({ ...emu.clientConfig(), maxAttempts: 1 });
  const rows: Row[] = [];
  let n = 0;
  try {
    emu.putSecret(
      'bench/db-master',
      JSON.stringify({ engine: 'postgres', host: db.host, port: db.port, username: db.user, password: db.password }),
    );
    for (const strategy of ['single user', 'alternating users'] as Strategy[]) {
      const results = new Map<Variant, Outcome>();
      for (const variant of VARIANTS) {
        const user = `bench_${++n}`;
        const id = `bench/db-${n}`;
        await db.query(`CREATE ROLE ${user} LOGIN PASSWORD 'pw-boot-${n}'`);
        emu.putSecret(
          id,
          JSON.stringify({
            engine: 'postgres',
            host: db.host,
            port: db.port,
            username: user,
            password: `pw-boot-${n}`,
            dbname: 'postgres',
            masterarn: 'bench/db-master',
          }),
        );
        const outcome = await runVariant(variant, { emu, sm, id, strategy, marks, rotations, steadyMs });
        results.set(variant, outcome);
        ctx.log(
          `db rotation ${strategy} / ${variant}: ${outcome.failed}/${outcome.queries} failed, p99 steady ` +
            `${fmt(outcome.steady.p99)} ms, windows ${fmt(outcome.windows.p99)} ms`,
        );
      }
      const hush = results.get('createPgPool')!;
      const ratio = hush.windows.p99 / hush.steady.p99;
      const describe = (v: Variant) => {
        const o = results.get(v)!;
        return `${v}: ${o.failed} failed of ${o.queries} (${o.failedInWindows} in windows), p99 windows ${fmt(o.windows.p99)} ms`;
      };
      rows.push({
        scenario: '8 DB rotation',
        metric: `${strategy}: ${WORKERS} workers, ${rotations} rotation(s), ${windowMs} ms windows, maxUses 2`,
        hush:
          `${hush.failed} failed of ${hush.queries}; p50/p99 steady ${fmt(hush.steady.p50)}/${fmt(hush.steady.p99)} ms, ` +
          `windows ${fmt(hush.windows.p50)}/${fmt(hush.windows.p99)} ms`,
        baseline: VARIANTS.slice(1).map(describe).join('; '),
        ratio: `p99 windows/steady ${fmt(ratio)}×`,
        target: '0 failed queries, p99 in windows ≤ 1.5× steady',
        met: ctx.quick
          ? hush.failed === 0
            ? '— (quick; 0 failed)'
            : met(false, `${hush.failed} failed`)
          : met(hush.failed === 0 && ratio <= 1.5, hush.failed > 0 ? `${hush.failed} failed` : `${fmt(ratio)}×`),
        data: Object.fromEntries(results),
      });
    }
    rows.push(await refusedVersionRow(ctx, db, emu, () => ++n));
  } finally {
    sm.destroy();
    await Promise.allSettled([db.stop(), emu.close()]);
  }
  if (rows.some((r) => ((r.data?.['createPgPool'] as Outcome | undefined)?.failed ?? 0) > 0)) {
    throw new Error('createPgPool failed queries during a database rotation (see the log above)');
  }
  return rows;
}

interface RunOptions {
  readonly emu: Emulator;
  readonly sm: SecretsManagerClient;
  readonly id: string;
  readonly strategy: Strategy;
  readonly marks: ReadonlyMap<string, number>;
  readonly rotations: number;
  readonly steadyMs: number;
}

async function runVariant(variant: Variant, o: RunOptions): Promise<Outcome> {
  const secrets = defineSecrets({
    db: { id: o.id, format: 'json' },
    dbPending: { id: o.id, format: 'json', versionStage: 'AWSPENDING', optional: true },
  });
  const store = new SecretStore(secrets, {
    source: awsSecretsManager({ clientConfig: { ...o.emu.clientConfig(), maxAttempts: 2 } }),
    refreshInterval: REFRESH_MS,
  });
  await store.load();
  type Db = { username: string; password: string; host: string; port: number; dbname: string };
  const plainConfig = (v: Db): pg.PoolConfig => ({
    host: v.host,
    port: v.port,
    user: v.username,
    password: v.password,
    database: v.dbname,
    max: WORKERS,
    maxUses: 2,
  });
  let pool: pg.Pool;
  const old: pg.Pool[] = [];
  let unsubscribe = () => {};
  if (variant === 'createPgPool') {
    pool = createPgPool(store, 'db', { pending: 'dbPending', max: WORKERS, maxUses: 2 });
  } else {
    pool = new pg.Pool(plainConfig(store.get('db') as Db));
    if (variant === 'pool.end() on rotation') {
      // The pattern the Nest README used to show: close the pool, build a new one.
      unsubscribe = store.subscribe('db', (next) => {
        const previous = pool;
        pool = new pg.Pool(plainConfig(next as Db));
        pool.on('error', () => {});
        old.push(previous);
        void previous.end();
      });
    }
  }
  pool.on('error', () => {});

  const samples: Sample[] = [];
  const windows: [number, number][] = [];
  let running = true;
  const workers = Array.from({ length: WORKERS }, async () => {
    while (running) {
      const t0 = nowMs();
      let ok = true;
      try {
        await pool.query('SELECT 1');
      } catch {
        ok = false;
      }
      samples.push({ at: t0, ms: nowMs() - t0, ok });
      // A failing login returns at once; do not spin a core on it.
      if (!ok) await sleep(1);
    }
  });
  try {
    await sleep(o.steadyMs);
    for (let i = 0; i < o.rotations; i++) {
      // RotateSecret returns at once; the emulator runs the four steps with its rotationWindow.
      const { VersionId } = await o.sm.send(
        new RotateSecretCommand({ SecretId: o.id, RotationLambdaARN: LAMBDA[o.strategy] }),
      );
      const record = o.emu.rotations().find((r) => r.token === VersionId);
      await record?.done;
      if (record?.state !== 'succeeded') throw new Error(`rotation ${record?.state}: ${record?.error}`);
      const start = o.marks.get(VersionId!) ?? nowMs();
      // Convergence counts as window too: the store sees finishSecret at its next refresh.
      windows.push([start, nowMs() + REFRESH_MS]);
      await sleep(o.steadyMs);
    }
  } finally {
    running = false;
    await Promise.all(workers);
    unsubscribe();
    await store.close();
    await Promise.allSettled([pool.end(), ...old.map((p) => (p.ended ? undefined : p.end()))]);
  }
  const inWindow = (s: Sample) => windows.some(([a, b]) => s.at >= a && s.at <= b);
  const summarize = (list: Sample[]) => {
    const ms = list.filter((s) => s.ok).map((s) => s.ms);
    return { p50: percentile(ms, 50), p99: percentile(ms, 99), n: list.length };
  };
  const win = samples.filter(inWindow);
  const steady = samples.filter((s) => !inWindow(s));
  return {
    queries: samples.length,
    failed: samples.filter((s) => !s.ok).length,
    failedInWindows: win.filter((s) => !s.ok).length,
    steady: summarize(steady),
    windows: summarize(win),
  };
}

type RefusedVariant = 'createPgPool' | 'plain pg.Pool, password read per connection';
const REFUSED_VARIANTS: RefusedVariant[] = ['createPgPool', 'plain pg.Pool, password read per connection'];

/**
 * "AWSCURRENT moves to a version the database refuses" (a typo, a rotation that did not reach this
 * database): the same 8 workers on short-lived connections, then a new version with a wrong
 * password is put and the stores' background refresh picks it up. Compared in one run: createPgPool
 * (keeps working connections, new logins use the last good version) and a plain pg.Pool whose
 * password function reads the secret at every new connection.
 */
async function refusedVersionRow(
  ctx: BenchContext,
  db: Awaited<ReturnType<typeof startPostgres>>,
  emu: Emulator,
  next: () => number,
): Promise<Row> {
  const afterMs = ctx.quick ? 300 : 3_000;
  const steadyMs = ctx.quick ? 150 : 1_000;
  const results = new Map<RefusedVariant, { queries: number; failed: number; failedAfter: number; after: number }>();
  for (const variant of REFUSED_VARIANTS) {
    const n = next();
    const user = `bench_${n}`;
    const id = `bench/db-${n}`;
    const value = { engine: 'postgres', host: db.host, port: db.port, username: user, dbname: 'postgres' };
    await db.query(`CREATE ROLE ${user} LOGIN PASSWORD 'pw-boot-${n}'`);
    emu.putSecret(id, JSON.stringify({ ...value, password: `pw-boot-${n}` }));
    const store = new SecretStore(defineSecrets({ db: { id, format: 'json' } }), {
      source: awsSecretsManager({ clientConfig: { ...emu.clientConfig(), maxAttempts: 2 } }),
      refreshInterval: REFRESH_MS,
    });
    await store.load();
    const pool =
      variant === 'createPgPool'
        ? createPgPool(store, 'db', { max: WORKERS, maxUses: 2, retryBudget: 1_000 })
        : new pg.Pool({
            host: db.host,
            port: db.port,
            user,
            database: 'postgres',
            password: () => (store.get('db') as { password: string }).password,
            max: WORKERS,
            maxUses: 2,
          });
    pool.on('error', () => {});
    const samples: Sample[] = [];
    let running = true;
    const workers = Array.from({ length: WORKERS }, async () => {
      while (running) {
        const t0 = nowMs();
        const ok = await pool.query('SELECT 1').then(
          () => true,
          () => false,
        );
        samples.push({ at: t0, ms: nowMs() - t0, ok });
        if (!ok) await sleep(1);
      }
    });
    let moved = 0;
    try {
      await sleep(steadyMs);
      moved = nowMs();
      emu.putSecret(id, JSON.stringify({ ...value, password: `pw-typo-${n}` }));
      await sleep(afterMs + REFRESH_MS);
    } finally {
      running = false;
      await Promise.all(workers);
      await store.close();
      await pool.end();
    }
    const after = samples.filter((s) => s.at >= moved);
    const outcome = {
      queries: samples.length,
      failed: samples.filter((s) => !s.ok).length,
      failedAfter: after.filter((s) => !s.ok).length,
      after: after.length,
    };
    results.set(variant, outcome);
    ctx.log(
      `db refused version / ${variant}: ${outcome.failed}/${outcome.queries} failed (${outcome.failedAfter}/${outcome.after} after the move)`,
    );
  }
  const hush = results.get('createPgPool')!;
  const plain = results.get('plain pg.Pool, password read per connection')!;
  return {
    scenario: '8 DB rotation',
    metric: `AWSCURRENT moves to a version the database refuses: ${WORKERS} workers, maxUses 2, ${afterMs} ms after the move`,
    hush: `${hush.failed} failed of ${hush.queries} (${hush.after} after the move)`,
    baseline: `plain pg.Pool reading the password per connection: ${plain.failed} failed of ${plain.queries} (${plain.failedAfter} of ${plain.after} after the move)`,
    ratio: plain.after > 0 ? `plain fails ${fmt((100 * plain.failedAfter) / plain.after)} % after the move` : '—',
    target: '0 failed queries with createPgPool',
    met: ctx.quick
      ? hush.failed === 0
        ? '— (quick; 0 failed)'
        : met(false, `${hush.failed} failed`)
      : met(hush.failed === 0, `${hush.failed} failed`),
    data: Object.fromEntries(results),
  };
}
