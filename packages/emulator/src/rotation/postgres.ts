/**
 * PostgreSQL rotation functions for the emulator's RotateSecret: the two strategies of AWS's
 * templates (aws-samples/aws-secrets-manager-rotation-lambdas, SecretsManagerRDSPostgreSQLRotationSingleUser
 * and ...MultiUser `lambda_function.py`), ported step for step to TypeScript on `pg`.
 */
import { randomInt } from 'node:crypto';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import pg from 'pg';
import type { RotationContext, RotationEvent, RotationFunction, RotationStep } from '../rotation';

export type { RotationContext, RotationEvent, RotationFunction, RotationStep };

/** Options of both PostgreSQL rotation functions. */
export interface PostgresRotationOptions {
  /** Generates the new password. @default 32 characters, without `/ @ " ' \` (the templates' EXCLUDE_CHARACTERS) */
  readonly generatePassword?: () => string;
  /** Overrides the host the function connects to (the secret's `host` by default). */
  readonly host?: string;
  /** Login timeout of the function's own connections. @default 5_000 */
  readonly connectionTimeoutMillis?: number;
}

/** Options of {@link postgresAlternatingUsers}. */
export interface PostgresAlternatingUsersOptions extends PostgresRotationOptions {
  /**
   * SecretId of a superuser secret (RDS shape) that may create roles and set their passwords.
   * @default the `masterarn` field of the rotated secret, as in the AWS template
   */
  readonly masterSecretId?: string;
}

interface PgSecret {
  engine?: string;
  host: string;
  port?: number | string;
  username: string;
  password: string;
  dbname?: string;
  masterarn?: string;
  [key: string]: unknown;
}

