import { createServer } from 'node:http';
import { defineSecrets, SecretStore } from '@hush/core';
import { createPgPool } from '@hush/database/pg';
import { startPostgres, type PostgresServer } from '@hush/database/testing';
import type { VaultEmulator, VaultEmulatorOptions } from '@hush/emulator';
import { hashicorpVault, type HashicorpVaultOptions, type HashicorpVaultSource } from '@hush/vault';
import { recordingLogger, sleep, waitFor } from '../../../test/support';
import { CANARY, closeVaults, fragmentsIn, printed, vault } from './support';

/**
 * Leased credentials from Vault's database secrets engine (the emulator creating and dropping
 * real roles in an embedded PostgreSQL): renewal at about two-thirds of the lease, renewal
 * refused, re-issue ahead of max_ttl under query load with createPgPool (0 failed queries, every
 * committed row kept), a lease that ends with no replacement, revoke on close, static roles.
 */

let db: PostgresServer;

beforeAll(async () => {
  db = await startPostgres();
  await db.query('CREATE TABLE ledger (id serial PRIMARY KEY, who text NOT NULL, n int NOT NULL)');
}, 60_000);

afterAll(async () => {
  await db?.stop();
});

const stores: SecretStore<any>[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await closeVaults();
});

const GRANTS = [
  'GRANT SELECT, INSERT ON TABLE ledger TO "{{name}}";',
  'GRANT USAGE, SELECT ON SEQUENCE ledger_id_seq TO "{{name}}";',
];

async function vaultWithDb(
  role: { defaultTtl: string; maxTtl: string },
  more: Partial<VaultEmulatorOptions> = {},
): Promise<VaultEmulator> {
  return vault({
    database: {
      connection: { host: db.host, port: db.port, user: db.user, password: db.password },
      roles: { app: { ...role, grants: GRANTS } },
    },
    ...more,
  });
}

function leasedStore(
  emu: VaultEmulator,
  options: HashicorpVaultOptions = {},
  storeOptions: Record<string, unknown> = {},
) {
  const log = recordingLogger();
  const source = hashicorpVault({ address: emu.url, auth: { token: emu.rootToken }, ...options });
  const store = new SecretStore(defineSecrets({ db: { id: 'database/creds/app', format: 'json' } }), {
    source,
    logger: log,
    bootTimeout: '10s',
    backoff: { initial: 200, max: 500 },
    ...storeOptions,
  });
  stores.push(store);
  return { store, source, log };
}

const renewCalls = (emu: VaultEmulator): number => emu.calls()['PUT sys/leases/renew'] ?? 0;
const issueCalls = (emu: VaultEmulator): number => emu.calls()['GET database/creds/app'] ?? 0;

async function roleExists(name: string): Promise<boolean> {
  const r = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_roles WHERE rolname = $1', [name]);
  return r.rows[0]!.n === 1;
}

