import { SecretStore, defineSecrets } from '@hush/core';
import { createPgPool } from '@hush/database/pg';
import { startPostgres, type PostgresServer } from '@hush/database/testing';
import { startVaultEmulator, type VaultEmulator } from '@hush/emulator';
import { hashicorpVault } from '@hush/vault';
import nodeVault from 'node-vault';
import pg from 'pg';
import { met, type Row } from '../report';
import { fmt, sleep, type BenchContext } from '../util';

const WORKERS = 6;
/** Lease TTL and max_ttl of the bench role (seconds): a new lease about every 4 s. */
const TTL_S = 3;
const MAX_TTL_S = 5;
/** The AppRole token's TTL and max TTL (seconds): renewals and logins inside the run. */
const TOKEN_TTL_S = 6;
const TOKEN_MAX_TTL_S = 12;

interface Outcome {
  readonly queries: number;
  readonly failed: number;
  readonly users: number;
  readonly seconds: number;
}

/**
 * Scenario 14 — Vault leased database credentials under load: 6 workers query a table through a
 * pool while Vault's database engine (the emulator, real roles in an embedded PostgreSQL) hands out
 * 3 s leases capped at max_ttl 5 s, for five lease changes. Side by side: `createPgPool` over a
 * store with `hashicorpVault()` (renewal at ⅔, re-issue before max_ttl), and a `pg.Pool` built from
 * one `node-vault` read at boot (node-vault renews nothing by itself). Then the calls Hush made,
 * per hour, against what the schedule predicts.
 */
export async function vaultLeasesScenario(ctx: BenchContext): Promise<Row[]> {
  const changes = ctx.quick ? 1 : 5;
  const db = await startPostgres();
  let emu: VaultEmulator | undefined;
  try {
    await db.query('CREATE TABLE ledger (id serial PRIMARY KEY, n int NOT NULL)');
    emu = await startVaultEmulator({
      database: {
        connection: { host: db.host, port: db.port, user: db.user, password: db.password },
        roles: {
          app: {
            defaultTtl: `${TTL_S}s`,
            maxTtl: `${MAX_TTL_S}s`,
            grants: [
              'GRANT SELECT, INSERT ON TABLE ledger TO "{{name}}";',
              'GRANT USAGE ON SEQUENCE ledger_id_seq TO "{{name}}";',
            ],
          },
        },
      },
      appRoles: {
        bench: {
          roleId: 'bench-role',
          secretIds: ['bench-secret-id'],
          tokenTtl: `${TOKEN_TTL_S}s`,
          tokenMaxTtl: `${TOKEN_MAX_TTL_S}s`,
        },
      },
    });
    const hush = await runHush(emu, db, changes);
    ctx.log(
      `vault leases / Hush: ${hush.failed}/${hush.queries} failed, ${hush.users} users in ${fmt(hush.seconds)} s`,
    );
    // A deterministic promise (npm test runs the quick size): no query fails across lease changes.
    if (hush.failed > 0) {
      throw new Error(`createPgPool over hashicorpVault() failed ${hush.failed} queries across lease changes`);
    }
    const calls = emu.calls();
    const perHour = (n: number | undefined): number => ((n ?? 0) / hush.seconds) * 3_600;
    const renewals = perHour(calls['PUT sys/leases/renew']);
    const issued = perHour(calls['GET database/creds/app']);
    const logins = perHour(calls['POST auth/approle/login']);
    const tokenRenewals = perHour(calls['PUT auth/token/renew-self']);
    emu.resetCalls();
    const baseline = await runNodeVault(emu, db, hush.seconds);
    ctx.log(`vault leases / node-vault: ${baseline.failed}/${baseline.queries} failed`);
    // The schedule: a lease is renewed at 0.6–0.67 of what it has left; a new one when the grant is capped.
    const expectedLeases = 3_600 / (MAX_TTL_S * 0.8);
    return [
      {
        scenario: '14 Vault leases',
        metric: `${WORKERS} workers, ${changes} lease change(s) (ttl ${TTL_S} s, max_ttl ${MAX_TTL_S} s): failed queries`,
        hush: `${hush.failed} failed of ${hush.queries} (${hush.users} database users)`,
        baseline: `pg.Pool from one node-vault read at boot: ${baseline.failed} failed of ${baseline.queries}`,
        ratio: '—',
        target: '0 failed queries',
        met: met(hush.failed === 0, `${hush.failed} failed`),
        data: { hush, baseline },
      },
      {
        scenario: '14 Vault leases',
        metric: `calls per hour per pod at these TTLs (token ttl ${TOKEN_TTL_S} s, max ${TOKEN_MAX_TTL_S} s)`,
        hush:
          `${fmt(renewals)} lease renewals, ${fmt(issued)} new leases, ${fmt(tokenRenewals)} renew-self, ` +
          `${fmt(logins)} logins`,
        baseline: `node-vault read at boot: 1 lease, 0 renewals (its credentials stop at ${TTL_S} s)`,
        ratio: '—',
        target: `new leases ≈ 1 per ~0.8 max_ttl (${fmt(expectedLeases)}/h)`,
        met: ctx.quick ? '— (quick)' : met(issued <= expectedLeases * 1.5 && issued >= expectedLeases / 2),
        data: { renewals, issued, logins, tokenRenewals, seconds: hush.seconds },
      },
    ];
  } finally {
    await emu?.close();
    await db.stop();
  }
}

/** Runs the workers until `stop()` holds; counts queries and failures. */
async function load(pool: pg.Pool, stop: () => boolean): Promise<{ queries: number; failed: number }> {
  let queries = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: WORKERS }, async (_, w) => {
      for (let n = 0; !stop(); n++) {
        queries++;
        try {
          await pool.query('INSERT INTO ledger (n) VALUES ($1)', [w * 1_000_000 + n]);
        } catch {
          failed++;
        }
        await sleep(5);
      }
    }),
  );
  return { queries, failed };
}

async function runHush(emu: VaultEmulator, db: PostgresServer, changes: number): Promise<Outcome> {
  const source = hashicorpVault({
    address: emu.url,
    auth: { appRole: { roleId: 'bench-role', secretId: 'bench-secret-id' } },
  });
  const store = new SecretStore(defineSecrets({ db: { id: 'database/creds/app', format: 'json' } }), { source });
  await store.load();
  const pool = createPgPool(store, 'db', { host: db.host, port: db.port, database: db.database, max: 4, maxUses: 20 });
  pool.on('error', () => undefined);
  const users = new Set<string>([(store.get('db') as { username: string }).username]);
  const unsubscribe = store.subscribe('db', (value) => {
    users.add((value as { username: string }).username);
  });
  const started = performance.now();
  const result = await load(pool, () => users.size > changes);
  const seconds = (performance.now() - started) / 1_000;
  unsubscribe();
  await pool.end();
  await store.close();
  return { ...result, users: users.size, seconds };
}

async function runNodeVault(emu: VaultEmulator, db: PostgresServer, seconds: number): Promise<Outcome> {
  const client = nodeVault({ apiVersion: 'v1', endpoint: emu.url, token: emu.rootToken });
  const lease = (await client.read('database/creds/app')) as { data: { username: string; password: string } };
  const pool = new pg.Pool({
    host: db.host,
    port: db.port,
    database: db.database,
    user: lease.data.username,
    password: lease.data.password,
    max: 4,
    maxUses: 20,
  });
  pool.on('error', () => undefined);
  const until = performance.now() + seconds * 1_000;
  const result = await load(pool, () => performance.now() >= until);
  await pool.end();
  return { ...result, users: 1, seconds };
}
