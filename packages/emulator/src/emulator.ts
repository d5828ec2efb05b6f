import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as realSetTimeout } from 'node:timers';
import { ServiceError } from './errors';
import {
  FaultRegistry,
  Throttler,
  type ActiveFault,
  type FaultOptions,
  type QuotaConfig,
  type ThrottleLimit,
} from './faults';
import { AWSCURRENT, SecretStore, type SecretValue, type StoredSecret, type StoredVersion } from './secret-store';

/** Operations the emulator implements (`X-Amz-Target: secretsmanager.<Op>`). */
export const OPERATIONS = [
  'GetSecretValue',
  'BatchGetSecretValue',
  'DescribeSecret',
  'ListSecretVersionIds',
  'ListSecrets',
  'CreateSecret',
  'PutSecretValue',
  'UpdateSecretVersionStage',
  'DeleteSecret',
  'RestoreSecret',
] as const;

/** One of {@link OPERATIONS}. */
export type Operation = (typeof OPERATIONS)[number];

/** Minimal logger; every method is optional. Pass `false` (the default) for silence. */
export interface LoggerLike {
  debug?(message: string): void;
  info?(message: string): void;
  warn?(message: string): void;
  error?(message: string): void;
}

/** One older version of a seeded secret. */
export interface SeedVersion {
  /** Text value (`SecretString`). */
  value?: string;
  /** Binary value, base64 (`SecretBinary`). */
  binary?: string;
  /** @default a random UUID */
  versionId?: string;
  /** Labels; when omitted the version is put as AWSCURRENT, so later ones push it to AWSPREVIOUS. */
  stages?: string[];
}

/** A seeded secret with options; its `value`/`binary` becomes the AWSCURRENT version. */
export interface SeedSecret {
  value?: string;
  /** Base64 bytes. */
  binary?: string;
  description?: string;
  /** Older versions, oldest first, put before `value`. */
  versions?: SeedVersion[];
}

/** Seed file shape: `{ "secrets": { "<name>": "<value>" | SeedSecret } }`. */
export interface SeedFile {
  secrets: Record<string, string | SeedSecret>;
}

/** A seed: a {@link SeedFile}, a plain `{ name: value }` map, or a path to a JSON file with either. */
export type Seed = SeedFile | Record<string, string | SeedSecret>;

/**
 * Options of {@link startEmulator}.
 */
export interface EmulatorOptions {
  /** Port; 0 picks a free one. @default 0 */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Initial secrets, or the path of a JSON seed file. */
  seed?: Seed | string;
  /** @default 'us-east-1' */
  region?: string;
  /** @default '123456789012' */
  accountId?: string;
  /** `'aws'` applies the real request quotas; a {@link QuotaConfig} scales or overrides them. @default no throttling */
  quotas?: 'aws' | QuotaConfig;
  /** @default false */
  logger?: LoggerLike | false;
}

/** Config to spread into `new SecretsManagerClient(...)`. */
export interface EmulatorClientConfig {
  region: string;
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/** Requests received, per operation (every attempt, including throttled and faulted ones), and `total`. */
export type CallCounts = Record<string, number> & { total: number };

/** Options of {@link Emulator.putSecret}. */
export interface PutSecretOptions {
  /** @default a random UUID */
  versionId?: string;
  /** @default ['AWSCURRENT'] */
  stages?: string[];
  /** Used when the secret is created. */
  description?: string;
}

type Json = Record<string, unknown>;
type Outcome = { status: number; body: Json };

const MAX_BODY_BYTES = 1024 * 1024;
const CONTROL_PREFIX = '/_emulator/';
const TARGET_PREFIX = 'secretsmanager.';

/** Error passed to in-process callers when the emulator is paused or closed. */
function connectionError(code: 'ECONNREFUSED' | 'ECONNRESET', message: string): Error {
  return Object.assign(new Error(message), { code });
}

function seconds(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms) / 1000;
}

