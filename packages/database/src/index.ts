export { startPostgres, type PostgresServer, type StartPostgresOptions } from './testing/postgres';
