import { randomUUID } from 'node:crypto';
import { SecretsManagerClient, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { SecretStore, awsSecretsManager, defineSecrets, type SecretStoreOptions } from '@hush/core';
import { startEmulator, type Emulator } from '@hush/emulator';
import type { RotationFunction } from '@hush/emulator/rotation-postgres';
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

/**
 * Runs the four rotation steps the way Secrets Manager's RotateSecret does, with `windowMs` between
 * `setSecret` and `finishSecret` (the single-user window: the database already wants the new password).
 */
export async function rotate(
  fx: Fixture,
  fn: RotationFunction,
  opts: { secretId?: string; windowMs?: number; onWindow?: () => Promise<void> | void } = {},
): Promise<string> {
  const token = randomUUID();
  const context = { client: fx.sm, endpoint: fx.emu.url, region: fx.emu.region };
  const SecretId = opts.secretId ?? SECRET_ID;
  await fn({ SecretId, ClientRequestToken: token, Step: 'createSecret' }, context);
  await fn({ SecretId, ClientRequestToken: token, Step: 'setSecret' }, context);
  if (opts.windowMs) await sleep(opts.windowMs);
  await opts.onWindow?.();
  await fn({ SecretId, ClientRequestToken: token, Step: 'testSecret' }, context);
  await fn({ SecretId, ClientRequestToken: token, Step: 'finishSecret' }, context);
  // Secrets Manager removes the AWSPENDING label once the rotation succeeded.
  await fx.sm.send(
    new UpdateSecretVersionStageCommand({ SecretId, VersionStage: 'AWSPENDING', RemoveFromVersionId: token }),
  );
  return token;
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
