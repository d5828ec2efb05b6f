// `npm run start:vault`: Hush with HashiCorp Vault, no Vault binary needed. A Vault emulator whose
// database secrets engine creates real roles in an embedded PostgreSQL hands out 20 s leases capped
// at max_ttl 60 s; a store reads them (and a KV v2 secret) through hashicorpVault(), and createPgPool
// queries under a steady load while the leases renew and new database users replace old ones.
// Watch "failed" stay 0 and "users" grow:  watch -n1 curl -s http://127.0.0.1:3004/vault
import { createServer } from 'node:http';
import { SecretStore, defineSecrets } from '@hush/core';
import { createPgPool } from '@hush/database/pg';
import { startPostgres } from '@hush/database/testing';
import { startVaultEmulator } from '@hush/emulator';
import { hashicorpVault } from '@hush/vault';

const port = (name, fallback) => (process.env[name] === undefined ? fallback : Number(process.env[name]));
const TTL = port('VAULT_DEMO_TTL_S', 20);
const MAX_TTL = port('VAULT_DEMO_MAX_TTL_S', 60);

const postgres = await startPostgres();
await postgres.query('CREATE TABLE visits (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())');
const vault = await startVaultEmulator({
  port: port('VAULT_PORT', 0),
  kv: { 'secret/demo/api': { key: 'demo-api-key-not-a-real-one' } },
  appRoles: { demo: { roleId: 'demo-role', secretIds: ['demo-secret-id'], tokenTtl: '5m', tokenMaxTtl: '1h' } },
  database: {
    connection: { host: postgres.host, port: postgres.port, user: postgres.user, password: postgres.password },
    roles: {
      app: {
        defaultTtl: `${TTL}s`,
        maxTtl: `${MAX_TTL}s`,
        grants: [
          'GRANT SELECT, INSERT ON TABLE visits TO "{{name}}";',
          'GRANT USAGE ON SEQUENCE visits_id_seq TO "{{name}}";',
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
    source: hashicorpVault({
      address: vault.url,
      auth: { appRole: { roleId: 'demo-role', secretId: 'demo-secret-id' } },
    }),
    logger: console,
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
      const r = await pool.query('INSERT INTO visits DEFAULT VALUES RETURNING current_user AS who');
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
await new Promise((resolve, reject) => {
  server.once('error', (e) => {
    if (e.code === 'EADDRINUSE') {
      console.error(`Port ${e.port ?? 3004} is already in use: set VAULT_DEMO_PORT to a free port (0 picks one).`);
      process.exit(1);
    }
    reject(e);
  });
  server.listen(port('VAULT_DEMO_PORT', 3004), '127.0.0.1', resolve);
});
const url = `http://127.0.0.1:${server.address().port}`;

console.log(`
Hush + Vault demo is running (no Vault binary needed):
  Vault emulator                ${vault.url}   (KV v2, AppRole, database secrets engine)
  PostgreSQL                    port ${postgres.port}
  Status                        ${url}/vault
database/creds/app leases last ${TTL} s (max_ttl ${MAX_TTL} s): the store renews each at about two-thirds and
takes new credentials (a new database user) before max_ttl. Watch "failed" stay 0:  watch -n1 curl -s ${url}/vault
Ctrl-C to stop.
`);

let closing = false;
async function shutdown(signal) {
  if (closing) return;
  closing = true;
  console.log(`\n${signal}: shutting down`);
  running = false;
  await load;
  await new Promise((resolve) => server.close(resolve));
  await pool.end();
  await store.close();
  await vault.close();
  await postgres.stop();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
