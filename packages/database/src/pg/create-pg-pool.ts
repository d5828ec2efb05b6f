import {
  SecretsConfigError,
  refreshOnFailure,
  type Duration,
  type RefreshOnFailure,
  type SecretCandidate,
  type AnySecretStore,
} from '@hush/core';
import { inspect } from 'node:util';
import pg from 'pg';
import { isPgLoginFailure, rdsCredentials, type CredentialsMapper, type DatabaseCredentials } from '../credentials';
import { DatabaseCredentialsError, DatabaseLoginError, type TriedVersion } from '../errors';

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

/** A version new connections do not use: its value is not credentials, or the database refused it. */
export interface PgRejectedVersion {
  /** The declared name it was read from (the main name or `pending`). */
  readonly name: string;
  /** First 8 characters of the VersionId. */
  readonly version: string | undefined;
  /** `invalid`: the value is not usable credentials (no login tried); `refused`: the database refused the login. */
  readonly reason: 'invalid' | 'refused';
  /** `DATABASE_CREDENTIALS_INVALID`, or the SQLSTATE of the refusal (`28P01`, `28000`). */
  readonly code: string;
  /** For `invalid`: the field at fault (`password`, `port`…). */
  readonly field?: string;
}

/** Which credentials the pool's new connections use, and which versions it set aside. No values. */
export interface PgCredentialHealth {
  /** `degraded` while the secret's current version is rejected and the pool serves on with the last good one. */
  readonly status: 'ok' | 'degraded';
  /** The declared name and version (8 characters) new connections log in with. */
  readonly serving: { readonly name: string; readonly version: string | undefined };
  /** Whether a login with the serving version has succeeded in this pool. */
  readonly proven: boolean;
  /** The secret's current version, when it is not the serving one. */
  readonly rejected?: PgRejectedVersion;
}

