export { startPostgres, type PostgresServer, type StartPostgresOptions } from './postgres';
