/**
 * A HashiCorp Vault emulator: Vault's HTTP API (`/v1/...`) on its own server, for tests of Vault
 * clients. Request handling follows `openbao/openbao` `internal/http/handler.go` and `logical.go`
 * (`{"errors":[...]}` bodies, 204 for empty responses, `X-Vault-Token`, `X-Vault-Namespace`),
 * `internal/http/sys_health.go`, `sys_seal.go`. See the README's "Vault mode" for what is covered.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { clearInterval, setInterval } from 'node:timers';
import { TokenBucket, type ThrottleLimit } from '../faults';
import { delay, listen, readBody, trackSockets } from '../http';
import { toMs, type Duration } from '../schedule';
import type { LoggerLike } from '../emulator';
import { badRequest, calculateTtl, isoTime, parseVaultDuration, permissionDenied, seconds, VaultError } from './common';
import {
  DEFAULT_CREATION_STATEMENT,
  PostgresPlugin,
  pgExpiration,
  vaultPassword,
  vaultUsername,
  type VaultDatabaseConnection,
  type VaultDatabaseRole,
  type VaultDatabaseStaticRole,
} from './database';
import { KvMount } from './kv';
import { authJson, lookupJson, TokenStore, type VaultToken } from './tokens';
import { verifyAwsIamLogin, type VaultAwsCredential } from './aws-iam';

export type { VaultDatabaseConnection, VaultDatabaseRole, VaultDatabaseStaticRole } from './database';
export type { VaultAwsCredential } from './aws-iam';

/** Token settings of an auth role (`token_ttl`, `token_max_ttl`, `token_period`, `token_policies`). */
export interface VaultTokenSettings {
  readonly policies?: readonly string[];
  /** ms or a duration string. @default the system default lease TTL */
  readonly tokenTtl?: Duration;
  readonly tokenMaxTtl?: Duration;
  readonly tokenPeriod?: Duration;
}

/** An AppRole (`auth/approle/role/<name>`). */
export interface VaultAppRole extends VaultTokenSettings {
  readonly roleId: string;
  readonly secretIds: readonly string[];
}

/** A Kubernetes auth role: the service-account JWTs it accepts (instead of a TokenReview). */
export interface VaultKubernetesRole extends VaultTokenSettings {
  readonly jwts: readonly string[];
}

/** An AWS auth role (iam method): the IAM principal ARNs it accepts (`bound_iam_principal_arn`). */
export interface VaultAwsRole extends VaultTokenSettings {
  readonly boundIamPrincipalArns: readonly string[];
}

/** Options of {@link startVaultEmulator}. */
export interface VaultEmulatorOptions {
  /** @default 0 (a free port) */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** The root token's id. @default a random `hvs.` token (see {@link VaultEmulator.rootToken}) */
  readonly rootToken?: string;
  /** The unseal key `sys/unseal` accepts. @default random (see {@link VaultEmulator.unsealKey}) */
  readonly unsealKey?: string;
  /** Mount paths of KV version 2 engines. @default ['secret'] */
  readonly kvMounts?: readonly string[];
  /** KV v2 data of the root namespace by `<mount>/<path>`, e.g. `{ 'secret/app/db': { password: 'x' } }`. */
  readonly kv?: Readonly<Record<string, Record<string, unknown>>>;
  /** The system (and mounts') `default_lease_ttl`. @default '768h' */
  readonly defaultLeaseTtl?: Duration;
  /** The system (and mounts') `max_lease_ttl`: caps every lease and token. @default '768h' */
  readonly maxLeaseTtl?: Duration;
  readonly appRoles?: Readonly<Record<string, VaultAppRole>>;
  readonly kubernetesRoles?: Readonly<Record<string, VaultKubernetesRole>>;
  readonly awsRoles?: Readonly<Record<string, VaultAwsRole>>;
  /** AWS access keys whose SigV4 signatures `auth/aws/login` accepts, and the ARN each stands for. */
  readonly awsCredentials?: readonly VaultAwsCredential[];
  /** The database secrets engine at `database/` (PostgreSQL through `pg`). */
  readonly database?: {
    readonly connection: VaultDatabaseConnection;
    readonly roles?: Readonly<Record<string, VaultDatabaseRole>>;
    readonly staticRoles?: Readonly<Record<string, VaultDatabaseStaticRole>>;
  };
  /**
   * ACL policies by name: path patterns (Vault's glob: a trailing `*` matches any suffix, `+` one
   * segment), each granting every capability on matching paths. When given, a token may use a path
   * only through one of its policies: `root` allows all, `default` allows Vault's default-policy
   * paths (`auth/token/lookup-self`, `renew-self`, `revoke-self`, `sys/leases/renew`,
   * `sys/leases/lookup`, `sys/renew`); anything else is 403 `permission denied`.
   * @default no ACL: any live token may use any path
   */
  readonly policies?: Readonly<Record<string, readonly string[]>>;
  /** A rate limit quota over every `/v1` request (429 beyond it). */
  readonly rateLimit?: ThrottleLimit;
  /** @default false */
  readonly logger?: LoggerLike | false;
}

/** A fault for requests whose path (after `/v1/`) starts with `path`. */
export interface VaultFault {
  /** Path prefix, e.g. `'sys/leases/renew'`, `'database/creds/'`. @default every path */
  readonly path?: string;
  /** @default every method */
  readonly method?: string;
  /** HTTP status to answer with (`{"errors":[...]}`). */
  readonly status?: number;
  /** @default a message typical of the status */
  readonly errors?: readonly string[];
  /** @default Infinity */
  readonly times?: number;
  readonly latencyMs?: number;
  /** Never answer (until close). */
  readonly hang?: boolean;
}

/** A lease as the emulator keeps it (`leaseEntry` in expiration.go). */
export interface VaultLease {
  readonly id: string;
  readonly path: string;
  readonly namespace: string;
  readonly tokenId: string;
  readonly issueTime: number;
  expireTime: number;
  lastRenewal: number | undefined;
  /** The role's `default_ttl` / `max_ttl`, ms (0 = the mount's). */
  readonly backendTtl: number;
  readonly backendMaxTtl: number;
  readonly role: string;
  readonly username: string;
  revokeError?: string;
  /** After a failed revocation: not retried before this (real time, doubling up to 1 min). */
  retryAt?: number;
  failures?: number;
}

