/**
 * The database secrets engine for PostgreSQL, following `openbao/openbao`
 * `internal/builtin/logical/database/path_creds_create.go` (issue), `secret_creds.go` (renew: ALTER
 * ROLE … VALID UNTIL; revoke), `path_rotate_credentials.go` / `rotation.go` (static roles) and
 * `internal/builtin/database/postgresql/postgresql.go` (statements, username template, default
 * revocation). Real roles are created and dropped in a real PostgreSQL through `pg` (loaded only
 * when a database is configured: `pg` is an optional peer dependency).
 */
import type pg from 'pg';
import { base62 } from './common';

/** The superuser connection Vault's `database/config/<name>` would hold. */
export interface VaultDatabaseConnection {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** @default 'postgres' */
  readonly database?: string;
}

/** A dynamic role (`database/roles/<name>`). */
export interface VaultDatabaseRole {
  /**
   * `creation_statements`, with `{{name}}`, `{{password}}`, `{{expiration}}`.
   * @default [DEFAULT_CREATION_STATEMENT, ...grants]
   */
  readonly creationStatements?: readonly string[];
  /** Statements appended to the default creation statement, e.g. `GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";`. */
  readonly grants?: readonly string[];
  /** `revocation_statements`; empty = the plugin's `defaultDeleteUser` (REVOKE … then DROP ROLE). */
  readonly revocationStatements?: readonly string[];
  /** `renew_statements`; empty = `ALTER ROLE "{{name}}" VALID UNTIL '{{expiration}}';`. */
  readonly renewStatements?: readonly string[];
  /** `default_ttl` in ms or a duration string. @default the mount's default lease TTL */
  readonly defaultTtl?: number | string;
  /** `max_ttl`. @default the mount's max lease TTL */
  readonly maxTtl?: number | string;
}

/** A static role (`database/static-roles/<name>`): an existing user whose password Vault rotates. */
export interface VaultDatabaseStaticRole {
  readonly username: string;
  /** `rotation_period` (at least 5 s in Vault). */
  readonly rotationPeriod: number | string;
  /** `rotation_statements`. @default `ALTER ROLE "{{name}}" WITH PASSWORD '{{password}}';` */
  readonly rotationStatements?: readonly string[];
}

/** Vault's documented creation statement for PostgreSQL (website/content/docs/secrets/databases/postgresql.mdx). */
export const DEFAULT_CREATION_STATEMENT = `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`;
/** `defaultExpirationStatement` in postgresql.go. */
export const DEFAULT_RENEW_STATEMENT = `ALTER ROLE "{{name}}" VALID UNTIL '{{expiration}}';`;
/** `defaultChangePasswordStatement` in postgresql.go. */
export const DEFAULT_ROTATION_STATEMENT = `ALTER ROLE "{{username}}" WITH PASSWORD '{{password}}';`;

/**
 * `defaultUserNameTemplate`: `v-<display name, 8>-<role, 8>-<random 20>-<unix time>`, cut at 63.
 */
export function vaultUsername(displayName: string, roleName: string, nowMs: number): string {
  const name = `v-${displayName.slice(0, 8)}-${roleName.slice(0, 8)}-${base62(20)}-${Math.floor(nowMs / 1000)}`;
  return name.slice(0, 63);
}

/** The default password generator (`credsutil.RandomAlphaNumeric(20, true)`): `A1a-` and 16 base62. */
export function vaultPassword(): string {
  return `A1a-${base62(16)}`;
}

