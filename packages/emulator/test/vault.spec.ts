import { startPostgres, type PostgresServer } from '@hush/database/testing';
import pg from 'pg';
import { startVaultEmulator, type VaultEmulator, type VaultEmulatorOptions } from '../src/index';

/** One call to the emulator's `/v1` API. */
async function v1(
  vault: VaultEmulator,
  method: string,
  path: string,
  opts: { token?: string | null; body?: unknown; namespace?: string } = {},
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  const token = opts.token === undefined ? vault.rootToken : opts.token;
  if (token) headers['X-Vault-Token'] = token;
  if (opts.namespace) headers['X-Vault-Namespace'] = opts.namespace;
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${vault.url}/v1/${path}`, {
    method,
    headers,
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Logs in to the embedded PostgreSQL as `user`; resolves with the error code, or 'ok'. */
async function tryLogin(db: PostgresServer, user: string, password: string): Promise<string> {
  const c = new pg.Client({ host: db.host, port: db.port, user, password, database: 'postgres' });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.query('SELECT 1');
    return 'ok';
  } catch (err) {
    return String((err as { code?: string }).code ?? (err as Error).message);
  } finally {
    await c.end().catch(() => {});
  }
}

async function waitFor(cond: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

const started: VaultEmulator[] = [];
async function vaultWith(options: VaultEmulatorOptions = {}): Promise<VaultEmulator> {
  const v = await startVaultEmulator(options);
  started.push(v);
  return v;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((v) => v.close()));
});

describe('Vault emulator: KV v2', () => {
  it('writes versions and reads the latest or a given one, shaped as Vault', async () => {
    const vault = await vaultWith();
    const hostile = { password: `p'"\\\n✓${'x'.repeat(5000)}`, n: 1 };
    const w1 = await v1(vault, 'POST', 'secret/data/app/db', { body: { data: { password: 'one' } } });
    expect(w1.status).toBe(200);
    expect(w1.body.data).toMatchObject({ version: 1, deletion_time: '', destroyed: false });
    const w2 = await v1(vault, 'PUT', 'secret/data/app/db', { body: { data: hostile } });
    expect(w2.body.data.version).toBe(2);
    const latest = await v1(vault, 'GET', 'secret/data/app/db');
    expect(latest.status).toBe(200);
    expect(latest.body.data.data).toEqual(hostile);
    expect(latest.body.data.metadata).toMatchObject({ version: 2, deletion_time: '', destroyed: false });
    expect(latest.body).toMatchObject({ lease_id: '', renewable: false, lease_duration: 0, auth: null });
    const first = await v1(vault, 'GET', 'secret/data/app/db?version=1');
    expect(first.body.data.data).toEqual({ password: 'one' });
    expect((await v1(vault, 'GET', 'secret/data/nope')).status).toBe(404);
    expect((await v1(vault, 'GET', 'secret/data/nope')).body).toEqual({ errors: [] });
  });

  it('paths are decoded like Vault: unicode, spaces and quotes in a path name one secret', async () => {
    const vault = await vaultWith();
    const name = `app/café "q" \\ x`;
    const encoded = name.split('/').map(encodeURIComponent).join('/');
    expect((await v1(vault, 'POST', `secret/data/${encoded}`, { body: { data: { v: '✓' } } })).status).toBe(200);
    expect(vault.kvPut('secret', name, { v: 'second' })).toBe(2);
    expect((await v1(vault, 'GET', `secret/data/${encoded}`)).body.data.data).toEqual({ v: 'second' });
    expect((await v1(vault, 'GET', 'secret/data/bad%E0%A4%A')).status).toBe(400);
  });

  it('check-and-set: a write with a stale cas is refused with 400', async () => {
    const vault = await vaultWith();
    expect((await v1(vault, 'POST', 'secret/data/c', { body: { data: { a: 1 }, options: { cas: 0 } } })).status).toBe(
      200,
    );
    const stale = await v1(vault, 'POST', 'secret/data/c', { body: { data: { a: 2 }, options: { cas: 0 } } });
    expect(stale).toEqual({
      status: 400,
      body: { errors: ['check-and-set parameter did not match the current version'] },
    });
    expect((await v1(vault, 'POST', 'secret/data/c', { body: { data: { a: 2 }, options: { cas: 1 } } })).status).toBe(
      200,
    );
  });

  it('a deleted or destroyed version answers 404 with its metadata; undelete brings it back', async () => {
    const vault = await vaultWith();
    vault.kvPut('secret', 'k', { v: '1' });
    vault.kvPut('secret', 'k', { v: '2' });
    expect((await v1(vault, 'DELETE', 'secret/data/k')).status).toBe(204);
    const deleted = await v1(vault, 'GET', 'secret/data/k');
    expect(deleted.status).toBe(404);
    expect(deleted.body.data.data).toBeNull();
    expect(deleted.body.data.metadata.version).toBe(2);
    expect(deleted.body.data.metadata.deletion_time).not.toBe('');
    expect((await v1(vault, 'POST', 'secret/undelete/k', { body: { versions: [2] } })).status).toBe(204);
    expect((await v1(vault, 'GET', 'secret/data/k')).body.data.data).toEqual({ v: '2' });
    expect((await v1(vault, 'POST', 'secret/destroy/k', { body: { versions: [1] } })).status).toBe(204);
    const destroyed = await v1(vault, 'GET', 'secret/data/k?version=1');
    expect(destroyed.status).toBe(404);
    expect(destroyed.body.data.metadata).toMatchObject({ version: 1, destroyed: true });
    const meta = await v1(vault, 'GET', 'secret/metadata/k');
    expect(meta.body.data).toMatchObject({ current_version: 2, oldest_version: 1 });
    expect(meta.body.data.versions['1'].destroyed).toBe(true);
    expect((await v1(vault, 'DELETE', 'secret/metadata/k')).status).toBe(204);
    expect((await v1(vault, 'GET', 'secret/data/k')).status).toBe(404);
  });

  it('namespaces isolate KV data; a namespace token does not work in another namespace', async () => {
    const vault = await vaultWith();
    await v1(vault, 'POST', 'secret/data/x', { namespace: 'team-a', body: { data: { who: 'a' } } });
    expect((await v1(vault, 'GET', 'secret/data/x', { namespace: 'team-a' })).body.data.data).toEqual({ who: 'a' });
    expect((await v1(vault, 'GET', 'secret/data/x', { namespace: 'team-b' })).status).toBe(404);
    expect((await v1(vault, 'GET', 'secret/data/x')).status).toBe(404);
    const created = await v1(vault, 'POST', 'auth/token/create', { namespace: 'team-a', body: { ttl: '1h' } });
    const tok = created.body.auth.client_token as string;
    expect((await v1(vault, 'GET', 'secret/data/x', { namespace: 'team-a', token: tok })).status).toBe(200);
    expect(await v1(vault, 'GET', 'secret/data/x', { namespace: 'team-b', token: tok })).toEqual({
      status: 403,
      body: { errors: ['permission denied'] },
    });
  });
});