interface DbRole {
  creation: string[];
  revocation: string[];
  renew: string[];
  defaultTtl: number;
  maxTtl: number;
}

interface StaticRoleState {
  username: string;
  password: string;
  rotationPeriod: number;
  statements: string[];
  lastRotation: number;
}

type Reply = { status: number; body?: Record<string, unknown>; headers?: Record<string, string> };

const SEALED = 'Vault is sealed';
const VERSION = '1.17.0';

/**
 * Starts a Vault emulator on its own HTTP server and resolves once it listens.
 *
 * @example
 * const vault = await startVaultEmulator({ kv: { 'secret/app': { password: 'x' } } });
 * await fetch(`${vault.url}/v1/secret/data/app`, { headers: { 'X-Vault-Token': vault.rootToken } });
 */
export async function startVaultEmulator(options: VaultEmulatorOptions = {}): Promise<VaultEmulator> {
  const emu = new VaultEmulator(options);
  await emu.start();
  return emu;
}

/** A running Vault emulator. Create one with {@link startVaultEmulator}. */
export class VaultEmulator {
  /** The root token (policy `root`, no TTL). */
  readonly rootToken: string;
  /** The key `sys/unseal` accepts (one share, threshold 1). */
  readonly unsealKey: string;
  private readonly server: Server;
  private readonly sockets: Set<Socket>;
  private readonly hangs = new Set<() => void>();
  private readonly logger: LoggerLike;
  private readonly tokens: TokenStore;
  private readonly kvMounts: ReadonlySet<string>;
  private readonly kv = new Map<string, KvMount>();
  private readonly leases = new Map<string, VaultLease>();
  private readonly dbRoles = new Map<string, DbRole>();
  private readonly staticRoles = new Map<string, StaticRoleState>();
  private readonly plugin: PostgresPlugin | undefined;
  private readonly sysMaxTtl: number;
  private readonly sysDefaultTtl: number;
  private faults: (VaultFault & { id: string; remaining: number })[] = [];
  private faultSeq = 0;
  private bucket: TokenBucket | undefined;
  private clockOffset = 0;
  private counts: Record<string, number> = {};
  private total = 0;
  private isSealed = false;
  private listening = false;
  private boundPort: number;
  private timer: ReturnType<typeof setInterval> | undefined;
  private sweeping: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  /** @internal use {@link startVaultEmulator} */
  constructor(private readonly options: VaultEmulatorOptions = {}) {
    this.logger = options.logger || {};
    this.rootToken = options.rootToken ?? `hvs.${randomBytes(12).toString('hex')}`;
    this.unsealKey = options.unsealKey ?? randomBytes(32).toString('base64');
    this.sysMaxTtl = toMs(options.maxLeaseTtl ?? '768h', 'maxLeaseTtl');
    this.sysDefaultTtl = Math.min(toMs(options.defaultLeaseTtl ?? '768h', 'defaultLeaseTtl'), this.sysMaxTtl);
    const sys = { sysMaxTtl: this.sysMaxTtl, sysDefaultTtl: this.sysDefaultTtl };
    this.tokens = new TokenStore(() => this.now(), sys);
    this.tokens.addRoot(this.rootToken);
    this.kvMounts = new Set(options.kvMounts ?? ['secret']);
    for (const [key, data] of Object.entries(options.kv ?? {})) {
      const slash = key.indexOf('/');
      this.kvPut(key.slice(0, slash), key.slice(slash + 1), data);
    }
    if (options.database) {
      this.plugin = new PostgresPlugin(options.database.connection);
      for (const [name, role] of Object.entries(options.database.roles ?? {})) this.setDatabaseRole(name, role);
    }
    if (options.rateLimit) this.setRateLimit(options.rateLimit);
    this.boundPort = options.port ?? 0;
    this.server = createServer((req, res) => void this.onRequest(req, res));
    this.sockets = trackSockets(this.server);
  }

  /** Base URL, e.g. `http://127.0.0.1:8200` (Vault's `VAULT_ADDR`). */
  get url(): string {
    const host = this.options.host ?? '127.0.0.1';
    return `http://${host.includes(':') ? `[${host}]` : host}:${this.boundPort}`;
  }

  get port(): number {
    return this.boundPort;
  }

  /** Listens (on the same port when restarted); the first start also sets the static roles' passwords. */
  async start(): Promise<void> {
    if (this.closing) throw new Error('The Vault emulator is closed; start a new one with startVaultEmulator().');
    if (this.listening) return;
    for (const [name, role] of Object.entries(this.options.database?.staticRoles ?? {})) {
      if (!this.staticRoles.has(name)) await this.createStaticRole(name, role);
    }
    this.boundPort = await listen(this.server, this.boundPort, this.options.host ?? '127.0.0.1');
    this.listening = true;
    this.timer ??= setInterval(() => void this.sweep(), 50).unref();
    this.logger.info?.(`Vault emulator listening on ${this.url}`);
  }