/** `expirationFormat` = Go's "2006-01-02 15:04:05-0700", in UTC. */
export function pgExpiration(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}+0000`;
}

/** `dbtxn` QueryHelper: replaces `{{key}}`. */
function fill(stmt: string, values: Record<string, string>): string {
  return stmt.replace(/\{\{\s*(\w+)\s*\}\}/g, (m, key: string) => values[key] ?? m);
}

/** `strutil.ParseArbitraryStringSlice(stmt, ";")`, trimmed, empty parts dropped; a `$$` body is run as is. */
function splitStatements(stmts: readonly string[]): string[] {
  const out: string[] = [];
  for (const stmt of stmts) {
    if (/\$\$|\bEND\b/i.test(stmt)) out.push(stmt);
    else for (const q of stmt.split(';')) if (q.trim()) out.push(q.trim());
  }
  return out;
}

/** Quotes an identifier (`dbutil.QuoteIdentifier`). */
const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** The PostgreSQL side of the engine: runs Vault's statements on short-lived superuser connections. */
export class PostgresPlugin {
  private pgModule: typeof pg | undefined;

  constructor(private readonly conn: VaultDatabaseConnection) {}

  private async client(): Promise<pg.Client> {
    this.pgModule ??=
      ((await import('pg')) as unknown as { default?: typeof pg }).default ??
      ((await import('pg')) as unknown as typeof pg);
    const c = new this.pgModule.Client({
      host: this.conn.host,
      port: this.conn.port,
      user: this.conn.user,
      password: this.conn.password,
      database: this.conn.database ?? 'postgres',
      connectionTimeoutMillis: 10_000,
    });
    c.on('error', () => {});
    await c.connect();
    return c;
  }

  /** `NewUser`: every statement in one transaction. */
  async newUser(statements: readonly string[], values: Record<string, string>): Promise<void> {
    await this.tx(
      splitStatements(statements).map((q) => fill(q, values)),
      values.password,
    );
  }

  /** `UpdateUser` with a new expiration (`changeUserExpiration`). */
  async renewUser(statements: readonly string[], username: string, expiration: string): Promise<void> {
    const list = statements.length > 0 ? statements : [DEFAULT_RENEW_STATEMENT];
    await this.tx(splitStatements(list).map((q) => fill(q, { name: username, username, expiration })));
  }

  /** `UpdateUser` with a new password (static roles). */
  async setPassword(statements: readonly string[], username: string, password: string): Promise<void> {
    const list = statements.length > 0 ? statements : [DEFAULT_ROTATION_STATEMENT];
    await this.tx(
      splitStatements(list).map((q) => fill(q, { name: username, username, password })),
      password,
    );
  }

  /** `DeleteUser`: the role's revocation statements, or `defaultDeleteUser`. */
  async deleteUser(statements: readonly string[], username: string): Promise<void> {
    if (statements.length > 0) {
      await this.tx(splitStatements(statements).map((q) => fill(q, { name: username, username })));
      return;
    }
    const c = await this.client();
    try {
      const exists = await c.query('SELECT exists (SELECT rolname FROM pg_roles WHERE rolname=$1);', [username]);
      if (!exists.rows[0]?.exists) return;
      const schemas = await c.query<{ table_schema: string }>(
        'SELECT DISTINCT table_schema FROM information_schema.role_column_grants WHERE grantee=$1;',
        [username],
      );
      const u = quoteIdent(username);
      const revokes: string[] = [];
      for (const { table_schema: s } of schemas.rows) {
        revokes.push(`REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA ${quoteIdent(s)} FROM ${u};`);
        revokes.push(`REVOKE USAGE ON SCHEMA ${quoteIdent(s)} FROM ${u};`);
      }
      revokes.push(`REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA public FROM ${u};`);
      revokes.push(`REVOKE ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA public FROM ${u};`);
      revokes.push(`REVOKE USAGE ON SCHEMA public FROM ${u};`);
      const db = await c.query<{ current_database: string }>('SELECT current_database();');
      const dbname = db.rows[0]?.current_database;
      if (dbname) revokes.push(`REVOKE CONNECT ON DATABASE ${quoteIdent(dbname)} FROM ${u};`);
      let last: unknown;
      for (const q of revokes) await c.query(q).catch((err: unknown) => (last = err));
      if (last) throw new Error('could not perform all revocation statements');
      await c.query(`DROP ROLE IF EXISTS ${u};`);
    } finally {
      await c.end().catch(() => {});
    }
  }

  /**
   * Runs `queries` in one transaction. When a statement that carries `secret` fails, PostgreSQL's
   * message may quote a piece of it ("syntax error at or near …"), so only the SQLSTATE is kept.
   */
  private async tx(queries: string[], secret?: string): Promise<void> {
    const c = await this.client();
    try {
      await c.query('BEGIN');
      let current = '';
      try {
        for (const q of queries) {
          current = q;
          await c.query(q);
        }
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        const code = (err as { code?: string }).code ?? 'unknown';
        const carriesSecret = secret !== undefined && secret !== '' && current.includes(secret);
        const detail = carriesSecret
          ? `SQLSTATE ${code} (message withheld: the statement carries a password)`
          : (err as Error).message;
        throw new Error(`failed to execute query: ${detail}`, carriesSecret ? {} : { cause: err });
      }
    } finally {
      await c.end().catch(() => {});
    }
  }
}