/** A `pg.Pool` whose new connections log in with the current value of a secret. */
export interface HushPgPool extends pg.Pool {
  /** The declared name the credentials come from. */
  readonly secretName: string;
  /** Counters (no values). */
  credentialStats(): PgCredentialStats;
  /** Which version new connections use and which one was set aside (no values). */
  credentialHealth(): PgCredentialHealth;
  /**
   * Calls `listener` once per version set aside (not credentials, or refused by the database
   * although it never logged in here). Returns the function that removes it.
   */
  onCredentialsRejected(listener: (rejected: PgRejectedVersion) => void): () => void;
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
    isStale: isRetryable,
    ...(pending !== undefined && { fallback: pending }),
    ...(retryBudget !== undefined && { budget: retryBudget }),
  });
  const state = new LoginState(creds, map);
  // Fail at start-up, not at the first query, when the secret does not hold credentials.
  if (store.handle(name).loaded) state.seed(creds.current());
  const Client = clientClass(state);
  /** Which candidate a queued `connect()` was made for (see the constructor). */
  const queued = new WeakMap<object, SecretCandidate<unknown>>();
  /** Per version: when its last probe started, and until when a checkout may wait for one (its first probe only). */
  const probedAt = new Map<string, { readonly last: number; readonly waitUntil: number }>();
  const probes = new Map<string, { readonly running: Promise<void>; readonly client: pg.Client }>();
  /** The 'error' listener a client carries from its checkout until its caller has it (see the constructor). */
  const guards = new WeakMap<object, Guard>();
  const unguard = (client: pg.PoolClient): Error | undefined => {
    const guard = guards.get(client);
    if (!guard) return undefined;
    guards.delete(client);
    client.removeListener('error', guard.listener);
    return guard.lost;
  };

  class Pool extends pg.Pool implements HushPgPool {
    readonly secretName = name;

    constructor() {
      super({ ...poolConfig, Client } as pg.PoolConfig);
      // pg-pool queues a connect() when it is full and builds its client later, in newClient(), often
      // inside another socket's callback: tag the queued item with the candidate of the retry it
      // belongs to, so the candidate travels with the retry whatever the pool's state.
      const queue = (this as unknown as { _pendingQueue?: unknown[] })._pendingQueue;
      if (Array.isArray(queue)) {
        const push = queue.push;
        queue.push = (...items: unknown[]): number => {
          const candidate = state.override;
          if (candidate) for (const item of items) if (typeof item === 'object' && item) queued.set(item, candidate);
          return push.apply(queue, items);
        };
      }
      state.probe = (candidate) => void this.#probe(candidate);
      // pg-pool removes its 'error' listener from a client as it hands it out; with a callback, its
      // own query() attaches one in the same tick. This pool hands clients out through promises
      // (retries, probes), so a client the server ends in between (an admin command, a failover,
      // often in the same socket read as the last query's end) would raise an uncaught 'error'.
      // It carries a listener of ours until the caller has it; #connect replaces a lost one.
      this.on('acquire', (client: pg.PoolClient) => {
        if (guards.has(client)) return;
        const guard: Guard = { listener: (error: Error) => void (guard.lost ??= error) };
        guards.set(client, guard);
        client.on('error', guard.listener);
      });
      this.on('release', (_error: unknown, client: pg.PoolClient) => void unguard(client));
    }

    credentialStats(): PgCredentialStats {
      const { logins, refused, retired } = state.counts;
      return { logins: { ...logins }, refused, retired, ...creds.stats() };
    }

    credentialHealth(): PgCredentialHealth {
      return state.health();
    }

    onCredentialsRejected(listener: (rejected: PgRejectedVersion) => void): () => void {
      state.listeners.add(listener);
      return () => void state.listeners.delete(listener);
    }

    /** pg-pool's (undocumented) client factory: builds the client of a queued item with that item's candidate. */
    newClient(pendingItem: object): void {
      const build = (pg.Pool.prototype as unknown as { newClient: (item: object) => void }).newClient;
      const candidate = queued.get(pendingItem);
      if (!candidate || state.override) return build.call(this, pendingItem);
      state.override = candidate;
      try {
        return build.call(this, pendingItem);
      } finally {
        state.override = undefined;
      }
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
      // retires it) once the serving version has logged in. If it has not yet, one probe login tries
      // it first (this checkout waits for it): refused, the old connection serves on. Bounded,
      // because every retired one makes room for a new login.
      let probed = false;
      for (let i = 0; ; i++) {
        const client = await this.#checkout();
        const version = (client as unknown as { secretVersion?: string }).secretVersion;
        let verdict = state.verdict(version);
        if (verdict === 'unproven' && !probed) {
          probed = true;
          await this.#probe(state.choose());
          verdict = state.verdict(version);
        }
        // The server ended it while it was on its way here: drop it (pg-pool removes it), take another.
        const lost = unguard(client);
        if (lost) {
          client.release(lost);
          continue;
        }
        if (i >= (this.options.max ?? 10) || verdict !== 'retire') return client;
        client.release();
      }
    }

    /** A checkout whose new client (if pg-pool builds one) logs in with `candidate`. */
    #with(candidate: SecretCandidate<unknown>): Promise<pg.PoolClient> {
      state.override = candidate;
      try {
        return super.connect();
      } finally {
        state.override = undefined;
      }
    }

    async #checkout(): Promise<pg.PoolClient> {
      try {
        return await super.connect();
      } catch (error) {
        if (!isRetryable(error)) throw error;
        let first = failedCandidate.get(error as object) ?? creds.current();
        let firstError = error;
        const tried: TriedVersion[] = [{ name: first.name, version: first.version }];
        const started = performance.now();
        // A version that never logged in here was refused (or is not credentials) while another one
        // did: serve on with that one instead of waiting for a version that may never come.
        const good = state.lastGood;
        if (good && versionKey(good) !== versionKey(first) && state.isProven(good)) {
          tried.push({ name: good.name, version: good.version });
          try {
            return await this.#with(good);
          } catch (again) {
            if (!isRetryable(again)) throw again;
            first = failedCandidate.get(again as object) ?? good;
            firstError = again;
          }
        }
        try {
          return await creds.run(
            (candidate) => {
              tried.push({ name: candidate.name, version: candidate.version });
              return this.#with(candidate);
            },
            { candidate: first, error: firstError },
          );
        } catch (last) {
          if (!isPgLoginFailure(last)) throw last;
          throw new DatabaseLoginError(
            name,
            String((last as { code: string }).code),
            tried,
            performance.now() - started,
            refusal(last),
          );
        }
      }
    }

    /**
     * One login with a version no connection has used yet, outside the pool (it closes at once):
     * until it succeeds, connections of the older version keep serving. One at a time per version,
     * at most one every 5 s, each bounded by `connectionTimeoutMillis` (or 5 s). Only the first probe
     * of a version holds checkouts, and for that same bound from its start: a login that hangs (a
     * host that never answers) must not delay every query, and later probes run in the background.
     */
    #probe(candidate: SecretCandidate<unknown>): Promise<void> {
      const key = versionKey(candidate);
      const bound = this.options.connectionTimeoutMillis || 5_000;
      const now = performance.now();
      const seen = probedAt.get(key);
      if (!probes.has(key) && !this.ending && now - (seen?.last ?? -Infinity) >= 5_000) {
        probedAt.delete(key);
        probedAt.set(key, { last: now, waitUntil: seen?.waitUntil ?? now + bound });
        // Bounded: the oldest versions go first (Map keeps insertion order).
        if (probedAt.size > 64) probedAt.delete(probedAt.keys().next().value as string);
        state.override = candidate;
        let client: pg.Client;
        try {
          client = new Client({ ...this.options, connectionTimeoutMillis: bound } as pg.ClientConfig);
        } finally {
          state.override = undefined;
        }
        client.on('error', noop);
        const end = (): Promise<void> => client.end().catch(noop);
        const running = client
          .connect()
          .then(end, end)
          .finally(() => probes.delete(key));
        probes.set(key, { running, client });
      }
      const running = probes.get(key)?.running;
      const wait = (probedAt.get(key)?.waitUntil ?? 0) - now;
      if (!running || wait <= 0) return Promise.resolve();
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([running, new Promise<void>((resolve) => (timer = setTimeout(resolve, wait)))]).finally(() =>
        clearTimeout(timer),
      );
    }

    /** Ends the pool, and any probe login still in flight (its socket would keep the process alive). */
    override end(): Promise<void>;
    override end(callback: () => void): void;
    override end(callback?: () => void): Promise<void> | void {
      for (const { client } of probes.values()) {
        (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
      }
      return callback ? super.end(callback) : super.end();
    }

    override toString(): string {
      return `HushPgPool(${name})`;
    }

    /** pg's own printout lists every client with its username (and, with `showHidden`, its password). */
    [inspect.custom](): string {
      return `HushPgPool(${name}) { total: ${this.totalCount}, idle: ${this.idleCount}, waiting: ${this.waitingCount} }`;
    }
  }
  return new Pool();
}