  /** Stops listening and drops connections (an outage); {@link start} listens again on the same port. */
  async stop(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const release of this.hangs) release();
    this.hangs.clear();
    for (const s of this.sockets) s.destroy();
    await closed;
    await delay(25);
  }

  /** Closes the server. Leases are left as they are (the database roles stay). Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      await this.stop();
      await this.sweeping;
    })();
    return this.closing;
  }

  // ---- clock, seal, faults, counts ---------------------------------------------------------------

  /** The emulator clock (epoch ms): real time plus {@link advanceClock}. */
  now(): number {
    return Date.now() + this.clockOffset;
  }

  /** Moves the clock forward, then expires (revokes) every token and lease that became due. */
  async advanceClock(by: Duration): Promise<void> {
    this.clockOffset += toMs(by, 'advanceClock');
    await this.sweep();
  }

  get sealed(): boolean {
    return this.isSealed;
  }

  /** Seals (every `/v1` request but health, seal-status and unseal answers 503 "Vault is sealed"). */
  seal(): void {
    this.isSealed = true;
  }

  unseal(): void {
    this.isSealed = false;
  }

  /** Adds a fault; returns its id. */
  injectFault(fault: VaultFault): string {
    if (fault.status === undefined && !fault.hang && fault.latencyMs === undefined) {
      throw new TypeError('injectFault: give at least one of status, hang or latencyMs.');
    }
    const id = `fault-${++this.faultSeq}`;
    this.faults.push({ ...fault, id, remaining: fault.times ?? Infinity });
    return id;
  }

  clearFaults(id?: string): void {
    this.faults = id === undefined ? [] : this.faults.filter((f) => f.id !== id);
  }

  /** A rate limit quota over every `/v1` request; `null` removes it. */
  setRateLimit(limit: ThrottleLimit | null): void {
    this.bucket = limit ? new TokenBucket(limit.ratePerSecond, limit.burst) : undefined;
  }

  /** Requests per `METHOD path` (path after `/v1/`), and `total`. */
  calls(): Record<string, number> & { total: number } {
    return { ...this.counts, total: this.total };
  }

  resetCalls(): void {
    this.counts = {};
    this.total = 0;
  }

  // ---- programmatic data -----------------------------------------------------------------------

  /** Writes a KV v2 version (like `POST /v1/<mount>/data/<path>`); returns the version number. */
  kvPut(mount: string, path: string, data: Record<string, unknown>, opts: { namespace?: string } = {}): number {
    return this.kvMount(opts.namespace ?? '', mount).write(path, data, undefined).version as number;
  }

  /** Configures (or replaces) a dynamic database role. */
  setDatabaseRole(name: string, role: VaultDatabaseRole): void {
    const creation = role.creationStatements
      ? [...role.creationStatements]
      : [DEFAULT_CREATION_STATEMENT, ...(role.grants ?? [])];
    this.dbRoles.set(name, {
      creation,
      revocation: [...(role.revocationStatements ?? [])],
      renew: [...(role.renewStatements ?? [])],
      defaultTtl: role.defaultTtl === undefined ? 0 : durationOption(role.defaultTtl, 'defaultTtl'),
      maxTtl: role.maxTtl === undefined ? 0 : durationOption(role.maxTtl, 'maxTtl'),
    });
  }

  /** Live leases (not revoked), oldest first. */
  activeLeases(): VaultLease[] {
    return [...this.leases.values()].map((l) => ({ ...l }));
  }

  /** Revokes the token (its child tokens and every lease they hold), as `auth/token/revoke`. */
  async revokeToken(id: string): Promise<void> {
    const removed = this.tokens.remove(id);
    const ids = new Set(removed.map((t) => t.id));
    await Promise.all([...this.leases.values()].filter((l) => ids.has(l.tokenId)).map((l) => this.revokeLease(l)));
  }

  /** Rotates a static role's password now (`database/rotate-role/<name>`). */
  async rotateStaticRole(name: string): Promise<void> {
    const role = this.staticRoles.get(name);
    if (!role) throw badRequest('no static role found for role name');
    const password = vaultPassword();
    await this.plugin!.setPassword(role.statements, role.username, password);
    role.password = password;
    role.lastRotation = this.now();
  }

  // ---- request handling ------------------------------------------------------------------------

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://vault');
    let raw: Buffer;
    try {
      raw = await readBody(req);
    } catch {
      send(res, { status: 413, body: { errors: ['request body too large'] } });
      return;
    }
    if (url.pathname.startsWith('/_emulator/')) {
      send(res, this.control(method, url.pathname.slice('/_emulator/'.length), raw));
      return;
    }
    let reply: Reply;
    if (!url.pathname.startsWith('/v1/')) {
      reply = { status: 404, body: { errors: [] } };
    } else {
      // Vault routes on the decoded path (Go's url.URL.Path): `secret/data/caf%C3%A9` is `secret/data/café`.
      let path: string | undefined;
      try {
        path = decodeURIComponent(url.pathname.slice(4)).replace(/\/+$/, '');
      } catch {
        path = undefined;
      }
      if (path === undefined) {
        reply = { status: 400, body: { errors: ['invalid URL escape in the request path'] } };
      } else {
        this.total += 1;
        const key = `${method} ${path}`;
        this.counts[key] = (this.counts[key] ?? 0) + 1;
        reply = await this.handleV1(req, method, path, url.searchParams, raw);
        this.logger.debug?.(`vault ${method} ${url.pathname} -> ${reply.status}`);
      }
    }
    if (reply.status === 0) return; // hung
    send(res, reply);
  }

  private async handleV1(
    req: IncomingMessage,
    method: string,
    path: string,
    query: URLSearchParams,
    raw: Buffer,
  ): Promise<Reply> {
    try {
      // Unauthenticated sys paths that answer while sealed (handler.go: handleSysHealth, handleSysSealStatus, handleSysUnseal).
      if (path === 'sys/health') return this.health(query);
      if (path === 'sys/seal-status') return { status: 200, body: this.sealStatus() };
      const body = parseBody(raw);
      if (path === 'sys/unseal' && (method === 'PUT' || method === 'POST')) {
        if (body.reset === true) return { status: 200, body: this.sealStatus() };
        if (typeof body.key !== 'string' || !body.key)
          throw badRequest("'key' must be specified in request body as JSON, or 'reset' set to true");
        if (body.key !== this.unsealKey) throw badRequest('Unseal failed, invalid key');
        this.isSealed = false;
        return { status: 200, body: this.sealStatus() };
      }
      if (this.isSealed) throw new VaultError(503, SEALED);
      if (this.bucket && !this.bucket.tryTake()) {
        return {
          status: 429,
          body: { errors: [`request path "${path}": rate limit quota exceeded`] },
          headers: { 'Retry-After': '1' },
        };
      }
      const fault = this.matchFault(method, path);
      if (fault) {
        if (fault.latencyMs) await delay(fault.latencyMs);
        if (fault.hang) {
          await new Promise<void>((resolve) => this.hangs.add(resolve));
          return { status: 0 };
        }
        if (fault.status !== undefined) {
          return {
            status: fault.status,
            body: { errors: fault.errors ? [...fault.errors] : [defaultMessage(fault.status)] },
          };
        }
      }
      const ns = namespaceOf(req);
      if (method === 'PUT' || method === 'POST') {
        if (path === 'auth/approle/login') return this.login(this.appRoleLogin(ns, body));
        if (path === 'auth/kubernetes/login') return this.login(this.kubernetesLogin(ns, body));
        if (path === 'auth/aws/login') return this.login(this.awsLogin(ns, body));
      }
      const token = this.authenticate(req, ns);
      return await this.route(token, ns, method, path, query, body);
    } catch (err) {
      if (err instanceof VaultError) {
        // An error with a body is a full response with another status (`logical.RespondWithStatusCode`).
        return {
          status: err.status,
          body: err.body ? ok({ data: err.body }).body : { errors: err.message ? [err.message] : [] },
        };
      }
      this.logger.warn?.(`vault: internal error on /v1/${path}: ${(err as Error).message}`);
      return { status: 500, body: { errors: [`1 error occurred:\n\t* ${(err as Error).message}\n\n`] } };
    }
  }

  /** `X-Vault-Token` (or `Authorization: Bearer`); unknown, revoked, expired or foreign-namespace tokens are 403. */
  private authenticate(req: IncomingMessage, ns: string): VaultToken {
    const header = req.headers['x-vault-token'];
    let id = typeof header === 'string' ? header : undefined;
    const auth = req.headers.authorization;
    if (!id && typeof auth === 'string' && /^Bearer /i.test(auth)) id = auth.slice(7).trim();
    const token = id ? this.tokens.get(id) : undefined;
    if (!token) throw permissionDenied();
    // A namespace token works in its namespace and below; a root-namespace token everywhere.
    if (token.namespace && ns !== token.namespace && !ns.startsWith(`${token.namespace}/`)) throw permissionDenied();
    return token;
  }

  private async route(
    token: VaultToken,
    ns: string,
    method: string,
    path: string,
    query: URLSearchParams,
    body: Record<string, unknown>,
  ): Promise<Reply> {
    if (!this.allowed(token, path)) throw permissionDenied();
    const write = method === 'PUT' || method === 'POST';
    const read = method === 'GET';
    // ---- token store
    if (path === 'auth/token/lookup-self' && read) return ok({ data: lookupJson(token, this.now()) });
    if (path === 'auth/token/lookup' && write) {
      const t = typeof body.token === 'string' ? this.tokens.get(body.token) : undefined;
      if (!t) throw badRequest('bad token');
      return ok({ data: lookupJson(t, this.now()) });
    }
    if (path === 'auth/token/renew-self' && write) return this.renewToken(token, body.increment);
    if (path === 'auth/token/renew' && write) {
      const t = typeof body.token === 'string' ? this.tokens.get(body.token) : undefined;
      if (!t) throw badRequest('invalid lease ID');
      return this.renewToken(t, body.increment);
    }
    if (path === 'auth/token/revoke-self' && write) return (await this.revokeToken(token.id), { status: 204 });
    if (path === 'auth/token/revoke' && write) {
      if (typeof body.token === 'string') await this.revokeToken(body.token);
      return { status: 204 };
    }
    if ((path === 'auth/token/create' || path === 'auth/token/create-orphan') && write) {
      return this.createToken(token, ns, body, path === 'auth/token/create-orphan');
    }
    // ---- sys
    if (path === 'sys/seal' && write) {
      if (!token.policies.includes('root')) throw permissionDenied();
      this.isSealed = true;
      return { status: 204 };
    }
    const leaseOp = /^sys\/(?:leases\/)?(renew|revoke|lookup)(?:\/(.+))?$/.exec(path);
    if (leaseOp && write) {
      const leaseId = (typeof body.lease_id === 'string' && body.lease_id) || leaseOp[2] || '';
      if (!leaseId) throw badRequest('lease_id must be specified');
      if (leaseOp[1] === 'renew') return this.renewLease(ns, leaseId, body.increment);
      if (leaseOp[1] === 'lookup') return this.lookupLease(ns, leaseId);
      const lease = this.leases.get(leaseId);
      if (lease && lease.namespace === ns) await this.revokeLease(lease, true);
      return { status: 204 };
    }
    // ---- KV v2
    const slash = path.indexOf('/');
    const mount = slash < 0 ? path : path.slice(0, slash);
    if (this.kvMounts.has(mount)) return this.kvRoute(ns, mount, method, path.slice(mount.length + 1), query, body);
    // ---- database
    if (mount === 'database' && this.plugin)
      return this.databaseRoute(token, ns, method, path.slice('database/'.length), body);
    throw new VaultError(404, `no handler for route "${path}". route entry not found.`);
  }

  /** The ACL check of `options.policies` (see there); without it every live token passes. */
  private allowed(token: VaultToken, path: string): boolean {
    const acl = this.options.policies;
    if (!acl || token.policies.includes('root')) return true;
    return token.policies.some((name) => {
      const patterns = name === 'default' ? DEFAULT_POLICY_PATHS : Object.hasOwn(acl, name) ? acl[name]! : [];
      return patterns.some((pattern) => aclMatch(pattern, path));
    });
  }

  // ---- KV v2 -----------------------------------------------------------------------------------

  private kvMount(ns: string, mount: string): KvMount {
    const key = `${ns}\u0000${mount}`;
    let m = this.kv.get(key);
    if (!m) {
      m = new KvMount(() => this.now());
      this.kv.set(key, m);
    }
    return m;
  }

  private kvRoute(
    ns: string,
    mount: string,
    method: string,
    rest: string,
    query: URLSearchParams,
    body: Record<string, unknown>,
  ): Reply {
    const kv = this.kvMount(ns, mount);
    const op = rest.slice(0, rest.indexOf('/') < 0 ? rest.length : rest.indexOf('/'));
    const key = rest.slice(op.length + 1);
    const write = method === 'PUT' || method === 'POST';
    const kvOk = (data: Record<string, unknown>) => ok({ data, mount_type: 'kv' });
    if (op === 'data') {
      if (method === 'GET') {
        const version = query.get('version');
        return kvOk(kv.read(key, version ? Number(version) : 0));
      }
      if (write) return kvOk(kv.write(key, body.data, body.options));
      if (method === 'DELETE') return (kv.deleteLatest(key), { status: 204 });
    }
    if (op === 'metadata') {
      // `GET ?list=true` (Go's ParseBool); the LIST verb itself never gets here: Node's HTTP parser refuses unknown methods.
      if (method === 'GET' && /^(1|t|T|true|TRUE|True)$/.test(query.get('list') ?? '')) return kvOk(kv.list(key));
      if (method === 'GET') return kvOk(kv.metadata(key));
      if (write) return (kv.writeMetadata(key, body), { status: 204 });
      if (method === 'DELETE') return (kv.deleteMetadata(key), { status: 204 });
    }
    if (op === 'delete' && write) return (kv.setDeleted(key, body.versions, true), { status: 204 });
    if (op === 'undelete' && write) return (kv.setDeleted(key, body.versions, false), { status: 204 });
    if (op === 'destroy' && write) return (kv.destroy(key, body.versions), { status: 204 });
    throw new VaultError(405, 'unsupported operation');
  }

  // ---- tokens and logins -----------------------------------------------------------------------

  private login(token: VaultToken): Reply {
    return ok({ auth: authJson(token, token.creationTtl) });
  }

  private issue(
    ns: string,
    settings: VaultTokenSettings,
    displayName: string,
    path: string,
    meta: Record<string, string>,
  ): VaultToken {
    return this.tokens.create({
      namespace: ns,
      policies: ['default', ...(settings.policies ?? []).filter((p) => p !== 'default')],
      displayName,
      path,
      meta,
      backendTtl: settings.tokenTtl === undefined ? 0 : durationOption(settings.tokenTtl, 'tokenTtl'),
      backendMaxTtl: settings.tokenMaxTtl === undefined ? 0 : durationOption(settings.tokenMaxTtl, 'tokenMaxTtl'),
      period: settings.tokenPeriod === undefined ? 0 : durationOption(settings.tokenPeriod, 'tokenPeriod'),
    });
  }

  /** `builtin/credential/approle/path_login.go`: role_id and secret_id; any mismatch is "invalid role or secret ID" (the ids are never echoed). */
  private appRoleLogin(ns: string, body: Record<string, unknown>): VaultToken {
    const roleId = typeof body.role_id === 'string' ? body.role_id : '';
    if (!roleId) throw badRequest('missing role_id');
    const entry = Object.entries(this.options.appRoles ?? {}).find(([, r]) => r.roleId === roleId);
    if (!entry) throw badRequest('invalid role or secret ID');
    const secretId = typeof body.secret_id === 'string' ? body.secret_id : '';
    if (!secretId) throw badRequest('missing secret_id');
    const [name, role] = entry;
    if (!role.secretIds.includes(secretId)) throw badRequest('invalid role or secret ID');
    return this.issue(ns, role, 'approle', 'auth/approle/login', { role_name: name });
  }

  /**
   * `builtin/credential/kubernetes/path_login.go`: `role` and `jwt`. Instead of a TokenReview, the
   * JWT must be one the role lists; the service account's name and namespace are read from its
   * claims when it is a JWT (`kubernetes.io/serviceaccount/...` or `sub`).
   */
  private kubernetesLogin(ns: string, body: Record<string, unknown>): VaultToken {
    const roleName = typeof body.role === 'string' ? body.role : '';
    if (!roleName) throw badRequest('missing role');
    const jwt = typeof body.jwt === 'string' ? body.jwt : '';
    if (!jwt) throw badRequest('missing jwt');
    const role = Object.hasOwn(this.options.kubernetesRoles ?? {}, roleName)
      ? this.options.kubernetesRoles![roleName]
      : undefined;
    if (!role) throw badRequest(`invalid role name "${roleName}"`);
    if (!role.jwts.includes(jwt)) throw permissionDenied();
    const sa = serviceAccountOf(jwt);
    return this.issue(ns, role, `kubernetes-${sa.namespace}-${sa.name}`, 'auth/kubernetes/login', {
      role: roleName,
      service_account_name: sa.name,
      service_account_namespace: sa.namespace,
      service_account_uid: sa.uid,
      service_account_secret_name: '',
    });
  }

  /** `auth/aws/login` with the iam method: see aws-iam.ts for what is verified. */
  private awsLogin(ns: string, body: Record<string, unknown>): VaultToken {
    const roleName = typeof body.role === 'string' ? body.role : '';
    const { arn } = verifyAwsIamLogin(body, this.options.awsCredentials ?? [], this.now());
    const roles = this.options.awsRoles ?? {};
    const name = roleName || arn.split('/').pop() || '';
    const role = Object.hasOwn(roles, name) ? roles[name] : undefined;
    if (!role) throw badRequest(`entry for role ${name} not found`);
    const principal = arn.replace(/^arn:aws:sts::(\d+):assumed-role\/([^/]+)\/.*$/, 'arn:aws:iam::$1:role/$2');
    if (!role.boundIamPrincipalArns.some((bound) => globMatch(bound, principal) || globMatch(bound, arn))) {
      throw badRequest(`IAM Principal "${arn}" does not belong to the role "${name}"`);
    }
    const account = /^arn:aws:(?:sts|iam)::(\d+):/.exec(arn)?.[1] ?? '';
    return this.issue(ns, role, `aws-${arn}`, 'auth/aws/login', {
      account_id: account,
      auth_type: 'iam',
      canonical_arn: principal,
      client_arn: arn,
      role: name,
    });
  }

  /** `handleCreateCommon`: ttl, explicit_max_ttl, period, policies (a subset of the parent's unless root), renewable. */
  private createToken(parent: VaultToken, ns: string, body: Record<string, unknown>, orphan: boolean): Reply {
    const isRoot = parent.policies.includes('root');
    let policies = Array.isArray(body.policies) ? body.policies.map(String) : [...parent.policies];
    if (!isRoot && policies.some((p) => !parent.policies.includes(p) && p !== 'default')) {
      throw badRequest('child policies must be subset of parent');
    }
    if (body.no_default_policy !== true && !policies.includes('default') && !policies.includes('root')) {
      policies = [...policies, 'default'];
    }
    if (policies.includes('root') && !isRoot)
      throw badRequest('root or sudo privileges required to create periodic token');
    const ttl = parseVaultDuration(body.ttl, 'ttl');
    const explicitMax = parseVaultDuration(body.explicit_max_ttl, 'explicit_max_ttl');
    const period = parseVaultDuration(body.period, 'period');
    const display = typeof body.display_name === 'string' && body.display_name ? `token-${body.display_name}` : 'token';
    const t = this.tokens.create({
      namespace: ns,
      policies,
      displayName: display.replace(/[^a-zA-Z0-9-]/g, '-'),
      path: orphan ? 'auth/token/create-orphan' : 'auth/token/create',
      meta: body.meta && typeof body.meta === 'object' ? (body.meta as Record<string, string>) : null,
      backendTtl: ttl,
      backendMaxTtl: 0,
      explicitMaxTtl: explicitMax,
      period,
      renewable: body.renewable !== false,
      ...(orphan || body.no_parent === true ? {} : { parent }),
    });
    return ok({ auth: authJson(t, t.creationTtl) });
  }

  private renewToken(t: VaultToken, incrementRaw: unknown): Reply {
    if (t.expireTime === undefined) return ok({ auth: authJson(t, 0) });
    if (!t.renewable) throw badRequest('lease is not renewable');
    const increment = parseVaultDuration(incrementRaw, 'increment');
    const ttl = this.tokens.renew(t, increment);
    const warnings = increment > 0 && ttl < increment ? [cappedWarning(increment, ttl)] : null;
    return ok({ auth: authJson(t, ttl), warnings });
  }

  // ---- leases ----------------------------------------------------------------------------------

  private leaseOf(ns: string, id: string): VaultLease {
    const lease = this.leases.get(id);
    if (!lease || lease.namespace !== ns) throw badRequest('lease not found');
    return lease;
  }

  /** `ExpirationManager.Renew` + `secretCredsRenew`: `CalculateTTL(increment, role default_ttl, 0, role max_ttl, 0, issue time)`. */
  private async renewLease(ns: string, id: string, incrementRaw: unknown): Promise<Reply> {
    const increment = parseVaultDuration(incrementRaw, 'increment');
    const lease = this.leaseOf(ns, id);
    const now = this.now();
    if (lease.expireTime <= now) throw badRequest('lease expired');
    const role = this.dbRoles.get(lease.role);
    if (!role) throw badRequest(`error during renew: could not find role with name "${lease.role}"`);
    const ttl = calculateTtl({
      now,
      increment,
      backendTtl: role.defaultTtl,
      period: 0,
      backendMaxTtl: role.maxTtl,
      explicitMaxTtl: 0,
      startTime: lease.issueTime,
      sysMaxTtl: this.sysMaxTtl,
      sysDefaultTtl: this.sysDefaultTtl,
    });
    await this.plugin!.renewUser(role.renew, lease.username, pgExpiration(now + ttl + 5000));
    lease.expireTime = now + ttl;
    lease.lastRenewal = now;
    const asked = increment > 0 ? increment : role.defaultTtl || this.sysDefaultTtl;
    return ok({
      lease_id: lease.id,
      renewable: true,
      lease_duration: seconds(ttl),
      warnings: ttl < asked ? [cappedWarning(asked, ttl)] : null,
    });
  }

  /** `handleLeaseLookup`. */
  private lookupLease(ns: string, id: string): Reply {
    const lease = this.leases.get(id);
    if (!lease || lease.namespace !== ns) throw badRequest('invalid lease');
    const now = this.now();
    return ok({
      data: {
        id: lease.id,
        issue_time: isoTime(lease.issueTime),
        expire_time: isoTime(lease.expireTime),
        last_renewal: lease.lastRenewal === undefined ? null : isoTime(lease.lastRenewal),
        renewable: lease.expireTime > now,
        ttl: seconds(lease.expireTime - now),
        path: lease.path,
        ...(lease.revokeError ? { revoke_error: lease.revokeError } : {}),
      },
    });
  }

  /** Runs the role's revocation and forgets the lease; a failure keeps it (with `revoke_error`) for the next sweep. */
  private async revokeLease(lease: VaultLease, throwOnError = false): Promise<void> {
    const role = this.dbRoles.get(lease.role);
    try {
      await this.plugin!.deleteUser(role?.revocation ?? [], lease.username);
      this.leases.delete(lease.id);
      delete lease.revokeError;
    } catch (err) {
      lease.revokeError = (err as Error).message;
      lease.failures = (lease.failures ?? 0) + 1;
      lease.retryAt = Date.now() + Math.min(60_000, 250 * 2 ** lease.failures);
      this.logger.warn?.(`vault: revocation of lease ${lease.id} failed: ${lease.revokeError}`);
      if (throwOnError) throw new VaultError(400, `failed to revoke lease: ${lease.revokeError}`);
    }
  }

  /** Revokes expired tokens (with their leases) and expired leases; rotates due static roles. */
  private sweep(): Promise<void> {
    this.sweeping ??= (async () => {
      try {
        for (const t of this.tokens.expired()) await this.revokeToken(t.id);
        const now = this.now();
        const due = [...this.leases.values()].filter((l) => l.expireTime <= now && (l.retryAt ?? 0) <= Date.now());
        await Promise.all(due.map((l) => this.revokeLease(l)));
        for (const [name, role] of this.staticRoles) {
          if (role.lastRotation + role.rotationPeriod > now) continue;
          await this.rotateStaticRole(name).catch((err: unknown) =>
            this.logger.warn?.(`vault: rotation of static role ${name} failed: ${(err as Error).message}`),
          );
        }
      } finally {
        this.sweeping = undefined;
      }
    })();
    return this.sweeping;
  }

  // ---- database engine -------------------------------------------------------------------------

  private async databaseRoute(
    token: VaultToken,
    ns: string,
    method: string,
    rest: string,
    body: Record<string, unknown>,
  ): Promise<Reply> {
    const [op, name = ''] = splitOnce(rest);
    const write = method === 'PUT' || method === 'POST';
    if (op === 'creds' && method === 'GET') return this.issueCreds(token, ns, name);
    if (op === 'static-creds' && method === 'GET') {
      const role = this.staticRoles.get(name);
      if (!role) throw badRequest(`unknown role: ${name}`);
      const next = role.lastRotation + role.rotationPeriod;
      return ok({
        data: {
          username: role.username,
          password: role.password,
          ttl: seconds(next - this.now()),
          rotation_period: seconds(role.rotationPeriod),
          last_vault_rotation: isoTime(role.lastRotation),
        },
      });
    }
    if (op === 'rotate-role' && write) return (await this.rotateStaticRole(name), { status: 204 });
    if (op === 'roles') {
      if (write) {
        const list = (v: unknown): string[] | undefined =>
          v === undefined ? undefined : Array.isArray(v) ? v.map(String) : [String(v)];
        this.setDatabaseRole(name, {
          creationStatements: list(body.creation_statements),
          revocationStatements: list(body.revocation_statements),
          renewStatements: list(body.renew_statements),
          defaultTtl: parseVaultDuration(body.default_ttl, 'default_ttl'),
          maxTtl: parseVaultDuration(body.max_ttl, 'max_ttl'),
        });
        if (!this.dbRoles.get(name)!.creation.length) throw badRequest('empty creation statements');
        return { status: 204 };
      }
      const role = this.dbRoles.get(name);
      if (method === 'DELETE') return (this.dbRoles.delete(name), { status: 204 });
      if (!role) throw new VaultError(404, '');
      return ok({
        data: {
          db_name: 'postgres',
          creation_statements: role.creation,
          revocation_statements: role.revocation,
          renew_statements: role.renew,
          rollback_statements: [],
          default_ttl: seconds(role.defaultTtl),
          max_ttl: seconds(role.maxTtl),
          credential_type: 'password',
        },
      });
    }
    throw new VaultError(404, `no handler for route "database/${rest}". route entry not found.`);
  }

  /** `pathCredsCreateRead`: a new PostgreSQL role valid until the lease's end (+5 s, as Vault). */
  private async issueCreds(token: VaultToken, ns: string, name: string): Promise<Reply> {
    const role = this.dbRoles.get(name);
    if (!role) throw badRequest(`unknown role: ${name}`);
    const now = this.now();
    const ttl = calculateTtl({
      now,
      increment: 0,
      backendTtl: role.defaultTtl,
      period: 0,
      backendMaxTtl: role.maxTtl,
      explicitMaxTtl: 0,
      startTime: now,
      sysMaxTtl: this.sysMaxTtl,
      sysDefaultTtl: this.sysDefaultTtl,
    });
    const username = vaultUsername(token.displayName, name, now);
    const password = vaultPassword();
    await this.plugin!.newUser(role.creation, {
      name: username,
      username,
      password,
      expiration: pgExpiration(now + ttl + 5000),
    });
    const lease: VaultLease = {
      id: `database/creds/${name}/${randomLeaseSuffix()}`,
      path: `database/creds/${name}`,
      namespace: ns,
      tokenId: token.id,
      issueTime: now,
      expireTime: now + ttl,
      lastRenewal: undefined,
      backendTtl: role.defaultTtl,
      backendMaxTtl: role.maxTtl,
      role: name,
      username,
    };
    this.leases.set(lease.id, lease);
    return ok({ lease_id: lease.id, renewable: true, lease_duration: seconds(ttl), data: { username, password } });
  }

  private async createStaticRole(name: string, role: VaultDatabaseStaticRole): Promise<void> {
    const period = durationOption(role.rotationPeriod, 'rotationPeriod');
    if (period < 5000)
      throw new RangeError(`Static role ${name}: rotationPeriod must be at least 5s (Vault's minimum).`);
    this.staticRoles.set(name, {
      username: role.username,
      password: '',
      rotationPeriod: period,
      statements: [...(role.rotationStatements ?? [])],
      lastRotation: this.now(),
    });
    await this.rotateStaticRole(name); // Vault rotates a static role's password when the role is created.
  }

  // ---- health, seal ----------------------------------------------------------------------------

  private health(query: URLSearchParams): Reply {
    const code = (name: string, fallback: number) => {
      const v = query.get(name);
      return v === null ? fallback : Number(v);
    };
    const status = this.isSealed ? code('sealedcode', 503) : code('activecode', 200);
    return {
      status,
      body: {
        initialized: true,
        sealed: this.isSealed,
        standby: this.isSealed,
        performance_standby: false,
        replication_performance_mode: 'disabled',
        replication_dr_mode: 'disabled',
        server_time_utc: Math.floor(this.now() / 1000),
        version: VERSION,
        enterprise: false,
        cluster_name: 'vault-emulator',
        cluster_id: 'e2c8d3a4-0000-4000-8000-000000000000',
        echo_duration_ms: 0,
        clock_skew_ms: 0,
      },
    };
  }

  private sealStatus(): Record<string, unknown> {
    return {
      type: 'shamir',
      initialized: true,
      sealed: this.isSealed,
      t: 1,
      n: 1,
      progress: 0,
      nonce: '',
      version: VERSION,
      build_date: '2024-06-10T10:11:34Z',
      migration: false,
      recovery_seal: false,
      storage_type: 'inmem',
      ...(this.isSealed ? {} : { cluster_name: 'vault-emulator', cluster_id: 'e2c8d3a4-0000-4000-8000-000000000000' }),
    };
  }

  private matchFault(method: string, path: string): VaultFault | undefined {
    for (const f of this.faults) {
      if (f.remaining <= 0) continue;
      if (f.path !== undefined && !path.startsWith(f.path)) continue;
      if (f.method !== undefined && f.method.toUpperCase() !== method) continue;
      f.remaining -= 1;
      if (f.remaining <= 0) this.faults = this.faults.filter((x) => x !== f);
      return f;
    }
    return undefined;
  }

  // ---- control API -----------------------------------------------------------------------------

  private control(method: string, route: string, raw: Buffer): Reply {
    let body: Record<string, unknown>;
    try {
      body = parseBody(raw);
    } catch {
      return { status: 400, body: { error: 'Body must be JSON.' } };
    }
    const done = (payload: Record<string, unknown> = { ok: true }): Reply => ({ status: 200, body: payload });
    try {
      if (route === 'health' && method === 'GET') return done({ status: 'ok', url: this.url, sealed: this.isSealed });
      if (route === 'calls' && method === 'GET') return done(this.calls());
      if (route === 'reset-calls' && method === 'POST') return (this.resetCalls(), done());
      if (route === 'seal' && method === 'POST') return (this.seal(), done());
      if (route === 'unseal' && method === 'POST') return (this.unseal(), done());
      if (route === 'faults' && method === 'POST') return done({ id: this.injectFault(body as VaultFault) });
      if (route === 'faults' && method === 'DELETE') return (this.clearFaults(), done());
      if (route === 'rate-limit' && method === 'POST') {
        const rate = body.ratePerSecond;
        this.setRateLimit(
          rate === undefined || rate === null
            ? null
            : { ratePerSecond: Number(rate), ...(body.burst === undefined ? {} : { burst: Number(body.burst) }) },
        );
        return done();
      }
      if (route === 'rate-limit' && method === 'DELETE') return (this.setRateLimit(null), done());
      if (route === 'leases' && method === 'GET') {
        const now = this.now();
        return done({
          leases: this.activeLeases().map((l) => ({ id: l.id, path: l.path, ttl: seconds(l.expireTime - now) })),
        });
      }
      if (route === 'clock' && method === 'POST') {
        void this.advanceClock((body.advance as Duration) ?? 0);
        return done({ now: isoTime(this.now()) });
      }
      return { status: 404, body: { error: `No control route ${method} /_emulator/${route}.` } };
    } catch (err) {
      return { status: 400, body: { error: (err as Error).message } };
    }
  }
}

