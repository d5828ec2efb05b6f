export { createDbDemo, DB_DEMO_LAMBDA, type DbDemo, type DbDemoOptions, type DbDemoSuperuser } from './db-demo';
export { DbController, QueryCounter, type DbStatus } from './db.controller';
export { PG_POOL, PgPoolModule, PgPoolShutdown, pgPoolProvider } from './pg-pool.provider';
export { dbSecrets, DB_DEMO_SECRET_ID } from './db-secrets';