/** Drops undefined members so absent fields are omitted, like AWS. */
function compact<T extends Json>(obj: T): T {
  for (const key of Object.keys(obj)) if (obj[key] === undefined) delete obj[key];
  return obj;
}

function str(input: Json, key: string): string | undefined {
  const v = input[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ServiceError('InvalidParameterException', `${key} must be a string.`);
  return v;
}

function isSeedFile(seed: Seed): seed is SeedFile {
  const s = (seed as Json).secrets;
  return typeof s === 'object' && s !== null && !Array.isArray(s);
}

function readJsonFile(path: string): Seed {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Seed;
  } catch (err) {
    throw new Error(
      `Could not read the seed file ${path}: ${(err as Error).message}. It must be JSON: {"secrets": {"name": "value"}}.`,
      { cause: err },
    );
  }
}

/**
 * A running Secrets Manager emulator. Create one with {@link startEmulator}.
 */
export class Emulator {
  /** The in-memory secrets. */
  readonly store: SecretStore;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly hangs = new Set<(err: Error) => void>();
  private readonly faults = new FaultRegistry();
  private readonly throttler = new Throttler();
  private readonly logger: LoggerLike;
  private counts: Record<string, number> = {};
  private total = 0;
  private throttledCount = 0;
  private listening = false;
  private closing: Promise<void> | undefined;
  private boundPort: number;

