// The Vault demo: Hush with HashiCorp Vault, no Vault binary needed. A Vault emulator whose
// database secrets engine creates real roles in PostgreSQL hands out leases (20 s, max_ttl 60 s by
// default); a store reads them (and a KV v2 secret) through hashicorpVault(), and createPgPool
// queries under a steady load while the leases renew and new database users replace old ones.
// Part of `npm start` (apps/demo.mjs, on its PostgreSQL); `npm run start:vault` runs it alone with
// its own embedded PostgreSQL. Watch "failed" stay 0 and "users" grow:  watch -n1 curl -s <url>/vault
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { SecretStore, defineSecrets } from '@hush/core';
import { createPgPool } from '@hush/database/pg';
import { startPostgres } from '@hush/database/testing';
import { startVaultEmulator } from '@hush/emulator';
import { hashicorpVault } from '@hush/vault';

const port = (name, fallback) => (process.env[name] === undefined ? fallback : Number(process.env[name]));

/**
 * Starts the Vault emulator, the store, the pool and its load, and the status server on `postgres`
 * (a started `@hush/database/testing` PostgreSQL). Resolves once the store has loaded and the
 * server listens; a taken port rejects with the listen error (`code: 'EADDRINUSE'`).
 */
export async function startVaultDemo({
  postgres,
  port: listenPort,
  vaultPort = 0,
  ttlSeconds = 20,
  maxTtlSeconds = 60,
  logger = console,
}) {
  const TTL = ttlSeconds;
  const MAX_TTL = maxTtlSeconds;
  await postgres.query(
    'CREATE TABLE IF NOT EXISTS vault_visits (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())',
  );
  const vault = await startVaultEmulator({
    port: vaultPort,
    kv: { 'secret/demo/api': { key: 'demo-api-key-not-a-real-one' } },
    appRoles: { demo: { roleId: 'demo-role', secretIds: ['demo-secret-id'], tokenTtl: '5m', tokenMaxTtl: '1h' } },
    database: {
      connection: { host: postgres.host, port: postgres.port, user: postgres.user, password: postgres.password },
      roles: {
        app: {
          defaultTtl: `${TTL}s`,
          maxTtl: `${MAX_TTL}s`,
          grants: [
            'GRANT SELECT, INSERT ON TABLE vault_visits TO "{{name}}";',
            'GRANT USAGE ON SEQUENCE vault_visits_id_seq TO "{{name}}";',
          ],
        },
      },
    },
  });

  const store = new SecretStore(
    defineSecrets({
      db: { id: 'database/creds/app', format: 'json' }, // a lease: { username, password }
      apiKey: { id: 'secret/data/demo/api', key: 'key' }, // KV v2
    }),
    {
      name: 'vault-demo',
      source: hashicorpVault({
        address: vault.url,
        auth: { appRole: { roleId: 'demo-role', secretId: 'demo-secret-id' } },
      }),
      logger,
    },
  );
  await store.load();
  const pool = createPgPool(store, 'db', {
    host: postgres.host,
    port: postgres.port,
    database: postgres.database,
    max: 4,
  });
  pool.on('error', () => undefined);

  // A steady load: one insert every 50 ms; every database user that served one is counted.
  const stats = { queries: 0, failed: 0, users: new Set() };
  let running = true;
  const load = (async () => {
    while (running) {
      stats.queries++;
      try {
        const r = await pool.query('INSERT INTO vault_visits DEFAULT VALUES RETURNING current_user AS who');
        stats.users.add(r.rows[0].who);
      } catch {
        stats.failed++;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();

  const server = createServer((req, res) => {
    if (req.url !== '/vault') {
      res.writeHead(404).end();
      return;
    }
    const health = store.health();
    res.writeHead(health.status === 'down' ? 503 : 200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        queries: stats.queries,
        failed: stats.failed,
        users: stats.users.size,
        lease: health.secrets.db,
        apiKeyLength: store.get('apiKey').length,
        vaultCalls: vault.calls(),
        status: health.status,
      }),
    );
  });
  const close = async () => {
    running = false;
    await load;
    await new Promise((resolve) => server.close(resolve));
    await pool.end();
    await store.close();
    await vault.close();
  };
  try {
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(listenPort, '127.0.0.1', resolve);
    });
  } catch (e) {
    await close().catch(() => undefined);
    throw e;
  }
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    vaultUrl: vault.url,
    ttlSeconds: TTL,
    maxTtlSeconds: MAX_TTL,
    close,
  };
}

// `npm run start:vault`: the Vault demo alone, with its own embedded PostgreSQL.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const postgres = await startPostgres();
  let demo;
  try {
    demo = await startVaultDemo({
      postgres,
      port: port('VAULT_DEMO_PORT', 3004),
      vaultPort: port('VAULT_PORT', 0),
      ttlSeconds: port('VAULT_DEMO_TTL_S', 20),
      maxTtlSeconds: port('VAULT_DEMO_MAX_TTL_S', 60),
    });
  } catch (e) {
    await postgres.stop();
    if (e?.code === 'EADDRINUSE') {
      console.error(`Port ${e.port ?? 3004} is already in use: set VAULT_DEMO_PORT to a free port (0 picks one).`);
      process.exit(1);
    }
    throw e;
  }
  console.log(`
Hush + Vault demo is running (no Vault binary needed):
  Vault emulator                ${demo.vaultUrl}   (KV v2, AppRole, database secrets engine)
  PostgreSQL                    port ${postgres.port}
  Status                        ${demo.url}/vault
database/creds/app leases last ${demo.ttlSeconds} s (max_ttl ${demo.maxTtlSeconds} s): the store renews each at about two-thirds and
takes new credentials (a new database user) before max_ttl. Watch "failed" stay 0:  watch -n1 curl -s ${demo.url}/vault
Ctrl-C to stop.
`);

  let closing = false;
  const shutdown = async (signal) => {
    if (closing) return;
    closing = true;
    console.log(`\n${signal}: shutting down`);
    await demo.close();
    await postgres.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}