describe('Vault emulator: tokens', () => {
  it('no token, an unknown token, and an expired token are 403 permission denied', async () => {
    const vault = await vaultWith();
    expect(await v1(vault, 'GET', 'secret/data/a', { token: null })).toEqual({
      status: 403,
      body: { errors: ['permission denied'] },
    });
    expect((await v1(vault, 'GET', 'secret/data/a', { token: 'hvs.nope' })).status).toBe(403);
    const created = await v1(vault, 'POST', 'auth/token/create', { body: { ttl: '1h', policies: ['app'] } });
    expect(created.body.auth).toMatchObject({ lease_duration: 3600, renewable: true, policies: ['app', 'default'] });
    const tok = created.body.auth.client_token as string;
    const self = await v1(vault, 'GET', 'auth/token/lookup-self', { token: tok });
    expect(self.body.data).toMatchObject({ id: tok, creation_ttl: 3600, display_name: 'token', type: 'service' });
    expect(self.body.data.ttl).toBeGreaterThanOrEqual(3599);
    await vault.advanceClock('3601s');
    expect((await v1(vault, 'GET', 'auth/token/lookup-self', { token: tok })).status).toBe(403);
  });

  it('renew-self is capped by explicit_max_ttl, then refused past it', async () => {
    const vault = await vaultWith();
    const created = await v1(vault, 'POST', 'auth/token/create', { body: { ttl: '60s', explicit_max_ttl: '100s' } });
    const tok = created.body.auth.client_token as string;
    await vault.advanceClock('50s');
    const renewed = await v1(vault, 'POST', 'auth/token/renew-self', { token: tok, body: { increment: '60s' } });
    expect(renewed.status).toBe(200);
    expect(renewed.body.auth.lease_duration).toBe(50); // 100 s max from issue, 50 s used
    expect(renewed.body.warnings[0]).toMatch(/capped/);
    await vault.advanceClock('49s');
    expect((await v1(vault, 'POST', 'auth/token/renew-self', { token: tok, body: {} })).body.auth.lease_duration).toBe(
      1,
    );
    await vault.advanceClock('2s');
    expect((await v1(vault, 'POST', 'auth/token/renew-self', { token: tok, body: {} })).status).toBe(403);
  });
});