const CLONE_SUFFIX = '_clone';
/** The engines both AWS templates accept (`supported_engines` in `get_secret_dict`). */
const ENGINES: readonly string[] = ['postgres', 'aurora-postgresql'];
/** PostgreSQL's longest identifier (NAMEDATALEN - 1); the template counts characters, as Python's `len`. */
const MAX_USERNAME = 63;
const PASSWORD_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&()*+,-.:;<=>?[]^_`{|}~';

/**
 * Single user: each rotation changes the user's own password (`ALTER USER … WITH PASSWORD`). Between
 * `setSecret` and `finishSecret` the database wants the new password while AWSCURRENT still holds
 * the old one; clients bridge it with AWSPENDING (`createPgPool`'s `pending` option).
 */
export function postgresSingleUser(options: PostgresRotationOptions = {}): RotationFunction {
  return rotation('single', options);
}

/**
 * Alternating users: each rotation sets a new password on the *other* user (`<user>` / `<user>_clone`,
 * created on the first rotation with the superuser secret and granted the original user's role), then
 * makes it AWSCURRENT. The credentials an app holds stay valid for one more full rotation.
 */
export function postgresAlternatingUsers(options: PostgresAlternatingUsersOptions = {}): RotationFunction {
  return rotation('alternating', options);
}

function rotation(strategy: 'single' | 'alternating', options: PostgresAlternatingUsersOptions): RotationFunction {
  return async function rotatePostgres(event, context) {
    const { SecretId: arn, ClientRequestToken: token, Step: step } = event;
    const sm = context.client;
    const meta = await sm.send(new DescribeSecretCommand({ SecretId: arn }));
    const stages = meta.VersionIdsToStages?.[token];
    if (stages?.includes('AWSCURRENT')) return; // already rotated: every step is a no-op
    if (step !== 'createSecret' && !stages?.includes('AWSPENDING')) {
      throw new Error(`Secret version ${token} of "${arn}" is not AWSPENDING: cannot run ${step}.`);
    }
    switch (step) {
      case 'createSecret':
        return createSecret(sm, arn, token, strategy, options);
      case 'setSecret':
        return setSecret(sm, arn, token, strategy, options);
      case 'testSecret': {
        const pending = await getSecret(sm, arn, 'AWSPENDING', token);
        const conn = await login(pending, options);
        if (!conn) throw new Error(`testSecret: the AWSPENDING credentials of "${arn}" do not log in.`);
        try {
          await conn.query('SELECT NOW()');
        } finally {
          await conn.end();
        }
        return;
      }
      case 'finishSecret': {
        const current = Object.entries(meta.VersionIdsToStages ?? {}).find(([, s]) => s.includes('AWSCURRENT'))?.[0];
        if (current === token) return;
        await sm.send(
          new UpdateSecretVersionStageCommand({
            SecretId: arn,
            VersionStage: 'AWSCURRENT',
            MoveToVersionId: token,
            ...(current !== undefined && { RemoveFromVersionId: current }),
          }),
        );
        return;
      }
      default:
        throw new Error(`Unknown rotation step ${JSON.stringify(step)}.`);
    }
  };
}

async function createSecret(
  sm: SecretsManagerClient,
  arn: string,
  token: string,
  strategy: 'single' | 'alternating',
  options: PostgresRotationOptions,
): Promise<void> {
  const current = await getSecret(sm, arn, 'AWSCURRENT');
  try {
    await getSecret(sm, arn, 'AWSPENDING', token);
    return; // a retried createSecret: the pending version exists
  } catch (error) {
    if ((error as { name?: string }).name !== 'ResourceNotFoundException') throw error;
  }
  const next: PgSecret = { ...current, password: (options.generatePassword ?? randomPassword)() };
  if (strategy === 'alternating') {
    next.username = alternateUsername(current.username);
  }
  await sm.send(
    new PutSecretValueCommand({
      SecretId: arn,
      ClientRequestToken: token,
      SecretString: JSON.stringify(next),
      VersionStages: ['AWSPENDING'],
    }),
  );
}

async function setSecret(
  sm: SecretsManagerClient,
  arn: string,
  token: string,
  strategy: 'single' | 'alternating',
  options: PostgresAlternatingUsersOptions,
): Promise<void> {
  const pending = await getSecret(sm, arn, 'AWSPENDING', token);
  const current = await getSecret(sm, arn, 'AWSCURRENT');
  // Already set (a retried step): the pending login works.
  const already = await login(pending, options);
  if (already) return void (await already.end());
  if (pending.host !== current.host) {
    throw new Error(`setSecret: the pending host of "${arn}" differs from the current one; refusing to rotate.`);
  }
  if (strategy === 'single') {
    if (pending.username !== current.username) {
      throw new Error(`setSecret: the pending username of "${arn}" differs from the current one (single user).`);
    }
    // Log in with the current password, or the previous one (a half-finished earlier rotation).
    let conn = await login(current, options);
    if (!conn) {
      const previous = await getSecret(sm, arn, 'AWSPREVIOUS').catch(() => undefined);
      if (previous) conn = await login({ ...current, password: previous.password }, options);
    }
    if (!conn) throw new Error(`setSecret: neither the current nor the previous password of "${arn}" logs in.`);
    try {
      await conn.query(
        `ALTER USER ${pg.escapeIdentifier(pending.username)} WITH PASSWORD ${pg.escapeLiteral(pending.password)}`,
      );
    } finally {
      await conn.end();
    }
    return;
  }
  const masterId = options.masterSecretId ?? current.masterarn;
  if (!masterId) throw new Error(`setSecret: "${arn}" has no masterarn and no masterSecretId was given.`);
  const master = await getSecret(sm, masterId, 'AWSCURRENT');
  const conn = await login(
    { ...master, host: current.host, port: current.port ?? master.port, dbname: current.dbname ?? master.dbname },
    options,
  );
  if (!conn) throw new Error(`setSecret: the master secret "${masterId}" does not log in.`);
  try {
    const user = pg.escapeIdentifier(pending.username);
    const password = pg.escapeLiteral(pending.password);
    const { rowCount } = await conn.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [pending.username]);
    if (rowCount === 0) {
      await conn.query(`CREATE ROLE ${user} WITH LOGIN PASSWORD ${password}`);
      // The clone gets the original user's privileges through membership, as in the template.
      await conn.query(`GRANT ${pg.escapeIdentifier(current.username)} TO ${user}`);
    } else {
      await conn.query(`ALTER USER ${user} WITH PASSWORD ${password}`);
    }
  } finally {
    await conn.end();
  }
}

async function getSecret(sm: SecretsManagerClient, id: string, stage: string, versionId?: string): Promise<PgSecret> {
  const out = await sm.send(
    new GetSecretValueCommand({
      SecretId: id,
      VersionStage: stage,
      ...(versionId !== undefined && { VersionId: versionId }),
    }),
  );
  let value: unknown;
  try {
    value = JSON.parse(out.SecretString ?? '');
  } catch {
    throw new Error(`Secret "${id}" (${stage}) is not JSON.`);
  }
  const v = value as Partial<PgSecret> | null;
  for (const field of ['host', 'username', 'password'] as const) {
    if (!v || typeof v[field] !== 'string') throw new Error(`Secret "${id}" (${stage}) has no string \`${field}\`.`);
  }
  if (v!.engine !== undefined && !ENGINES.includes(v!.engine)) {
    throw new Error(
      `Secret "${id}" (${stage}) has engine ${JSON.stringify(v!.engine)}, not one of ${ENGINES.map((e) => `"${e}"`).join(', ')}.`,
    );
  }
  return v as PgSecret;
}

/** A connected client, or undefined when the login is refused (any other failure throws). */
async function login(secret: PgSecret, options: PostgresRotationOptions): Promise<pg.Client | undefined> {
  const client = new pg.Client({
    host: options.host ?? secret.host,
    port: secret.port === undefined ? 5432 : Number(secret.port),
    user: secret.username,
    password: secret.password,
    database: secret.dbname ?? 'postgres',
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5_000,
  });
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.end().catch(() => undefined);
    const code = (error as { code?: string }).code;
    if (code === '28P01' || code === '28000') return undefined;
    throw error;
  }
}

/**
 * `<user>` ↔ `<user>_clone`, as the template's `get_alt_username`: a clone name longer than 63
 * characters is refused, never truncated (a truncated clone would not map back to its user, so the
 * next rotation would create a third role).
 */
function alternateUsername(current: string): string {
  if (current.endsWith(CLONE_SUFFIX)) return current.slice(0, -CLONE_SUFFIX.length);
  const clone = current + CLONE_SUFFIX;
  if ([...clone].length > MAX_USERNAME) {
    throw new Error(
      `createSecret: unable to clone user, username length with ${CLONE_SUFFIX} appended would exceed ${MAX_USERNAME} characters.`,
    );
  }
  return clone;
}

function randomPassword(): string {
  let out = '';
  for (let i = 0; i < 32; i++) out += PASSWORD_CHARS[randomInt(PASSWORD_CHARS.length)];
  return out;
}
