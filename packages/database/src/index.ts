export {
  rdsCredentials,
  isPgLoginFailure,
  PG_LOGIN_FAILURES,
  type DatabaseCredentials,
  type CredentialsMapper,
} from './credentials';
export {
  DatabaseErrorCodes,
  DatabaseSecretError,
  DatabaseCredentialsError,
  DatabaseLoginError,
  type DatabaseErrorCode,
  type TriedVersion,
} from './errors';