describe('leased database credentials', () => {
  it('boot: the lease value with expiresAt; the store renews it at about two-thirds of the lease, same version', async () => {
    const emu = await vaultWithDb({ defaultTtl: '3s', maxTtl: '1h' });
    const { store, log } = leasedStore(emu);
    await store.load();
    const first = store.get('db') as { username: string; password: string };
    expect(first.username).toMatch(/^v-/);
    expect(await roleExists(first.username)).toBe(true);
    const version = store.health().secrets['db']!.version;
    expect(store.health().secrets['db']!.leaseRemainingSeconds).toBeGreaterThanOrEqual(2);
    // 3 s leases renewed at ~1.8–2 s: after 5 s, at least two renewals and still one lease.
    await waitFor(() => renewCalls(emu) >= 2, 8_000, 'two renewals');
    expect(issueCalls(emu)).toBe(1);
    expect(store.get('db')).toBe(first);
    expect(store.health().secrets['db']).toMatchObject({ status: 'fresh', version });
    expect(emu.activeLeases()).toHaveLength(1);
    expect(fragmentsIn(printed(store.health(), log.lines, store.stats()), first.password)).toEqual([]);
  });

  it('renewal refused: new credentials (a new version and username) before the lease ends', async () => {
    const emu = await vaultWithDb({ defaultTtl: '3s', maxTtl: '1h' });
    const { store } = leasedStore(emu);
    await store.load();
    const first = store.get('db') as { username: string };
    emu.injectFault({ path: 'sys/leases/renew', status: 400, errors: ['lease not found or lease is not renewable'] });
    const startedAt = Date.now();
    await waitFor(() => (store.get('db') as { username: string }).username !== first.username, 5_000, 'new creds');
    expect(Date.now() - startedAt).toBeLessThan(3_000);
    expect(store.health().secrets['db']!.status).toBe('fresh');
    expect(issueCalls(emu)).toBe(2);
  });

  it('max_ttl near: new credentials ahead of expiry under query load — 0 failed queries, every committed row kept', async () => {
    const emu = await vaultWithDb({ defaultTtl: '3s', maxTtl: '5s' });
    const { store } = leasedStore(emu);
    await store.load();
    const pool = createPgPool(store, 'db', { host: db.host, port: db.port, database: db.database, max: 4 });
    pool.on('error', () => undefined);
    const users = new Set<string>();
    let committed = 0;
    const failures: string[] = [];
    let stop = false;
    const worker = async (w: number): Promise<void> => {
      for (let n = 0; !stop; n++) {
        try {
          const r = await pool.query<{ who: string }>(
            'INSERT INTO ledger (who, n) VALUES (current_user, $1) RETURNING who',
            [w * 1_000_000 + n],
          );
          committed++;
          users.add(r.rows[0]!.who);
        } catch (error) {
          failures.push(String((error as { code?: string }).code ?? (error as Error).name));
        }
        await sleep(5);
      }
    };
    const before = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM ledger')).rows[0]!.n;
    const workers = Array.from({ length: 6 }, (_, w) => worker(w));
    // Leases of 3 s capped at 5 s: a new one about every 4 s; wait for three changes.
    await waitFor(() => users.size >= 4, 25_000, 'three lease changes');
    stop = true;
    await Promise.all(workers);
    await pool.end();
    expect(failures).toEqual([]);
    expect(committed).toBeGreaterThan(100);
    const after = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM ledger')).rows[0]!.n;
    expect(after - before).toBe(committed);
    // The old leases expired in Vault, which dropped their roles.
    await waitFor(async () => emu.activeLeases().length <= 2, 8_000, 'old leases revoked');
  }, 60_000);

  it('a lease cannot outlive the token that issued it: new credentials before that token reaches its max TTL, 0 failed queries', async () => {
    // Leases of 1 h, but the AppRole token lives 5 s at most: Vault revokes the token's leases
    // (and drops their roles) when it ends.
    const emu = await vaultWithDb(
      { defaultTtl: '1h', maxTtl: '1h' },
      { appRoles: { app: { roleId: 'role-1', secretIds: ['sid-1'], tokenTtl: '3s', tokenMaxTtl: '5s' } } },
    );
    const { store } = leasedStore(emu, { auth: { appRole: { roleId: 'role-1', secretId: 'sid-1' } } });
    await store.load();
    const pool = createPgPool(store, 'db', {
      host: db.host,
      port: db.port,
      database: db.database,
      max: 4,
      maxUses: 10,
    });
    pool.on('error', () => undefined);
    const users = new Set<string>();
    const failures: string[] = [];
    let stop = false;
    const workers = Array.from({ length: 4 }, async () => {
      while (!stop) {
        try {
          users.add(
            (await pool.query<{ who: string }>('SELECT current_user AS who FROM ledger LIMIT 1')).rows[0]?.who ?? '',
          );
        } catch (error) {
          failures.push(String((error as { code?: string }).code ?? (error as Error).name));
        }
        await sleep(5);
      }
    });
    await sleep(12_000);
    stop = true;
    await Promise.all(workers);
    await pool.end();
    expect(failures).toEqual([]);
    expect(emu.calls()['GET database/creds/app']).toBeGreaterThanOrEqual(3);
  }, 30_000);

  it('a renewal Vault never answers does not outlast the lease: new credentials before it ends (fetchTimeout is 30 s)', async () => {
    const emu = await vaultWithDb({ defaultTtl: '3s', maxTtl: '1h' });
    const { store, log } = leasedStore(emu);
    await store.load();
    const first = store.get('db') as { username: string };
    const endsAt = Date.now() + store.health().secrets['db']!.leaseRemainingSeconds! * 1000 + 1_000;
    emu.injectFault({ path: 'sys/leases/renew', hang: true, times: 1 });
    await waitFor(() => renewCalls(emu) >= 1, 5_000, 'the hung renewal');
    await waitFor(() => (store.get('db') as { username: string }).username !== first.username, 5_000, 'new creds');
    expect(Date.now()).toBeLessThan(endsAt);
    expect(store.health().secrets['db']!.status).toBe('fresh');
    expect(log.lines.join('\n')).not.toContain('lease-expired');
  });

  it('a Vault granting leases of 0 s does not make the store spin: about one fetch per second', async () => {
    let calls = 0;
    let issued = 0;
    const server = createServer((req, res) => {
      calls += 1;
      res.setHeader('Content-Type', 'application/json');
      if (req.url!.includes('lookup-self')) return void res.end(JSON.stringify({ data: { ttl: 0, renewable: false } }));
      if (req.url!.includes('sys/leases/renew')) {
        return void res.end(JSON.stringify({ lease_id: 'x', lease_duration: 0, renewable: true }));
      }
      issued += 1;
      res.end(
        JSON.stringify({
          lease_id: `database/creds/app/L${issued}`,
          lease_duration: 0,
          renewable: true,
          data: { username: `u${issued}`, password: `p-${issued}-${CANARY}` },
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const log = recordingLogger();
      const { port } = server.address() as { port: number };
      const store = new SecretStore(defineSecrets({ db: { id: 'database/creds/app', format: 'json' } }), {
        source: hashicorpVault({ address: `http://127.0.0.1:${port}`, auth: { token: 'hvs.zero' } }),
        logger: log,
      });
      stores.push(store);
      await store.load();
      const before = calls;
      await sleep(3_000);
      // minRefreshInterval is 1 s: at most a renewal and an issue per second (it spun at hundreds a second).
      expect(calls - before).toBeLessThanOrEqual(10);
      expect(store.health().secrets['db']!.status).toBe('expired');
      expect(log.lines.filter((l) => l.includes('lease-expired')).length).toBeLessThanOrEqual(5);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a lease that ends with no replacement (Vault sealed) is expired: store down, logged once; unsealed, new credentials', async () => {
    const emu = await vaultWithDb({ defaultTtl: '2s', maxTtl: '1h' });
    const { store, log } = leasedStore(emu);
    await store.load();
    const first = store.get('db') as { username: string };
    emu.seal();
    await waitFor(() => store.health().status === 'down', 15_000, 'the lease to end');
    expect(store.health().secrets['db']).toMatchObject({ status: 'expired', leaseRemainingSeconds: 0 });
    // Health reads the clock; the error line comes from the store's timer at the lease's end (a
    // loaded machine may run it a little after health already says expired).
    const expired = () => log.records.filter((r) => r.level === 'error' && r.fields['event'] === 'lease-expired');
    await waitFor(() => expired().length > 0, 5_000, 'the lease-expired line');
    await sleep(500);
    expect(expired()).toHaveLength(1);
    emu.unseal();
    await waitFor(() => store.health().status === 'up', 15_000, 'new credentials');
    expect((store.get('db') as { username: string }).username).not.toBe(first.username);
  });

  it('revokeOnClose: close() revokes the lease, and Vault drops the role', async () => {
    const emu = await vaultWithDb({ defaultTtl: '1h', maxTtl: '1h' });
    const { store } = leasedStore(emu, { revokeOnClose: true });
    await store.load();
    const { username } = store.get('db') as { username: string };
    expect(emu.activeLeases()).toHaveLength(1);
    await store.close();
    expect(emu.activeLeases()).toHaveLength(0);
    await waitFor(async () => !(await roleExists(username)), 5_000, 'the role dropped');
  });

  it('without revokeOnClose, close() leaves the lease to expire (another pod may share nothing; Vault cleans up)', async () => {
    const emu = await vaultWithDb({ defaultTtl: '1h', maxTtl: '1h' });
    const { store, source } = leasedStore(emu);
    await store.load();
    expect((source as HashicorpVaultSource).leaseOf('database/creds/app')).toMatchObject({ renewable: true });
    await store.close();
    expect(emu.activeLeases()).toHaveLength(1);
  });

  it('static roles: the value is the current password, the version is last_vault_rotation; a rotation reaches the store', async () => {
    await db.query(
      `DO $$ BEGIN CREATE ROLE static_app LOGIN PASSWORD 'initial'; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
    );
    const emu = await vault({
      database: {
        connection: { host: db.host, port: db.port, user: db.user, password: db.password },
        staticRoles: { app: { username: 'static_app', rotationPeriod: '1h' } },
      },
    });
    const source = hashicorpVault({ address: emu.url, auth: { token: emu.rootToken } });
    const store = new SecretStore(defineSecrets({ db: { id: 'database/static-creds/app', format: 'json' } }), {
      source,
    });
    stores.push(store);
    await store.load();
    const first = store.get('db') as { username: string; password: string; ttl?: number };
    expect(first.username).toBe('static_app');
    expect(first).not.toHaveProperty('ttl');
    const v1 = store.health().secrets['db']!.version;
    await store.refresh();
    expect(store.health().secrets['db']!.version).toBe(v1);
    await sleep(1_100); // last_vault_rotation has a one-second resolution
    await emu.rotateStaticRole('app');
    await store.refresh();
    expect((store.get('db') as { password: string }).password).not.toBe(first.password);
    expect(store.health().secrets['db']!.version).not.toBe(v1);
    const [described] = await source.describe(['database/static-creds/app'], {
      signal: new AbortController().signal,
      force: false,
      reason: 'refresh',
    });
    expect(described).toMatchObject({ ok: true, description: { rotationEnabled: true } });
  });
});