describe('Vault emulator: policies', () => {
  it("with policies, a token reaches only its policies' paths (and the default policy's); root reaches all", async () => {
    const vault = await vaultWith({
      policies: { app: ['secret/data/app/*', 'secret/metadata/+/config'] },
      kv: { 'secret/app/db': { v: 1 }, 'secret/other/db': { v: 2 }, 'secret/svc/config': { v: 3 } },
    });
    const tok = (await v1(vault, 'POST', 'auth/token/create', { body: { policies: ['app'], ttl: '1h' } })).body.auth
      .client_token as string;
    expect((await v1(vault, 'GET', 'secret/data/app/db', { token: tok })).status).toBe(200);
    expect(await v1(vault, 'GET', 'secret/data/other/db', { token: tok })).toEqual({
      status: 403,
      body: { errors: ['permission denied'] },
    });
    expect((await v1(vault, 'GET', 'secret/metadata/svc/config', { token: tok })).status).toBe(200);
    expect((await v1(vault, 'GET', 'secret/metadata/svc/x/config', { token: tok })).status).toBe(403);
    expect((await v1(vault, 'GET', 'auth/token/lookup-self', { token: tok })).status).toBe(200);
    expect((await v1(vault, 'POST', 'auth/token/renew-self', { token: tok, body: {} })).status).toBe(200);
    expect((await v1(vault, 'PUT', 'sys/leases/revoke', { token: tok, body: { lease_id: 'x' } })).status).toBe(403);
    expect((await v1(vault, 'GET', 'secret/data/other/db')).status).toBe(200);
  });
});

