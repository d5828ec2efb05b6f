export {
  createPgPool,
  pgConnectionConfig,
  type PgConnectionConfig,
  type HushPgPool,
  type PgCredentialStats,
  type PgPoolOptions,
} from './create-pg-pool';
export { isPgLoginFailure, PG_LOGIN_FAILURES } from '../credentials';
