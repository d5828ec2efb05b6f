import {
  SecretsConfigError,
  refreshOnFailure,
  type Duration,
  type RefreshOnFailure,
  type SecretCandidate,
  type AnySecretStore,
} from '@hush/core';
import pg from 'pg';
import { isPgLoginFailure, rdsCredentials, type CredentialsMapper, type DatabaseCredentials } from '../credentials';
import { DatabaseLoginError, type TriedVersion } from '../errors';

/** Options of {@link createPgPool}: every `pg.PoolConfig` option except the credentials, plus three of Hush. */
export interface PgPoolOptions extends Omit<pg.PoolConfig, 'user' | 'password' | 'connectionString' | 'Client'> {
  /**
   * The declared name of the same secret id at `versionStage: 'AWSPENDING'` (`optional: true`).
   * When a login fails and a forced refresh brings no new version, the pool tries it: during a
   * single-user rotation the database takes the pending password before AWSCURRENT moves.
   */
  readonly pending?: string;
  /** Maps a secret of another shape to `{ user, password, host?, port?, database? }`. @default the RDS shape */
  readonly map?: CredentialsMapper;
  /** How long one `connect()` may keep retrying refused logins before it fails. @default '30s' */
  readonly retryBudget?: Duration;
}

/** Counters of one pool's credential handling. */
export interface PgCredentialStats {
  /** New connections opened, by the declared name whose value they used. */
  readonly logins: Readonly<Record<string, number>>;
  /** Logins the database refused (`28P01`/`28000`). */
  readonly refused: number;
  /** Retries after a refusal, forced refreshes requested, `connect()` calls that gave up. */
  readonly retries: number;
  readonly refreshes: number;
  readonly exhausted: number;
  /** Connections closed on release because they were opened with an older version. */
  readonly retired: number;
}

/** A `pg.Pool` whose new connections log in with the current value of a secret. */
export interface HushPgPool extends pg.Pool {
  /** The declared name the credentials come from. */
  readonly secretName: string;
  /** Counters (no values). */
  credentialStats(): PgCredentialStats;
}

const FORBIDDEN = ['user', 'password', 'connectionString', 'Client'] as const;
const noop = (): void => {};

/**
 * A real `pg.Pool` that reads its login from the JSON secret `name` at every new connection: the
 * username, host, port and database through a `Client` subclass, the password through pg's password
 * function (never copied at pool creation). A refused login triggers one shared forced refresh and a
 * retry with the new version, or with `pending`; connections opened with an older version close when
 * released, so the pool converges on the new credentials without killing a query.
 *
 * @example
 * const secrets = defineSecrets({
 *   db: { id: 'prod/app/db', format: 'json' },
 *   dbPending: { id: 'prod/app/db', format: 'json', versionStage: 'AWSPENDING', optional: true },
 * });
 * const store = new SecretStore(secrets, { source: awsSecretsManager() });
 * await store.load();
 * const pool = createPgPool(store, 'db', { pending: 'dbPending', max: 10 });
 * await pool.query('SELECT 1');
 *
 * @throws SecretsConfigError for an undeclared name, or `user`/`password`/`connectionString`/`Client` in options.
 */
export function createPgPool(store: AnySecretStore, name: string, options: PgPoolOptions = {}): HushPgPool {
  for (const key of FORBIDDEN) {
    if (key in options) {
      throw new SecretsConfigError(
        `createPgPool.${key}`,
        key === 'connectionString'
          ? 'a connectionString would replace the password function (pg parses it over every other field). ' +
              'Put host, port and database in the secret or as separate options.'
          : `the pool sets \`${key}\` itself from secret "${name}" at every new connection. Remove it.`,
      );
    }
  }
  const { pending, map, retryBudget, ...poolConfig } = options as PgPoolOptions & Record<string, unknown>;
  const creds = refreshOnFailure<unknown>(store, name, {
    isStale: isPgLoginFailure,
    ...(pending !== undefined && { fallback: pending }),
    ...(retryBudget !== undefined && { budget: retryBudget }),
  });
  const parsed = new WeakMap<object, DatabaseCredentials>();
  const credentialsOf = (c: SecretCandidate<unknown>): DatabaseCredentials => {
    const key = c.value as object;
    let found = typeof key === 'object' && key !== null ? parsed.get(key) : undefined;
    if (!found) {
      found = rdsCredentials(c.name, c.value, map);
      if (typeof key === 'object' && key !== null) parsed.set(key, found);
    }
    return found;
  };
  // Fail at start-up, not at the first query, when the secret does not hold credentials.
  if (store.handle(name).loaded) credentialsOf(creds.current());

  const counts = { logins: {} as Record<string, number>, refused: 0, retired: 0 };
  const state: State = { creds, credentialsOf, counts, override: undefined };
  const Client = clientClass(state);

  class Pool extends pg.Pool implements HushPgPool {
    readonly secretName = name;

    constructor() {
      super({ ...poolConfig, Client } as pg.PoolConfig);
    }

    credentialStats(): PgCredentialStats {
      return { logins: { ...counts.logins }, refused: counts.refused, retired: counts.retired, ...creds.stats() };
    }

    override connect(): Promise<pg.PoolClient>;
    override connect(
      callback: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void,
    ): void;
    override connect(
      callback?: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void,
    ): Promise<pg.PoolClient> | void {
      const connecting = this.#connect();
      if (!callback) return connecting;
      connecting.then(
        (client) => callback(undefined, client, client.release as (release?: unknown) => void),
        (error: Error) => callback(error, undefined, noop),
      );
    }

    async #connect(): Promise<pg.PoolClient> {
      // An idle connection opened with an older version is closed instead of handed out (its release
      // retires it); bounded, because every retired one makes room for a new login.
      for (let i = 0; ; i++) {
        const client = await this.#checkout();
        const version = (client as unknown as { secretVersion?: string }).secretVersion;
        if (version === creds.current().version || i >= (this.options.max ?? 10)) return client;
        client.release();
      }
    }

    async #checkout(): Promise<pg.PoolClient> {
      try {
        return await super.connect();
      } catch (error) {
        if (!isPgLoginFailure(error)) throw error;
        const first = failedCandidate.get(error as object) ?? creds.current();
        const tried: TriedVersion[] = [{ name: first.name, version: first.version }];
        const started = performance.now();
        try {
          return await creds.run(
            (candidate) => {
              tried.push({ name: candidate.name, version: candidate.version });
              // pg-pool builds the client synchronously inside connect() when it has room: hand it this candidate.
              state.override = candidate;
              try {
                return super.connect();
              } finally {
                state.override = undefined;
              }
            },
            { candidate: first, error },
          );
        } catch (last) {
          if (!isPgLoginFailure(last)) throw last;
          throw new DatabaseLoginError(
            name,
            String((last as { code: string }).code),
            tried,
            performance.now() - started,
            last,
          );
        }
      }
    }

    override toString(): string {
      return `HushPgPool(${name})`;
    }
  }
  return new Pool();
}