/** Errors after which another version is worth trying: a refused login, or a version that is not credentials. */
function isRetryable(error: unknown): boolean {
  return isPgLoginFailure(error) || error instanceof DatabaseCredentialsError;
}

/**
 * pg's login error with only its SQLSTATE, severity and routine: its message names the user
 * (`password authentication failed for user "…"`) and would print through `util.inspect`, loggers'
 * error serializers and `console.error` of the `DatabaseLoginError` that carries it.
 */
function refusal(error: unknown): Error {
  const e = error as { code?: string; severity?: string; routine?: string };
  const cause = new Error(`PostgreSQL refused the login (SQLSTATE ${String(e.code)}).`);
  cause.name = 'PgLoginRefused';
  Object.assign(cause, {
    code: e.code,
    ...(typeof e.severity === 'string' && { severity: e.severity }),
    ...(typeof e.routine === 'string' && { routine: e.routine }),
  });
  cause.stack = `${cause.name}: ${cause.message}`;
  return cause;
}

const versionKey = (c: SecretCandidate<unknown>): string => c.version ?? '';

/**
 * What the pool knows about the versions it has seen: which ones logged in, which one last did,
 * which ones were set aside and why. Every decision (the candidate of a new client, retiring a
 * connection, health) is computed here from that state.
 */
class LoginState {
  readonly counts = { logins: {} as Record<string, number>, refused: 0, retired: 0 };
  /** The candidate the client being built must use (a retry, a probe); read synchronously by its constructor. */
  override: SecretCandidate<unknown> | undefined;
  /** The last candidate a login succeeded with (before any: the one checked at creation). */
  lastGood: SecretCandidate<unknown> | undefined;
  readonly listeners = new Set<(rejected: PgRejectedVersion) => void>();
  probe: (candidate: SecretCandidate<unknown>) => void = noop;
  readonly #proven = new Set<string>();
  /** Versions that logged in at least once (bounded): their refusal is a rotation, not a rejection. */
  readonly #seen = new Set<string>();
  readonly #rejected = new Map<string, PgRejectedVersion>();
  readonly #parsed = new WeakMap<object, DatabaseCredentials | DatabaseCredentialsError>();

  constructor(
    readonly creds: RefreshOnFailure<unknown>,
    readonly map: CredentialsMapper | undefined,
  ) {}