function ok(fields: Record<string, unknown>): Reply {
  return {
    status: 200,
    body: {
      request_id: randomUUID(),
      lease_id: '',
      renewable: false,
      lease_duration: 0,
      data: null,
      wrap_info: null,
      warnings: null,
      auth: null,
      ...fields,
    },
  };
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.destroyed) return;
  if (reply.status === 204 || reply.body === undefined) {
    res.writeHead(reply.status, { 'Cache-Control': 'no-store', ...reply.headers });
    res.end();
    return;
  }
  const payload = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'Cache-Control': 'no-store',
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(payload),
    ...reply.headers,
  });
  res.end(payload);
}

function parseBody(raw: Buffer): Record<string, unknown> {
  if (raw.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw badRequest('failed to parse JSON input');
  }
  if (parsed === null) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw badRequest('failed to parse JSON input');
  return parsed as Record<string, unknown>;
}

/** `X-Vault-Namespace`, without surrounding slashes ('' = root). */
function namespaceOf(req: IncomingMessage): string {
  const h = req.headers['x-vault-namespace'];
  return (typeof h === 'string' ? h : '').replace(/^\/+|\/+$/g, '').replace(/^root$/, '');
}

function splitOnce(s: string): [string, string] {
  const i = s.indexOf('/');
  return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + 1)];
}