interface State {
  readonly creds: RefreshOnFailure<unknown>;
  readonly credentialsOf: (c: SecretCandidate<unknown>) => DatabaseCredentials;
  readonly counts: { logins: Record<string, number>; refused: number; retired: number };
  override: SecretCandidate<unknown> | undefined;
}

/** Which candidate a refused login used (the pool sees only the error). */
const failedCandidate = new WeakMap<object, SecretCandidate<unknown>>();

type ReleaseFn = (release?: unknown) => void;

function clientClass(state: State): typeof pg.Client {
  return class HushPgClient extends pg.Client {
    /** The VersionId this connection logged in with. */
    declare readonly secretVersion: string | undefined;
    #candidate: SecretCandidate<unknown>;
    #release: ReleaseFn | undefined;

    constructor(config: pg.ClientConfig) {
      const candidate = state.override ?? state.creds.current();
      const login = state.credentialsOf(candidate);
      const password = login.password;
      super({
        ...config,
        user: login.user,
        // A function, read when the server asks for it: the password never sits in the pool's options.
        password: () => password,
        host: login.host ?? config.host,
        port: login.port ?? config.port,
        database: login.database ?? config.database,
      });
      this.#candidate = candidate;
      Object.defineProperty(this, 'secretVersion', { value: candidate.version, enumerable: false });
    }

    override connect(): Promise<pg.Client>;
    override connect(callback: ((err: Error) => void) | ((err: null, c: pg.Client) => void)): void;
    override connect(
      callback?: ((err: Error) => void) | ((err: null, c: pg.Client) => void),
    ): Promise<pg.Client> | void {
      const note = (error: Error | undefined): void => {
        if (!error) {
          state.counts.logins[this.#candidate.name] = (state.counts.logins[this.#candidate.name] ?? 0) + 1;
        } else if (isPgLoginFailure(error)) {
          state.counts.refused++;
          failedCandidate.set(error, this.#candidate);
        }
      };
      if (callback) {
        super.connect((error: Error) => {
          note(error ?? undefined);
          (callback as (err: Error | null, c?: pg.Client) => void)(error, this);
        });
        return;
      }
      return super.connect().then(
        (client) => {
          note(undefined);
          return client;
        },
        (error: Error) => {
          note(error);
          throw error;
        },
      );
    }

    // pg-pool assigns `client.release` at every checkout; the accessor wraps it so a connection
    // opened with an older version is closed on release instead of going back to the idle list.
    get release(): ReleaseFn {
      const poolRelease = this.#release;
      return (release?: unknown) => {
        if (!release && this.#candidate.version !== state.creds.current().version) {
          state.counts.retired++;
          return poolRelease?.(true);
        }
        return poolRelease?.(release);
      };
    }

    set release(fn: ReleaseFn) {
      this.#release = fn;
    }
  } as unknown as typeof pg.Client;
}

/** Connection fields as `pg` (and Knex's pg client) name them. */
export interface PgConnectionConfig {
  readonly user: string;
  readonly password: string;
  readonly host?: string;
  readonly port?: number;
  readonly database?: string;
}

/**
 * The current login of secret `name` as `pg` connection fields (`user`, `password`, `host`, `port`,
 * `database`), read from the store now: synchronous, no I/O. For drivers that build connections
 * themselves and accept a per-connection config function (Knex's `connection: () => …`). Unlike
 * {@link createPgPool} it cannot retry a refused login: it only ever sees the store's current value.
 *
 * @example
 * knex({ client: 'pg', connection: () => pgConnectionConfig(store, 'db') });
 */
export function pgConnectionConfig(
  store: AnySecretStore,
  name: string,
  options: { readonly map?: CredentialsMapper } = {},
): PgConnectionConfig {
  const login = rdsCredentials(name, store.get(name), options.map);
  return {
    user: login.user,
    password: login.password,
    ...(login.host !== undefined && { host: login.host }),
    ...(login.port !== undefined && { port: login.port }),
    ...(login.database !== undefined && { database: login.database }),
  };
}
