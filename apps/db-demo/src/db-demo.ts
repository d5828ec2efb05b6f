import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Logger, Module, type INestApplication, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { awsSecretsManager } from '@hush/core';
import { SecretsModule } from '@hush/nestjs';
import pg from 'pg';
import { DbController, QueryCounter } from './db.controller';
import { DB_DEMO_SECRET_ID, dbSecrets } from './db-secrets';
import { PgPoolModule } from './pg-pool.provider';

/** The ARN the demo's rotation function is registered under in the emulator (`rotationFunctions`). */
export const DB_DEMO_LAMBDA = 'arn:aws:lambda:us-east-1:123456789012:function:hush-demo-pg-single-user';

/** A PostgreSQL superuser login the demo uses once, to create its app role. */
export interface DbDemoSuperuser {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

/** Options of {@link createDbDemo}. */
export interface DbDemoOptions {
  /** HTTP port; 0 picks a free one. */
  readonly port?: number;
  /** The emulator (with {@link DB_DEMO_LAMBDA} registered as a PostgreSQL rotation function). */
  readonly emulatorUrl: string;
  readonly region?: string;
  /** Creates the role `demo_app` and stores its secret as `demo/pg`. */
  readonly postgres: DbDemoSuperuser;
  /** RotateSecret every so often; 0 disables. @default 30_000 */
  readonly rotateEveryMs?: number;
  readonly logLevels?: LogLevel[] | false;
}

export interface DbDemo {
  readonly app: INestApplication;
  readonly url: string;
  /** Starts a rotation now (RotateSecret); resolves with the new version id when the emulator accepted it. */
  rotate(): Promise<string>;
  close(): Promise<void>;
}

/**
 * The database demo: a Nest app whose `GET /db` queries a real PostgreSQL through createPgPool
 * (the provider recipe in pg-pool.provider.ts), while the emulator rotates the password with the
 * single-user strategy every `rotateEveryMs`. The failed-queries counter stays 0.
 */
export async function createDbDemo(options: DbDemoOptions): Promise<DbDemo> {
  const logger = new Logger('DbDemo');
  const region = options.region ?? 'us-east-1';
  await createAppRole(options.emulatorUrl, options.postgres);
  const clientConfig = {
    region,
    endpoint: options.emulatorUrl,
    credentials: { accessKeyId: 'demo', secretAccessKey: 'demo' },
  };

  @Module({
    imports: [
      SecretsModule.forRoot({
        // Its log lines ([Secrets:db-demo]), metrics and health say which app they are about.
        name: 'db-demo',
        secrets: dbSecrets,
        source: awsSecretsManager({ clientConfig }),
        refreshInterval: '10s',
        isGlobal: true,
      }),
      PgPoolModule,
    ],
    controllers: [DbController],
    providers: [QueryCounter],
  })
  class DbDemoModule {}

  const app = await NestFactory.create(DbDemoModule, {
    abortOnError: false,
    logger: options.logLevels ?? ['log', 'warn', 'error'],
  });
  // Loopback only, like the other demos: the demo serves secrets-derived data to anyone who can reach it.
  await app.listen(options.port ?? 0, '127.0.0.1');
  const url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  const sm = new SecretsManagerClient(clientConfig);
  const rotate = async (): Promise<string> => {
    const { VersionId } = await sm.send(
      new RotateSecretCommand({ SecretId: DB_DEMO_SECRET_ID, RotationLambdaARN: DB_DEMO_LAMBDA }),
    );
    logger.log(
      `RotateSecret ${DB_DEMO_SECRET_ID}: version ${VersionId!.slice(0, 8)} (single user, window before finishSecret)`,
    );
    return VersionId!;
  };
  const every = options.rotateEveryMs ?? 30_000;
  const timer =
    every > 0
      ? setInterval(
          () => void rotate().catch((e: unknown) => logger.warn(`rotation refused: ${(e as Error).name}`)),
          every,
        )
      : undefined;
  timer?.unref();
  let closing: Promise<void> | undefined;
  return {
    app,
    url,
    rotate,
    close: () =>
      (closing ??= (async () => {
        clearInterval(timer);
        await app.close();
        sm.destroy();
      })()),
  };
}

/** Creates the login role the app uses (once) and stores its secret in the emulator. */
async function createAppRole(emulatorUrl: string, su: DbDemoSuperuser): Promise<void> {
  const password = `demo-${randomBytes(16).toString('hex')}`;
  const admin = new pg.Client({
    host: su.host,
    port: su.port,
    user: su.user,
    password: su.password,
    database: 'postgres',
  });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', ['demo_app']);
    const verb = exists.rowCount ? 'ALTER' : 'CREATE';
    await admin.query(`${verb} ROLE demo_app LOGIN PASSWORD ${pg.escapeLiteral(password)}`);
  } finally {
    await admin.end();
  }
  const value = {
    engine: 'postgres',
    host: su.host,
    port: su.port,
    username: 'demo_app',
    password,
    dbname: 'postgres',
  };
  const res = await fetch(`${emulatorUrl}/_emulator/secrets/${encodeURIComponent(DB_DEMO_SECRET_ID)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ value: JSON.stringify(value) }),
  });
  if (!res.ok) throw new Error(`The emulator refused ${DB_DEMO_SECRET_ID}: HTTP ${res.status}`);
}