  /** @internal use {@link startEmulator} */
  constructor(private readonly options: EmulatorOptions = {}) {
    this.store = new SecretStore(options.region ?? 'us-east-1', options.accountId ?? '123456789012');
    this.logger = options.logger || {};
    this.boundPort = options.port ?? 0;
    this.server = createServer((req, res) => void this.onRequest(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    if (options.quotas) this.throttler.applyQuotas(options.quotas);
    if (options.seed !== undefined) this.seed(options.seed);
  }

  /** Base URL, e.g. `http://127.0.0.1:4566`. */
  get url(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `http://${host}:${this.boundPort}`;
  }

  /** The bound port (stays the same across {@link pause}/{@link resume}). */
  get port(): number {
    return this.boundPort;
  }

  /** Region used in ARNs and in {@link clientConfig}. */
  get region(): string {
    return this.store.region;
  }

  private get host(): string {
    return this.options.host ?? '127.0.0.1';
  }

  /**
   * Config for the AWS SDK client, with dummy credentials.
   * @example new SecretsManagerClient({ ...emu.clientConfig(), maxAttempts: 2 })
   */
  clientConfig(): EmulatorClientConfig {
    return { region: this.region, endpoint: this.url, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  }

  /** Starts listening (on the same port when restarted). Resolves once bound. */
  async start(): Promise<void> {
    if (this.closing) throw new Error('The emulator is closed; start a new one with startEmulator().');
    if (this.listening) return;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.boundPort, this.host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    this.boundPort = (this.server.address() as AddressInfo).port;
    this.listening = true;
    this.logger.info?.(`Secrets Manager emulator listening on ${this.url}`);
  }

  /** Stops listening and drops every connection (clients get ECONNREFUSED). Alias of {@link pause}. */
  async stop(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.dropConnections('ECONNRESET');
    await closed;
    // Let in-process clients see the FIN, so their next request opens a new connection and
    // gets ECONNREFUSED (like a real outage) instead of writing to a dead pooled socket.
    await delay(25);
  }

  /** Simulates an outage: stops listening and drops connections. {@link resume} listens again on the same port. */
  pause(): Promise<void> {
    return this.stop();
  }

  /** Ends an outage started with {@link pause}. */
  resume(): Promise<void> {
    return this.start();
  }

  /** Closes the server and destroys open or hung sockets. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= this.stop();
    return this.closing;
  }

  // ---- programmatic control ------------------------------------------------------------------

  /** Adds a version (creating the secret if missing); it becomes AWSCURRENT, the old one AWSPREVIOUS. */
  putSecret(id: string, value: SecretValue, opts: PutSecretOptions = {}): { versionId: string } {
    return { versionId: this.store.put(id, value, opts).version.versionId };
  }

  /** Rotates a secret: like {@link putSecret}; without `value`, derives a new one deterministically. */
  rotate(id: string, value?: SecretValue): { versionId: string } {
    if (value !== undefined) return this.putSecret(id, value);
    const secret = this.store.require(id);
    const n = secret.versions.size + 1;
    const current = [...secret.versions.values()].find((v) => v.stages.has(AWSCURRENT));
    return this.putSecret(id, deriveRotatedValue(current, n));
  }

  /** Schedules a secret for deletion, or removes it with `force`. */
  deleteSecret(id: string, opts: { force?: boolean; recoveryWindowInDays?: number } = {}): void {
    this.store.delete(id, opts);
  }

  /** Cancels a scheduled deletion. */
  restoreSecret(id: string): void {
    this.store.restore(id);
  }

  /** Request counts per operation since start or {@link resetCalls}. */
  calls(): CallCounts {
    const out: Record<string, number> = {};
    for (const op of OPERATIONS) out[op] = 0;
    Object.assign(out, this.counts);
    return Object.assign(out, { total: this.total });
  }

  /** Zeroes {@link calls} and {@link throttled}. */
  resetCalls(): void {
    this.counts = {};
    this.total = 0;
    this.throttledCount = 0;
  }

  /** Number of ThrottlingException (or 429) responses sent, from token buckets or injected faults. */
  throttled(): number {
    return this.throttledCount;
  }

  /** Injects a fault; returns its id (for {@link clearFaults}). */
  injectFault(options: FaultOptions): string {
    return this.faults.add(options);
  }

  /** Removes one fault, or all. */
  clearFaults(id?: string): void {
    this.faults.clear(id);
  }

  /** Active faults. */
  activeFaults(): ActiveFault[] {
    return this.faults.list();
  }

  /**
   * Sets a token-bucket limit for one operation (`'*'` for all together); `limit` null removes
   * it; `setThrottle(null)` removes every limit, including quotas.
   */
  setThrottle(operation: string | null, limit?: ThrottleLimit | null): void {
    if (operation === null) this.throttler.clear();
    else this.throttler.set(operation, limit ?? null);
  }

  /** Applies AWS quotas (`'aws'`) or scaled ones. */
  setQuotas(quotas: 'aws' | QuotaConfig): void {
    this.throttler.applyQuotas(quotas);
  }

  /** Loads secrets from a seed object or JSON file path. */
  seed(seed: Seed | string): void {
    const data = typeof seed === 'string' ? readJsonFile(seed) : seed;
    const entries = isSeedFile(data) ? data.secrets : data;
    for (const [name, entry] of Object.entries(entries)) {
      if (typeof entry === 'string') {
        this.store.put(name, entry);
        continue;
      }
      if (typeof entry !== 'object' || entry === null) {
        throw new TypeError(
          `Seed: secret ${name} must be a string or an object with value/binary, got ${typeof entry}.`,
        );
      }
      const description = entry.description;
      for (const v of entry.versions ?? []) {
        this.store.put(name, seedValue(name, v), { versionId: v.versionId, stages: v.stages, description });
      }
      if (entry.value !== undefined || entry.binary !== undefined) {
        this.store.put(name, seedValue(name, entry), { description });
      } else if (!this.store.find(name)) {
        this.store.create(name, { description });
      }
    }
  }

  /**
   * Runs one operation in process, through the same counting, throttling and faults as HTTP.
   * Resolves with the JSON response body; rejects with a {@link ServiceError}, or an error with
   * `code` ECONNREFUSED while paused.
   */
  async invoke(operation: string, input: Json = {}): Promise<Json> {
    if (!this.listening) throw connectionError('ECONNREFUSED', `connect ECONNREFUSED ${this.url} (emulator paused)`);
    const outcome = await this.process(operation, input);
    if (outcome.status >= 300) {
      const body = outcome.body as { __type?: string; Message?: string };
      throw new ServiceError(body.__type ?? 'InternalFailure', body.Message, outcome.status);
    }
    return outcome.body;
  }

  // ---- request pipeline ----------------------------------------------------------------------

  private dropConnections(code: 'ECONNRESET'): void {
    for (const reject of this.hangs) reject(connectionError(code, 'socket hang up (emulator closed)'));
    this.hangs.clear();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  private async process(op: string, input: Json): Promise<Outcome> {
    this.counts[op] = (this.counts[op] ?? 0) + 1;
    this.total += 1;
    if (!(OPERATIONS as readonly string[]).includes(op)) {
      return errorOutcome(
        new ServiceError('UnknownOperationException', `Operation ${op} is not supported by @hush/emulator.`),
      );
    }
    if (!this.throttler.allow(op)) {
      this.throttledCount += 1;
      return errorOutcome(new ServiceError('ThrottlingException', 'Rate exceeded'));
    }
    const fault = this.faults.match(op, (sid) => this.touches(input, sid), { perSecret: false });
    if (fault) {
      this.logger.debug?.(`fault ${fault.fault.id} on ${op}`);
      if (fault.latencyMs > 0) await delay(fault.latencyMs);
      if (fault.hang) {
        await new Promise<never>((_resolve, reject) => this.hangs.add(reject));
      }
      if (fault.error) {
        if (fault.error.code === 'ThrottlingException' || fault.error.status === 429) this.throttledCount += 1;
        return errorOutcome(new ServiceError(fault.error.code, fault.error.message, fault.error.status));
      }
    }
    try {
      const body = this.execute(op as Operation, input);
      return { status: 200, body: fault?.rewrite ? (fault.rewrite(body) as Json) : body };
    } catch (err) {
      if (err instanceof ServiceError) return errorOutcome(err);
      this.logger.error?.(`${op} failed: ${(err as Error).stack ?? String(err)}`);
      return errorOutcome(
        new ServiceError('InternalFailure', 'The request processing has failed because of an unknown error.'),
      );
    }
  }

  /** Whether a request touches `secretId` (by name or ARN). */
  private touches(input: Json, secretId: string): boolean {
    const ids: unknown[] = [input.SecretId, ...(Array.isArray(input.SecretIdList) ? input.SecretIdList : [])];
    return ids.some((id) => typeof id === 'string' && this.sameSecret(id, secretId));
  }

  private sameSecret(a: string, b: string): boolean {
    if (a === b) return true;
    const sa = this.store.find(a);
    return sa !== undefined && sa === this.store.find(b);
  }

  private execute(op: Operation, input: Json): Json {
    switch (op) {
      case 'GetSecretValue': {
        const id = requireString(input, 'SecretId');
        const { secret, version } = this.store.get(id, {
          versionId: str(input, 'VersionId'),
          versionStage: str(input, 'VersionStage'),
        });
        return valueEntry(secret, version);
      }
      case 'BatchGetSecretValue':
        return this.batchGet(input);
      case 'DescribeSecret': {
        const secret = this.store.require(requireString(input, 'SecretId'));
        return compact({
          ARN: secret.arn,
          Name: secret.name,
          Description: secret.description,
          LastChangedDate: seconds(secret.lastChangedDate),
          LastAccessedDate: seconds(secret.lastAccessedDate),
          DeletedDate: seconds(secret.deletedDate),
          Tags: secret.tags.length > 0 ? secret.tags : undefined,
          VersionIdsToStages: this.store.versionIdsToStages(secret),
          CreatedDate: seconds(secret.createdDate),
        });
      }
      case 'ListSecretVersionIds': {
        const secret = this.store.require(requireString(input, 'SecretId'));
        const includeDeprecated = input.IncludeDeprecated === true;
        const versions = [...secret.versions.values()]
          .filter((v) => includeDeprecated || v.stages.size > 0)
          .map((v) => ({ VersionId: v.versionId, VersionStages: [...v.stages], CreatedDate: seconds(v.createdDate) }));
        const page = paginate(versions, input, 100);
        return compact({ Versions: page.items, NextToken: page.nextToken, ARN: secret.arn, Name: secret.name });
      }
      case 'ListSecrets': {
        const filters = parseFilters(input.Filters);
        const includeDeleted = input.IncludePlannedDeletion === true;
        let secrets = this.store
          .list()
          .filter((s) => (includeDeleted || s.deletedDate === undefined) && matchesFilters(s, filters));
        if (input.SortOrder === 'desc') secrets = secrets.reverse();
        const page = paginate(secrets, input, 100);
        return compact({
          SecretList: page.items.map((s) =>
            compact({
              ARN: s.arn,
              Name: s.name,
              Description: s.description,
              LastChangedDate: seconds(s.lastChangedDate),
              LastAccessedDate: seconds(s.lastAccessedDate),
              DeletedDate: seconds(s.deletedDate),
              Tags: s.tags.length > 0 ? s.tags : undefined,
              SecretVersionsToStages: this.store.versionIdsToStages(s),
              CreatedDate: seconds(s.createdDate),
            }),
          ),
          NextToken: page.nextToken,
        });
      }
      case 'CreateSecret': {
        const name = requireString(input, 'Name');
        const value = inputValue(input);
        const tags = Array.isArray(input.Tags) ? (input.Tags as Array<{ Key?: string; Value?: string }>) : undefined;
        const secret = this.store.create(name, { description: str(input, 'Description'), tags });
        let versionId: string | undefined;
        if (value !== undefined)
          versionId = this.store.put(name, value, { versionId: str(input, 'ClientRequestToken') }).version.versionId;
        return compact({ ARN: secret.arn, Name: secret.name, VersionId: versionId });
      }
      case 'PutSecretValue': {
        const id = requireString(input, 'SecretId');
        const value = inputValue(input);
        if (value === undefined) {
          throw new ServiceError('InvalidParameterException', 'You must provide either SecretString or SecretBinary.');
        }
        this.store.requireActive(id);
        const stages = Array.isArray(input.VersionStages) ? (input.VersionStages as string[]) : undefined;
        const { secret, version } = this.store.put(id, value, { versionId: str(input, 'ClientRequestToken'), stages });
        return { ARN: secret.arn, Name: secret.name, VersionId: version.versionId, VersionStages: [...version.stages] };
      }
      case 'UpdateSecretVersionStage': {
        const secret = this.store.updateStage(
          requireString(input, 'SecretId'),
          requireString(input, 'VersionStage'),
          str(input, 'MoveToVersionId'),
          str(input, 'RemoveFromVersionId'),
        );
        return { ARN: secret.arn, Name: secret.name };
      }
      case 'DeleteSecret': {
        const force = input.ForceDeleteWithoutRecovery === true;
        const window = input.RecoveryWindowInDays;
        if (force && window !== undefined) {
          throw new ServiceError(
            'InvalidParameterException',
            "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
          );
        }
        if (window !== undefined && (typeof window !== 'number' || window < 7 || window > 30)) {
          throw new ServiceError(
            'InvalidParameterException',
            'The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).',
          );
        }
        const { secret, deletionDate } = this.store.delete(requireString(input, 'SecretId'), {
          force,
          recoveryWindowInDays: window as number | undefined,
        });
        return { ARN: secret.arn, Name: secret.name, DeletionDate: seconds(deletionDate) };
      }
      case 'RestoreSecret': {
        const secret = this.store.restore(requireString(input, 'SecretId'));
        return { ARN: secret.arn, Name: secret.name };
      }
    }
  }

  private batchGet(input: Json): Json {
    const ids = input.SecretIdList;
    const hasFilters = input.Filters !== undefined && input.Filters !== null;
    if (ids !== undefined && ids !== null && hasFilters) {
      throw new ServiceError(
        'InvalidParameterException',
        'Either Filters or SecretIdList must be specified, but not both.',
      );
    }
    if ((ids === undefined || ids === null) && !hasFilters) {
      throw new ServiceError('InvalidParameterException', 'You must specify either Filters or SecretIdList.');
    }
    if (ids !== undefined && ids !== null) {
      if (!Array.isArray(ids) || ids.length === 0 || ids.some((id) => typeof id !== 'string')) {
        throw new ServiceError('InvalidParameterException', 'SecretIdList must be a non-empty list of secret ids.');
      }
      if (ids.length > 20) {
        throw new ServiceError(
          'InvalidParameterException',
          `SecretIdList can contain at most 20 ids; got ${ids.length}.`,
        );
      }
      if (input.MaxResults !== undefined) {
        throw new ServiceError('InvalidParameterException', 'MaxResults can only be used with Filters.');
      }
      const values: Json[] = [];
      const errors: Json[] = [];
      for (const id of ids as string[]) {
        const fault = this.faults.match('BatchGetSecretValue', (sid) => this.sameSecret(id, sid), { perSecret: true });
        if (fault?.error) {
          errors.push({
            SecretId: id,
            ErrorCode: fault.error.code,
            Message: fault.error.message ?? defaultMessage(fault.error.code),
          });
          continue;
        }
        try {
          const { secret, version } = this.store.get(id);
          values.push(valueEntry(secret, version));
        } catch (err) {
          if (!(err instanceof ServiceError)) throw err;
          errors.push({ SecretId: id, ErrorCode: err.code, Message: err.message });
        }
      }
      return { SecretValues: values, Errors: errors };
    }
    const filters = parseFilters(input.Filters);
    const matching = this.store.list().filter((s) => s.deletedDate === undefined && matchesFilters(s, filters));
    const page = paginate(matching, input, 20);
    const values: Json[] = [];
    const errors: Json[] = [];
    for (const secret of page.items) {
      try {
        const { version } = this.store.get(secret.name);
        values.push(valueEntry(secret, version));
      } catch (err) {
        if (!(err instanceof ServiceError)) throw err;
        errors.push({ SecretId: secret.name, ErrorCode: err.code, Message: err.message });
      }
    }
    return compact({ SecretValues: values, Errors: errors, NextToken: page.nextToken });
  }

  // ---- HTTP ----------------------------------------------------------------------------------

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // No Date header at all: a skewed one makes the SDK retry errors (AWS-FACTS §0.6).
    res.sendDate = false;
    try {
      const body = await readBody(req);
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (path.startsWith(CONTROL_PREFIX)) {
        this.control(req, res, path, body);
        return;
      }
      if (req.method !== 'POST') {
        sendJson(res, {
          status: 405,
          body: { __type: 'UnknownOperationException', Message: 'Use POST / with X-Amz-Target.' },
        });
        return;
      }
      const target = String(req.headers['x-amz-target'] ?? '');
      const op = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : target || 'Unknown';
      let input: Json;
      try {
        input = body.length === 0 ? {} : (JSON.parse(body.toString('utf8')) as Json);
        if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new Error('not an object');
      } catch {
        this.counts[op] = (this.counts[op] ?? 0) + 1;
        this.total += 1;
        sendJson(
          res,
          errorOutcome(new ServiceError('SerializationException', 'The request body is not a JSON object.')),
        );
        return;
      }
      const outcome = await this.process(op, input);
      this.logger.debug?.(`${op} -> ${outcome.status}`);
      sendJson(res, outcome);
    } catch (err) {
      if ((err as { code?: string }).code === 'ECONNRESET') return; // hung request dropped by pause/close
      if (!res.headersSent && !res.destroyed) {
        sendJson(res, errorOutcome(new ServiceError('InternalFailure', (err as Error).message)));
      }
    }
  }

  private control(req: IncomingMessage, res: ServerResponse, path: string, raw: Buffer): void {
    const route = path.slice(CONTROL_PREFIX.length);
    const method = req.method ?? 'GET';
    let body: Json = {};
    try {
      if (raw.length > 0) body = JSON.parse(raw.toString('utf8')) as Json;
    } catch {
      sendJson(res, { status: 400, body: { error: 'Body must be JSON.' } });
      return;
    }
    const ok = (payload: Json = { ok: true }) => sendJson(res, { status: 200, body: payload });
    try {
      if (route === 'health' && method === 'GET')
        return ok({ status: 'ok', url: this.url, secrets: this.store.list().length });
      if (route === 'calls' && method === 'GET') return ok({ ...this.calls(), throttled: this.throttled() });
      if (route === 'reset-calls' && method === 'POST') return (this.resetCalls(), ok());
      if (route === 'faults' && method === 'POST') return ok({ id: this.injectFault(body as FaultOptions) });
      if (route === 'faults' && method === 'GET') return ok({ faults: this.activeFaults() });
      if (route === 'faults' && method === 'DELETE') return (this.clearFaults(), ok());
      if (route === 'throttle' && method === 'POST') {
        const op = body.operation === undefined ? '*' : (body.operation as string | null);
        if (op === null || body.ratePerSecond === undefined || body.ratePerSecond === null) this.setThrottle(op, null);
        else
          this.setThrottle(op, {
            ratePerSecond: Number(body.ratePerSecond),
            burst: body.burst === undefined ? undefined : Number(body.burst),
          });
        return ok();
      }
      if (route === 'throttle' && method === 'DELETE') return (this.setThrottle(null), ok());
      if (route === 'secrets' && method === 'GET') return ok({ secrets: this.store.list().map((s) => s.name) });
      if (route.startsWith('secrets/')) {
        const id = decodeURIComponent(route.slice('secrets/'.length));
        if (method === 'POST') {
          const value =
            typeof body.binary === 'string'
              ? Buffer.from(body.binary, 'base64')
              : typeof body.value === 'string'
                ? body.value
                : undefined;
          return ok(value === undefined ? this.rotate(id) : this.putSecret(id, value));
        }
        if (method === 'DELETE') {
          const force = new URL(req.url ?? '/', 'http://x').searchParams.get('force') === 'true' || body.force === true;
          return (this.deleteSecret(id, { force }), ok());
        }
      }
      sendJson(res, { status: 404, body: { error: `No control route ${method} /_emulator/${route}.` } });
    } catch (err) {
      sendJson(res, {
        status: 400,
        body: { error: (err as Error).message, ...(err instanceof ServiceError ? { __type: err.code } : {}) },
      });
    }
  }
}

function defaultMessage(code: string): string {
  return new ServiceError(code).message;
}

function requireString(input: Json, key: string): string {
  const v = str(input, key);
  if (v === undefined || v === '') throw new ServiceError('InvalidParameterException', `${key} is required.`);
  return v;
}

function inputValue(input: Json): SecretValue | undefined {
  const s = str(input, 'SecretString');
  const b = str(input, 'SecretBinary');
  if (s !== undefined && b !== undefined) {
    throw new ServiceError('InvalidParameterException', 'You can only specify one of SecretString or SecretBinary.');
  }
  if (b !== undefined) return new Uint8Array(Buffer.from(b, 'base64'));
  return s;
}

function seedValue(name: string, v: { value?: string; binary?: string }): SecretValue {
  if (v.binary !== undefined) return new Uint8Array(Buffer.from(v.binary, 'base64'));
  if (v.value !== undefined) return v.value;
  throw new TypeError(`Seed: a version of ${name} has neither value nor binary.`);
}

/** The GetSecretValue / SecretValueEntry shape. */
function valueEntry(secret: StoredSecret, version: StoredVersion): Json {
  return compact({
    ARN: secret.arn,
    Name: secret.name,
    VersionId: version.versionId,
    SecretString: version.secretString,
    SecretBinary: version.secretBinary?.toString('base64'),
    VersionStages: [...version.stages],
    CreatedDate: seconds(version.createdDate),
  });
}

/** A new value for a rotation without an explicit one: same shape, new password, deterministic. */
function deriveRotatedValue(current: StoredVersion | undefined, n: number): SecretValue {
  if (current?.secretBinary) return new Uint8Array(Buffer.concat([current.secretBinary, Buffer.from(`#${n}`)]));
  const text = current?.secretString ?? '';
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const obj = parsed as Json;
      if ('password' in obj) obj.password = `rotated-password-${n}`;
      else obj._rotation = n;
      return JSON.stringify(obj);
    }
  } catch {
    // not JSON: fall through to plain text
  }
  return `${text.replace(/#rotated-\d+$/, '')}#rotated-${n}`;
}

type Filter = { Key: string; Values: string[] };

function parseFilters(raw: unknown): Filter[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw) || raw.length > 10)
    throw new ServiceError('InvalidParameterException', 'Filters must be a list of at most 10 filters.');
  return raw.map((f: { Key?: unknown; Values?: unknown }) => {
    if (typeof f?.Key !== 'string' || !Array.isArray(f.Values)) {
      throw new ServiceError('InvalidParameterException', 'Each filter needs a Key and a list of Values.');
    }
    if (!['name', 'description', 'all', 'tag-key', 'tag-value'].includes(f.Key)) {
      throw new ServiceError(
        'InvalidParameterException',
        `Filter key ${f.Key} is not supported by @hush/emulator (name, description, tag-key, tag-value, all).`,
      );
    }
    return { Key: f.Key, Values: f.Values.map(String) };
  });
}

