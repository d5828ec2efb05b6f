import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretStore, awsSecretsManager, defineSecrets, type SecretStoreOptions } from '@hush/core';
import { startEmulator, type Emulator } from '@hush/emulator';
import { runRotation, type RotationFunction } from '@hush/emulator/rotation-postgres';
import { startPostgres, type PostgresServer } from '@hush/database/testing';

export const SECRET_ID = 'app/db';
export const MASTER_ID = 'app/db-master';

export const secrets = defineSecrets({
  db: { id: SECRET_ID, format: 'json' },
  dbPending: { id: SECRET_ID, format: 'json', versionStage: 'AWSPENDING', optional: true },
});

export interface Fixture {
  readonly pg: PostgresServer;
  readonly emu: Emulator;
  readonly sm: SecretsManagerClient;
  /** Creates a login role owning a fresh database and stores its RDS-shaped secret as AWSCURRENT. */
  user(name: string, password: string, opts?: { secretId?: string }): Promise<{ versionId: string; value: RdsSecret }>;
  store(opts?: Partial<SecretStoreOptions>): SecretStore<typeof secrets>;
  stop(): Promise<void>;
}

export interface RdsSecret {
  engine: 'postgres';
  host: string;
  port: number;
  username: string;
  password: string;
  dbname: string;
  masterarn?: string;
}

export async function fixture(): Promise<Fixture> {
  const [pg, emu] = await Promise.all([startPostgres(), startEmulator()]);
  const sm = new SecretsManagerClient({ ...emu.clientConfig(), maxAttempts: 1 });
  emu.putSecret(
    MASTER_ID,
    JSON.stringify({
      engine: 'postgres',
      host: pg.host,
      port: pg.port,
      username: pg.user,
      password: pg.password,
      dbname: 'postgres',
    }),
  );
  const stores: SecretStore<typeof secrets>[] = [];
  return {
    pg,
    emu,
    sm,
    async user(name, password, opts = {}) {
      await pg.query(`CREATE ROLE ${ident(name)} LOGIN PASSWORD ${literal(password)}`);
      await pg.query(`CREATE DATABASE ${ident(name)} OWNER ${ident(name)}`);
      const value: RdsSecret = {
        engine: 'postgres',
        host: pg.host,
        port: pg.port,
        username: name,
        password,
        dbname: name,
        masterarn: MASTER_ID,
      };
      const { versionId } = emu.putSecret(opts.secretId ?? SECRET_ID, JSON.stringify(value));
      return { versionId, value };
    },
    store(opts = {}) {
      const store = new SecretStore(secrets, {
        source: awsSecretsManager({ clientConfig: { ...emu.clientConfig(), maxAttempts: 1 } }),
        refreshInterval: false,
        minRefreshInterval: 50,
        ...opts,
      });
      stores.push(store);
      return store;
    },
    async stop() {
      await Promise.allSettled(stores.map((s) => s.close()));
      sm.destroy();
      await Promise.allSettled([pg.stop(), emu.close()]);
    },
  };
}

/** One rotation through the emulator's API, with `windowMs` between `setSecret` and `finishSecret`. */
export function rotate(
  fx: Fixture,
  fn: RotationFunction,
  opts: { secretId?: string; windowMs?: number; onWindow?: () => unknown } = {},
): Promise<string> {
  const context = { client: fx.sm, endpoint: fx.emu.url, region: fx.emu.region };
  return runRotation(fn, context, opts.secretId ?? SECRET_ID, opts);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function literal(value: string): string {
  const escaped = value.replace(/'/g, "''");
  return value.includes('\\') ? ` E'${escaped.replace(/\\/g, '\\\\')}'` : `'${escaped}'`;
}

/** Waits for a condition (never a fixed sleep as the assertion). */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}
