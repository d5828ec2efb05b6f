import { Inject, Injectable, Logger, Module, type FactoryProvider, type OnApplicationShutdown } from '@nestjs/common';
import { SecretStore } from '@hush/core';
import { createPgPool, type HushPgPool } from '@hush/database/pg';

/** Injection token of the pool: `@Inject(PG_POOL) pool: pg.Pool`. */
export const PG_POOL = 'DB:PG_POOL';

/**
 * The recipe: a `pg.Pool` built by createPgPool from the loaded SecretStore. No `@OnSecretRotation`
 * hook and no `pool.end()` on rotation: new connections read the current secret, a refused login
 * refreshes it (or tries AWSPENDING), old connections retire when released.
 */
export const pgPoolProvider: FactoryProvider<HushPgPool> = {
  provide: PG_POOL,
  inject: [SecretStore],
  useFactory: (store: SecretStore) => {
    // maxUses/idleTimeoutMillis keep connections short-lived here so the demo logs in often.
    const pool = createPgPool(store, 'db', { pending: 'dbPending', max: 8, maxUses: 20, idleTimeoutMillis: 2_000 });
    const logger = new Logger('PgPool');
    // pg reports errors of idle connections (a server restart) on the pool; without a listener they crash the process.
    pool.on('error', (error: Error & { code?: string }) => logger.warn(`idle connection error ${error.code ?? ''}`));
    return pool;
  },
};

/** Closes the pool when the app shuts down (`app.close()`, or a signal with `enableShutdownHooks()`). */
@Injectable()
export class PgPoolShutdown implements OnApplicationShutdown {
  constructor(@Inject(PG_POOL) private readonly pool: HushPgPool) {}

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}

/** Import next to `SecretsModule.forRoot({ secrets, ..., isGlobal: true })`. */
@Module({ providers: [pgPoolProvider, PgPoolShutdown], exports: [PG_POOL] })
export class PgPoolModule {}
