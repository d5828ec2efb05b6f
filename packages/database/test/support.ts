import { randomBytes } from 'node:crypto';
import {
  DescribeSecretCommand,
  RotateSecretCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { SecretStore, awsSecretsManager, defineSecrets, type SecretStoreOptions } from '@hush/core';
import { startEmulator, type Emulator } from '@hush/emulator';
import { postgresAlternatingUsers, postgresSingleUser } from '@hush/emulator/rotation-postgres';
import { startPostgres, type PostgresServer } from '@hush/database/testing';

export const SECRET_ID = 'app/db';
export const MASTER_ID = 'app/db-master';

/** The pause the emulator makes between setSecret and finishSecret (the single-user window). */
export const WINDOW_MS = 400;

export type Strategy = 'single' | 'alternating';
export const LAMBDA: Record<Strategy, string> = {
  single: 'arn:aws:lambda:us-east-1:123456789012:function:pg-single-user',
  alternating: 'arn:aws:lambda:us-east-1:123456789012:function:pg-alternating-users',
};

export const secrets = defineSecrets({
  db: { id: SECRET_ID, format: 'json' },
  dbPending: { id: SECRET_ID, format: 'json', versionStage: 'AWSPENDING', optional: true },
});

export interface Fixture {
  readonly pg: PostgresServer;
  readonly emu: Emulator;
  readonly sm: SecretsManagerClient;
  /** The next passwords the rotation functions generate, in order (then random ones). */
  readonly passwords: string[];
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

export async function fixture(opts: { rotationWindow?: number } = {}): Promise<Fixture> {
  // Passwords queued here are the next ones the rotation functions generate (hostile-value tests).
  const passwords: string[] = [];
  const generatePassword = () => passwords.shift() ?? `CANARY-${randomBytes(16).toString('base64url')}`;
  const [pg, emu] = await Promise.all([
    startPostgres(),
    startEmulator({
      rotationFunctions: {
        [LAMBDA.single]: postgresSingleUser({ generatePassword }),
        [LAMBDA.alternating]: postgresAlternatingUsers({ generatePassword }),
      },
      rotationWindow: opts.rotationWindow ?? WINDOW_MS,
    }),
  ]);
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
    passwords,
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
      const id = opts.secretId ?? SECRET_ID;
      await clearPending(sm, id);
      const { versionId } = emu.putSecret(id, JSON.stringify(value));
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
 * One rotation through the emulator's RotateSecret (the four steps run by the emulator, with its
 * `rotationWindow` between setSecret and finishSecret); `onWindow` runs inside that window.
 * Resolves with the new VersionId once the rotation succeeded.
 */
export async function rotate(
  fx: Fixture,
  strategy: Strategy,
  opts: { secretId?: string; onWindow?: () => unknown } = {},
): Promise<string> {
  const { VersionId } = await fx.sm.send(
    new RotateSecretCommand({ SecretId: opts.secretId ?? SECRET_ID, RotationLambdaARN: LAMBDA[strategy] }),
  );
  const record = () => fx.emu.rotations().find((r) => r.token === VersionId)!;
  if (opts.onWindow) {
    await until(() => record().steps.includes('setSecret') || record().state !== 'running');
    await opts.onWindow();
  }
  // A rotation that never settles fails here with its state, instead of hanging the test.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    record().done,
    new Promise<never>((_, fail) => {
      timer = setTimeout(() => {
        const r = record();
        fail(new Error(`rotation still ${r.state} at ${r.step} after 20 s (steps done: ${r.steps.join(', ')})`));
      }, 20_000);
    }),
  ]).finally(() => clearTimeout(timer));
  const done = record();
  if (done.state !== 'succeeded') throw new Error(`rotation ${done.state} at ${done.step}: ${done.error}`);
  return VersionId!;
}

/**
 * A finished rotation leaves AWSPENDING on the new AWSCURRENT version; once another value is put
 * out of band, RotateSecret would see a rotation in progress. Remove the label, as an operator would.
 */
export async function clearPending(sm: SecretsManagerClient, id: string): Promise<void> {
  const meta = await sm.send(new DescribeSecretCommand({ SecretId: id })).catch(() => undefined);
  for (const [version, stages] of Object.entries(meta?.VersionIdsToStages ?? {})) {
    if (stages.includes('AWSPENDING')) {
      await sm.send(
        new UpdateSecretVersionStageCommand({ SecretId: id, VersionStage: 'AWSPENDING', RemoveFromVersionId: version }),
      );
    }
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function literal(value: string): string {
  const escaped = value.replace(/'/g, "''");
  return value.includes('\\') ? ` E'${escaped.replace(/\\/g, '\\\\')}'` : `'${escaped}'`;
}

/**
 * Runs `body`, failing with the name of the phase it is stuck in after `timeoutMs` (a hang under
 * load then says where it is instead of hitting Jest's timeout).
 */
export async function phased(
  body: (phase: (name: string) => void) => Promise<void>,
  timeoutMs = 20_000,
): Promise<void> {
  let current = 'start';
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      body((name) => (current = name)),
      new Promise<never>((_, fail) => {
        timer = setTimeout(() => fail(new Error(`stuck at: ${current}`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits for a condition (never a fixed sleep as the assertion). */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}