  /** Checks the value at creation: throws its DatabaseCredentialsError there, and remembers it as the fallback. */
  seed(candidate: SecretCandidate<unknown>): void {
    const login = this.login(candidate);
    if (login instanceof DatabaseCredentialsError) throw login;
    this.lastGood = candidate;
  }

  /**
   * The credentials of a candidate, parsed once per value. A value that is not credentials is set
   * aside (returned as its error, never thrown: this runs inside pg's callbacks).
   */
  login(candidate: SecretCandidate<unknown>): DatabaseCredentials | DatabaseCredentialsError {
    const key = candidate.value;
    const cacheable = typeof key === 'object' && key !== null;
    const cached = cacheable ? this.#parsed.get(key) : undefined;
    if (cached) return cached;
    let out: DatabaseCredentials | DatabaseCredentialsError;
    try {
      out = rdsCredentials(candidate.name, candidate.value, this.map);
    } catch (error) {
      // A user's `map` may throw anything; its message may quote the value, so only its class is kept.
      out =
        error instanceof DatabaseCredentialsError
          ? error
          : new DatabaseCredentialsError(candidate.name, '(map)', `threw ${safeName(error)}`);
      this.#reject(candidate, { reason: 'invalid', code: out.code, field: out.field });
    }
    if (cacheable) this.#parsed.set(key, out);
    return out;
  }

