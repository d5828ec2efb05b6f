import { DatabaseCredentialsError } from './errors';

/** What a database login needs. `host`, `port` and `database` fall back to the pool options when absent. */
export interface DatabaseCredentials {
  readonly user: string;
  readonly password: string;
  readonly host?: string;
  readonly port?: number;
  readonly database?: string;
}

/** Maps a secret value of another shape to {@link DatabaseCredentials}. */
export type CredentialsMapper = (value: unknown) => DatabaseCredentials;

/**
 * Reads the shape RDS and Secrets Manager's rotation functions store:
 * `{ "engine", "host", "port", "username", "password", "dbname" }` (`port` may be a string).
 *
 * @throws DatabaseCredentialsError naming the secret and the field, never the value.
 */
export function rdsCredentials(secretName: string, value: unknown, map?: CredentialsMapper): DatabaseCredentials {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new DatabaseCredentialsError(secretName, '(value)', 'is not a JSON object (declare it with format: "json")');
  }
  const raw = map ? map(value) : fromRds(value as Record<string, unknown>);
  const user = raw.user;
  if (typeof user !== 'string' || user === '')
    throw new DatabaseCredentialsError(secretName, map ? 'user' : 'username', 'is missing or empty');
  if (typeof raw.password !== 'string' || raw.password === '') {
    throw new DatabaseCredentialsError(secretName, 'password', 'is missing or empty');
  }
  if (raw.host !== undefined && (typeof raw.host !== 'string' || raw.host === '')) {
    throw new DatabaseCredentialsError(secretName, 'host', 'is not a non-empty string');
  }
  if (raw.port !== undefined && !(Number.isInteger(raw.port) && raw.port > 0 && raw.port < 65536)) {
    throw new DatabaseCredentialsError(secretName, 'port', 'is not a TCP port number');
  }
  if (raw.database !== undefined && (typeof raw.database !== 'string' || raw.database === '')) {
    throw new DatabaseCredentialsError(secretName, map ? 'database' : 'dbname', 'is not a non-empty string');
  }
  return raw;
}

function fromRds(v: Record<string, unknown>): DatabaseCredentials {
  const port = typeof v['port'] === 'string' && v['port'] !== '' ? Number(v['port']) : v['port'];
  return {
    user: v['username'] as string,
    password: v['password'] as string,
    ...(v['host'] !== undefined && { host: v['host'] as string }),
    ...(port !== undefined && { port: port as number }),
    ...(v['dbname'] !== undefined && { database: v['dbname'] as string }),
  };
}

/** PostgreSQL SQLSTATEs that mean "these credentials are refused": invalid_password, invalid_authorization_specification. */
export const PG_LOGIN_FAILURES: ReadonlySet<string> = new Set(['28P01', '28000']);

/** Whether `error` is a PostgreSQL login refusal (`28P01` or `28000`). */
export function isPgLoginFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && PG_LOGIN_FAILURES.has(code);
}