describe('Vault emulator: outage and control API', () => {
  it('stop() refuses connections, start() serves again on the same port with the same data', async () => {
    const vault = await vaultWith({ kv: { 'secret/a': { v: 1 } } });
    const port = vault.port;
    await vault.stop();
    await expect(fetch(`${vault.url}/v1/secret/data/a`)).rejects.toThrow();
    await vault.start();
    expect(vault.port).toBe(port);
    expect((await v1(vault, 'GET', 'secret/data/a')).body.data.data).toEqual({ v: 1 });
  });

  it('a hung request is released by stop(); the control API drives clock, calls and faults', async () => {
    const vault = await vaultWith();
    const created = await v1(vault, 'POST', 'auth/token/create', { body: { ttl: '10m' } });
    const tok = created.body.auth.client_token as string;
    const ctl = (method: string, route: string, body?: unknown) =>
      fetch(`${vault.url}/_emulator/${route}`, {
        method,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    expect((await ctl('POST', 'faults', { path: 'secret/', hang: true, times: 1 })).status).toBe(200);
    const hung = fetch(`${vault.url}/v1/secret/data/x`, { headers: { 'X-Vault-Token': vault.rootToken } });
    await waitFor(() => vault.calls().total >= 2);
    await vault.stop();
    await expect(hung).rejects.toThrow();
    await vault.start();
    expect((await ctl('POST', 'clock', { advance: '11m' })).status).toBe(200);
    await waitFor(async () => (await v1(vault, 'GET', 'auth/token/lookup-self', { token: tok })).status === 403);
    const calls = await ctl('GET', 'calls');
    expect(calls.body['GET auth/token/lookup-self']).toBeGreaterThanOrEqual(1);
    expect((await ctl('GET', 'nope')).status).toBe(404);
  });
});

describe('Vault emulator: database secrets engine on a real PostgreSQL', () => {
  let db: PostgresServer;
  beforeAll(async () => {
    db = await startPostgres();
    await db.query('CREATE TABLE items (id int)');
  }, 60_000);
  afterAll(async () => {
    await db?.stop();
  });
  const dbOptions = (): VaultEmulatorOptions['database'] => ({
    connection: { host: db.host, port: db.port, user: db.user, password: db.password },
    roles: {
      app: {
        grants: ['GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";'],
        defaultTtl: '1h',
        maxTtl: '2h',
      },
    },
  });

  it('creds/<role> creates a real role with a Vault-shaped name that logs in; revoke drops it', async () => {
    const vault = await vaultWith({ database: dbOptions() });
    const res = await v1(vault, 'GET', 'database/creds/app');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ renewable: true, lease_duration: 3600 });
    expect(res.body.lease_id).toMatch(/^database\/creds\/app\/\w{24}$/);
    const { username, password } = res.body.data as { username: string; password: string };
    expect(username).toMatch(/^v-root-app-[A-Za-z0-9]{20}-\d{10}$/);
    expect(password).toMatch(/^A1a-[A-Za-z0-9]{16}$/);
    expect(await tryLogin(db, username, password)).toBe('ok');
    const grants = await db.query(`SELECT has_table_privilege($1, 'items', 'SELECT') AS ok`, [username]);
    expect(grants.rows[0]?.ok).toBe(true);
    const until = await db.query<{ rolvaliduntil: Date }>('SELECT rolvaliduntil FROM pg_roles WHERE rolname=$1', [
      username,
    ]);
    expect(until.rows[0]!.rolvaliduntil.getTime()).toBeGreaterThan(Date.now() + 3590_000);

    expect((await v1(vault, 'PUT', 'sys/leases/revoke', { body: { lease_id: res.body.lease_id } })).status).toBe(204);
    expect(await tryLogin(db, username, password)).toBe('28P01');
    expect((await db.query('SELECT 1 FROM pg_roles WHERE rolname=$1', [username])).rowCount).toBe(0);
    expect((await v1(vault, 'PUT', 'sys/leases/renew', { body: { lease_id: res.body.lease_id } })).body).toEqual({
      errors: ['lease not found'],
    });
  });

  it('renew extends VALID UNTIL, is capped by the role max_ttl, and expiry revokes the role', async () => {
    const vault = await vaultWith({ database: dbOptions() });
    const res = await v1(vault, 'GET', 'database/creds/app');
    const leaseId = res.body.lease_id as string;
    const { username, password } = res.body.data as { username: string; password: string };
    await vault.advanceClock('50m');
    const first = await v1(vault, 'PUT', 'sys/leases/renew', { body: { lease_id: leaseId, increment: 3600 } });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ lease_id: leaseId, renewable: true, lease_duration: 3600, warnings: null });
    const until = await db.query<{ rolvaliduntil: Date }>('SELECT rolvaliduntil FROM pg_roles WHERE rolname=$1', [
      username,
    ]);
    expect(until.rows[0]!.rolvaliduntil.getTime()).toBeGreaterThan(vault.now() + 3590_000);
    await vault.advanceClock('50m');
    const capped = await v1(vault, 'PUT', 'sys/leases/renew', { body: { lease_id: leaseId, increment: 3600 } });
    expect(capped.status).toBe(200);
    expect(capped.body.lease_duration).toBeLessThanOrEqual(1200); // 2 h max_ttl from issue: 20 min left
    expect(capped.body.lease_duration).toBeGreaterThan(1190);
    expect(capped.body.warnings[0]).toMatch(/capped/);
    const look = await v1(vault, 'PUT', 'sys/leases/lookup', { body: { lease_id: leaseId } });
    expect(look.body.data).toMatchObject({ id: leaseId, path: 'database/creds/app', renewable: true });
    expect(look.body.data.ttl).toBeLessThanOrEqual(1200);
    await vault.advanceClock('21m');
    expect(await tryLogin(db, username, password)).toBe('28P01');
    expect(vault.activeLeases()).toEqual([]);
    expect((await v1(vault, 'PUT', 'sys/leases/renew', { body: { lease_id: leaseId } })).status).toBe(400);
  });

  it('database/roles/<name> written over HTTP issues creds with its statements; a failing statement hides the password', async () => {
    const lines: string[] = [];
    const vault = await vaultWith({
      database: { connection: dbOptions()!.connection },
      logger: { warn: (m) => lines.push(m), info: (m) => lines.push(m), debug: (m) => lines.push(m) },
    });
    const created = await v1(vault, 'POST', 'database/roles/ro', {
      body: {
        db_name: 'postgres',
        creation_statements: [
          `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT SELECT ON items TO "{{name}}";`,
        ],
        default_ttl: '5m',
        max_ttl: 600,
      },
    });
    expect(created.status).toBe(204);
    expect((await v1(vault, 'GET', 'database/roles/ro')).body.data).toMatchObject({ default_ttl: 300, max_ttl: 600 });
    const creds = await v1(vault, 'GET', 'database/creds/ro');
    expect(creds.body.lease_duration).toBe(300);
    expect(await tryLogin(db, creds.body.data.username, creds.body.data.password)).toBe('ok');

    // The password unquoted: PostgreSQL's syntax error would quote a piece of it.
    await v1(vault, 'POST', 'database/roles/broken', {
      body: { creation_statements: ['CREATE ROLE "{{name}}" WITH LOGIN PASSWORD {{password}};'] },
    });
    const failed = await v1(vault, 'GET', 'database/creds/broken');
    expect(failed.status).toBe(500);
    expect(failed.body.errors[0]).toMatch(/SQLSTATE 42601 \(message withheld/);
    expect(JSON.stringify(failed.body)).not.toMatch(/A1a/);
    expect(lines.join('\n')).not.toMatch(/A1a|near/);
    expect((await v1(vault, 'GET', 'database/creds/missing')).body).toEqual({ errors: ['unknown role: missing'] });
  });

  it('a revocation that fails keeps the lease with revoke_error and is retried with backoff, not every sweep', async () => {
    const warnings: string[] = [];
    const vault = await vaultWith({
      database: { ...dbOptions()!, roles: { sticky: { defaultTtl: '1h', revocationStatements: ['SELECT 1/0;'] } } },
      logger: { warn: (m) => warnings.push(m) },
    });
    const res = await v1(vault, 'GET', 'database/creds/sticky');
    await vault.advanceClock('61m');
    const look = await v1(vault, 'PUT', 'sys/leases/lookup', { body: { lease_id: res.body.lease_id } });
    expect(look.body.data.revoke_error).toMatch(/division by zero/);
    expect(look.body.data.renewable).toBe(false);
    await new Promise((r) => setTimeout(r, 1500));
    // Sweeps every 50 ms: without backoff one attempt per sweep (each a connection, ~10 or more);
    // with it attempts at about 0, 0.5 s and 1.5 s.
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings.length).toBeLessThanOrEqual(3);
    expect((await db.query('SELECT 1 FROM pg_roles WHERE rolname=$1', [res.body.data.username])).rowCount).toBe(1);
  });

  it('a lease is found only in the namespace that issued it', async () => {
    const vault = await vaultWith({ database: dbOptions() });
    const res = await v1(vault, 'GET', 'database/creds/app', { namespace: 'team-a' });
    const leaseId = res.body.lease_id as string;
    expect((await v1(vault, 'PUT', 'sys/leases/renew', { body: { lease_id: leaseId } })).body).toEqual({
      errors: ['lease not found'],
    });
    expect(
      (await v1(vault, 'PUT', 'sys/leases/revoke', { namespace: 'team-b', body: { lease_id: leaseId } })).status,
    ).toBe(204);
    expect(await tryLogin(db, res.body.data.username, res.body.data.password)).toBe('ok'); // not revoked from team-b
    const renewed = await v1(vault, 'PUT', 'sys/leases/renew', { namespace: 'team-a', body: { lease_id: leaseId } });
    expect(renewed.status).toBe(200);
    expect(
      (await v1(vault, 'PUT', 'sys/leases/revoke', { namespace: 'team-a', body: { lease_id: leaseId } })).status,
    ).toBe(204);
    expect(await tryLogin(db, res.body.data.username, res.body.data.password)).toBe('28P01');
  });

  it('a real-time short lease expires by itself', async () => {
    const vault = await vaultWith({
      database: { ...dbOptions()!, roles: { short: { defaultTtl: '1s', maxTtl: '1s' } } },
    });
    const res = await v1(vault, 'GET', 'database/creds/short');
    expect(res.body.lease_duration).toBeLessThanOrEqual(1);
    const { username, password } = res.body.data as { username: string; password: string };
    await waitFor(async () => (await db.query('SELECT 1 FROM pg_roles WHERE rolname=$1', [username])).rowCount === 0);
    expect(await tryLogin(db, username, password)).toBe('28P01');
  });
});