  /** The candidate a new connection uses: the current one, unless it was set aside and another one logged in. */
  choose(): SecretCandidate<unknown> {
    const current = this.creds.current();
    const good = this.lastGood;
    if (!good || versionKey(good) === versionKey(current)) return current;
    if (this.#rejected.has(versionKey(current))) return good;
    return this.login(current) instanceof DatabaseCredentialsError ? good : current;
  }

  isProven(candidate: SecretCandidate<unknown>): boolean {
    return this.#proven.has(versionKey(candidate));
  }

  /**
   * What becomes of a connection opened with `version`: `keep` (it is the serving version),
   * `retire` (a login with the serving version has succeeded), `unproven` (not yet: it keeps
   * serving while a probe login tries the serving version).
   */
  verdict(version: string | undefined): 'keep' | 'retire' | 'unproven' {
    const serving = this.choose();
    if ((version ?? '') === versionKey(serving)) return 'keep';
    return this.isProven(serving) ? 'retire' : 'unproven';
  }

  succeeded(candidate: SecretCandidate<unknown>): void {
    this.counts.logins[candidate.name] = (this.counts.logins[candidate.name] ?? 0) + 1;
    this.lastGood = candidate;
    const key = versionKey(candidate);
    this.#proven.add(key);
    this.#rejected.delete(key);
    if (!this.#seen.has(key)) {
      this.#seen.add(key);
      if (this.#seen.size > 64) this.#seen.delete(this.#seen.values().next().value as string);
    }
  }

  refused(candidate: SecretCandidate<unknown>, error: unknown): void {
    this.counts.refused++;
    // A version that worked and now is refused has been rotated away; one that never worked is set aside.
    this.#proven.delete(versionKey(candidate));
    if (this.#seen.has(versionKey(candidate))) return;
    this.#reject(candidate, { reason: 'refused', code: String((error as { code?: unknown }).code) });
  }

  health(): PgCredentialHealth {
    const serving = this.choose();
    const current = this.creds.current();
    const rejected = versionKey(serving) === versionKey(current) ? undefined : this.#rejected.get(versionKey(current));
    return {
      status: rejected ? 'degraded' : 'ok',
      serving: { name: serving.name, version: serving.version?.slice(0, 8) },
      proven: this.isProven(serving),
      ...(rejected && { rejected }),
    };
  }

  #reject(candidate: SecretCandidate<unknown>, why: Pick<PgRejectedVersion, 'reason' | 'code' | 'field'>): void {
    const key = versionKey(candidate);
    if (this.#rejected.has(key)) return;
    const rejected: PgRejectedVersion = Object.freeze({
      name: candidate.name,
      version: candidate.version?.slice(0, 8),
      reason: why.reason,
      code: why.code,
      ...(why.field !== undefined && { field: why.field }),
    });
    this.#rejected.set(key, rejected);
    // Bounded: the oldest entries go first (Map keeps insertion order).
    if (this.#rejected.size > 16) this.#rejected.delete(this.#rejected.keys().next().value as string);
    for (const listener of this.listeners) {
      try {
        listener(rejected);
      } catch {
        // A throwing listener must not break the login path it runs in.
      }
    }
  }
}

function safeName(error: unknown): string {
  const n = (error as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  return typeof n === 'string' && /^\w{1,64}$/.test(n) ? n : 'an error';
}

/** Which candidate a refused login used (the pool sees only the error). */
const failedCandidate = new WeakMap<object, SecretCandidate<unknown>>();

type ReleaseFn = (release?: unknown) => void;

/** An 'error' listener on a client being handed out, and the error it caught. */
interface Guard {
  readonly listener: (error: Error) => void;
  lost?: Error;
}

function clientClass(state: LoginState): typeof pg.Client {
  return class HushPgClient extends pg.Client {
    /** The VersionId this connection logged in with. */
    declare readonly secretVersion: string | undefined;
    #candidate: SecretCandidate<unknown>;
    #invalid: DatabaseCredentialsError | undefined;
    #release: ReleaseFn | undefined;

    constructor(config: pg.ClientConfig) {
      // Never throws: pg-pool may build a client inside a socket callback, where a throw kills the process.
      const candidate = state.override ?? state.choose();
      const login = state.login(candidate);
      if (login instanceof DatabaseCredentialsError) {
        super(config);
        this.#invalid = login;
      } else {
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
      }
      this.#candidate = candidate;
      Object.defineProperty(this, 'secretVersion', { value: candidate.version, enumerable: false });
    }

    override connect(): Promise<pg.Client>;
    override connect(callback: ((err: Error) => void) | ((err: null, c: pg.Client) => void)): void;
    override connect(
      callback?: ((err: Error) => void) | ((err: null, c: pg.Client) => void),
    ): Promise<pg.Client> | void {
      const note = (error: Error | undefined): void => {
        if (!error) state.succeeded(this.#candidate);
        else if (isPgLoginFailure(error)) {
          state.refused(this.#candidate, error);
          failedCandidate.set(error, this.#candidate);
        } else if (error instanceof DatabaseCredentialsError) failedCandidate.set(error, this.#candidate);
      };
      const invalid = this.#invalid;
      if (invalid) {
        // No login is tried with a value that is not credentials: the caller gets the typed error.
        note(invalid);
        if (!callback) return Promise.reject(invalid);
        process.nextTick(() => (callback as (err: Error) => void)(invalid));
        return;
      }
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
        const verdict = release ? 'keep' : state.verdict(this.#candidate.version);
        if (verdict === 'retire') {
          state.counts.retired++;
          return poolRelease?.(true);
        }
        if (verdict === 'unproven') state.probe(state.choose());
        return poolRelease?.(release);
      };
    }

    set release(fn: ReleaseFn) {
      this.#release = fn;
    }

    /** pg's own printout shows the username (and, with `showHidden`, the password): name and version only. */
    [inspect.custom](): string {
      return `HushPgClient(${this.#candidate.name}@${this.#candidate.version?.slice(0, 8) ?? 'unknown'})`;
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

/** The last login of each (store, declared name) that parsed: what pgConnectionConfig serves while a newer one does not. */
const lastConfigs = new WeakMap<AnySecretStore, Map<string, PgConnectionConfig>>();

/**
 * The current login of secret `name` as `pg` connection fields (`user`, `password`, `host`, `port`,
 * `database`), read from the store now: synchronous, no I/O. For drivers that build connections
 * themselves and accept a per-connection config function (Knex's `connection: () => …`). Unlike
 * {@link createPgPool} it cannot retry a refused login: it only ever sees the store's current value.
 * A version that is not usable credentials (no `password`, a bad `port`) is set aside: the last
 * login that was returns instead (the first call still throws, naming the secret and the field).
 *
 * @example
 * knex({ client: 'pg', connection: () => pgConnectionConfig(store, 'db') });
 */
export function pgConnectionConfig(
  store: AnySecretStore,
  name: string,
  options: { readonly map?: CredentialsMapper } = {},
): PgConnectionConfig {
  let login: DatabaseCredentials;
  try {
    login = rdsCredentials(name, store.get(name), options.map);
  } catch (error) {
    const kept = lastConfigs.get(store)?.get(name);
    if (kept && error instanceof DatabaseCredentialsError) return { ...kept };
    throw error;
  }
  const config: PgConnectionConfig = {
    user: login.user,
    password: login.password,
    ...(login.host !== undefined && { host: login.host }),
    ...(login.port !== undefined && { port: login.port }),
    ...(login.database !== undefined && { database: login.database }),
  };
  let byName = lastConfigs.get(store);
  if (!byName) lastConfigs.set(store, (byName = new Map()));
  byName.set(name, config);
  return config;
}