/** AWS filters match by prefix, case-sensitively; a leading `!` negates. Filters AND, values OR. */
function matchesFilters(secret: StoredSecret, filters: Filter[]): boolean {
  return filters.every((filter) => {
    const fields = (key: string): string[] => {
      switch (key) {
        case 'name':
          return [secret.name];
        case 'description':
          return secret.description ? [secret.description] : [];
        case 'tag-key':
          return secret.tags.map((t) => t.Key ?? '');
        case 'tag-value':
          return secret.tags.map((t) => t.Value ?? '');
        default:
          return [secret.name, secret.description ?? '', ...secret.tags.flatMap((t) => [t.Key ?? '', t.Value ?? ''])];
      }
    };
    const candidates = fields(filter.Key);
    return filter.Values.some((value) => {
      const negate = value.startsWith('!');
      const prefix = negate ? value.slice(1) : value;
      const hit = candidates.some((c) => c.startsWith(prefix));
      return negate ? !hit : hit;
    });
  });
}

function paginate<T>(items: T[], input: Json, defaultMax: number): { items: T[]; nextToken?: string } {
  const max = typeof input.MaxResults === 'number' ? input.MaxResults : defaultMax;
  let start = 0;
  if (typeof input.NextToken === 'string') {
    const decoded = Number(
      Buffer.from(input.NextToken, 'base64')
        .toString('utf8')
        .replace(/^offset:/, ''),
    );
    if (!Number.isInteger(decoded) || decoded < 0)
      throw new ServiceError('InvalidNextTokenException', 'The NextToken value is invalid.');
    start = decoded;
  }
  const page = items.slice(start, start + max);
  const next = start + max < items.length ? Buffer.from(`offset:${start + max}`).toString('base64') : undefined;
  return next === undefined ? { items: page } : { items: page, nextToken: next };
}

function errorOutcome(err: ServiceError): Outcome {
  return { status: err.status, body: err.toJSON() };
}

function sendJson(res: ServerResponse, outcome: Outcome): void {
  if (res.destroyed) return;
  const payload = JSON.stringify(outcome.body);
  res.writeHead(outcome.status, {
    'Content-Type': 'application/x-amz-json-1.1',
    'Content-Length': Buffer.byteLength(payload),
    'x-amzn-RequestId': randomUUID(),
  });
  res.end(payload);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`Request body over ${MAX_BODY_BYTES} bytes.`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Sleeps on the real clock (node:timers is not replaced by jest fake timers). */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => realSetTimeout(resolve, ms));
}

/**
 * Starts a Secrets Manager emulator and resolves once it listens.
 *
 * @example
 * const emu = await startEmulator({ seed: { 'prod/db': '{"password":"p"}' } });
 * const client = new SecretsManagerClient(emu.clientConfig());
 * // ...
 * await emu.close();
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const emulator = new Emulator(options);
  await emulator.start();
  return emulator;
}