function durationOption(value: Duration | string | number, what: string): number {
  return toMs(value as Duration, what);
}

function randomLeaseSuffix(): string {
  // Vault's lease ids end in a random 24-character id (`base62.Random(24)` via uuid).
  return randomBytes(18).toString('base64url').replace(/[-_]/g, 'x').slice(0, 24);
}

function cappedWarning(asked: number, ttl: number): string {
  return `TTL of "${humanDuration(asked)}" exceeded the effective max_ttl of "${humanDuration(ttl)}"; TTL value is capped accordingly`;
}

function humanDuration(ms: number): string {
  let s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s}s`.replace(/(\d+[hm])0s$/, '$1');
}

function defaultMessage(status: number): string {
  if (status === 403) return 'permission denied';
  if (status === 429) return 'rate limit quota exceeded';
  if (status === 503) return SEALED;
  if (status === 404) return '';
  return 'internal error';
}

/** Paths of Vault's built-in `default` policy that the emulator serves (hashicorp/vault `vault/policy_store.go`, openbao `internal/vault/policy/policy_store.go`). */
const DEFAULT_POLICY_PATHS: readonly string[] = [
  'auth/token/lookup-self',
  'auth/token/renew-self',
  'auth/token/revoke-self',
  'sys/leases/renew',
  'sys/leases/lookup',
  'sys/renew',
];

/** A policy path pattern: `+` is one segment, a trailing `*` any suffix, otherwise exact. */
function aclMatch(pattern: string, path: string): boolean {
  const glob = pattern.endsWith('*');
  const p = (glob ? pattern.slice(0, -1) : pattern).split('/');
  const v = path.split('/');
  for (let i = 0; i < p.length; i++) {
    const seg = p[i]!;
    const last = i === p.length - 1;
    if (glob && last) return v.length >= p.length && (v.slice(i).join('/').startsWith(seg) || seg === '');
    if (v[i] === undefined) return false;
    if (seg !== '+' && seg !== v[i]) return false;
  }
  return v.length === p.length;
}

function globMatch(pattern: string, value: string): boolean {
  if (pattern.endsWith('*')) return value.startsWith(pattern.slice(0, -1));
  return pattern === value;
}

/** Service account name/namespace/uid from a Kubernetes service-account JWT's claims (unverified). */
function serviceAccountOf(jwt: string): { name: string; namespace: string; uid: string } {
  const fallback = { name: 'default', namespace: 'default', uid: '' };
  const part = jwt.split('.')[1];
  if (!part) return fallback;
  try {
    const claims = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
    const k8s = claims['kubernetes.io'] as
      { namespace?: string; serviceaccount?: { name?: string; uid?: string } } | undefined;
    const sub = typeof claims.sub === 'string' ? /^system:serviceaccount:([^:]+):([^:]+)$/.exec(claims.sub) : null;
    return {
      name:
        k8s?.serviceaccount?.name ??
        (claims['kubernetes.io/serviceaccount/service-account.name'] as string) ??
        sub?.[2] ??
        'default',
      namespace:
        k8s?.namespace ?? (claims['kubernetes.io/serviceaccount/namespace'] as string) ?? sub?.[1] ?? 'default',
      uid: k8s?.serviceaccount?.uid ?? (claims['kubernetes.io/serviceaccount/service-account.uid'] as string) ?? '',
    };
  } catch {
    return fallback;
  }
}
