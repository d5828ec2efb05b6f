import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as realSetTimeout } from 'node:timers';
import type { Emulator, LoggerLike } from './emulator';
import { delay, listen, sendBare, trackSockets } from './http';
import { AWSCURRENT } from './secrets-model';

/** GetSecretValue input as the agent sends it upstream. */
export interface AgentUpstreamInput {
  SecretId: string;
  VersionId?: string;
  VersionStage?: string;
}

/** The parts of a GetSecretValue output the agent uses (SDK shapes or wire shapes). */
export interface AgentUpstreamValue {
  ARN?: string;
  Name?: string;
  VersionId?: string;
  SecretString?: string;
  /** Bytes (SDK) or base64 (wire). */
  SecretBinary?: Uint8Array | string;
  VersionStages?: string[];
  /** Date (SDK), epoch seconds (wire) or a numeric string. */
  CreatedDate?: Date | number | string;
}

/**
 * Where the agent reads secrets: anything with `getSecretValue`, such as the aggregated
 * `SecretsManager` class of `@aws-sdk/client-secrets-manager`. With `describeSecret`, an expired
 * cache entry is revalidated with DescribeSecret first, like the real agent.
 *
 * @example
 * startAgent({ upstream: new SecretsManager(emu.clientConfig()) });
 */
export interface AgentUpstream {
  getSecretValue(input: AgentUpstreamInput): Promise<AgentUpstreamValue>;
  describeSecret?(input: { SecretId: string }): Promise<{ VersionIdsToStages?: Record<string, string[]> }>;
}

/** GetParameter input as the Parameter Store route sends it upstream (`name[:version|:label]`). */
export interface AgentParameterInput {
  Name: string;
  WithDecryption: boolean;
}

/**
 * Where the Parameter Store route (`/systemsmanager/parameters/get`) reads: anything with
 * `getParameter`, such as the aggregated `SSM` class of `@aws-sdk/client-ssm`.
 */
export interface AgentParameterUpstream {
  getParameter(input: AgentParameterInput): Promise<{ Parameter?: AgentParameterValue }>;
}

/** A GetParameter `Parameter` (SDK shape or wire shape). */
export interface AgentParameterValue {
  Name?: string;
  Type?: string;
  Value?: string;
  Version?: number;
  Selector?: string;
  SourceResult?: string;
  /** Date (SDK) or epoch seconds (wire). */
  LastModifiedDate?: Date | number;
  ARN?: string;
  DataType?: string;
}

/** Options of {@link startAgent}. Give `emulator` or `upstream`. */
export interface AgentOptions {
  /** Port; 0 picks a free one. The real agent uses 2773. @default 0 */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Read from this emulator in process (counted, throttled and faulted like HTTP calls). */
  emulator?: Emulator;
  /** Read from this client instead of an emulator. */
  upstream?: AgentUpstream;
  /**
   * Parameter Store client for `/systemsmanager/parameters/get` when `upstream` is given (with
   * `emulator`, the emulator's SSM API is used). Without either, that route answers 404.
   */
  parameterUpstream?: AgentParameterUpstream;
  /** The token clients must send in one of {@link tokenHeaders}. @default 'test' */
  token?: string;
  /** Headers that may carry the token; any one that matches is enough (the agent's `ssrf_headers`). @default ['X-Aws-Parameters-Secrets-Token', 'X-Vault-Token'] */
  tokenHeaders?: string[];
  /** Prefix of the path-style API, `/v1/<secret id>` (the agent's `path_prefix`). @default '/v1/' */
  pathPrefix?: string;
  /**
   * Cache TTL. Like the agent, 0 still caches, but every request then revalidates the entry with
   * DescribeSecret. @default 300
   */
  ttlSeconds?: number;
  /**
   * Upstream retries, like the agent's AWS SDK (standard mode: 3 attempts, exponential backoff
   * with full jitter from 1 s) for throttling, 5xx, timeouts and connection errors. Set
   * `initialBackoffMs` low in tests. @default { maxAttempts: 3, initialBackoffMs: 1000 }
   */
  upstreamRetry?: { maxAttempts?: number; initialBackoffMs?: number };
  /** Cached entries before least-recently-updated eviction. @default 1000 */
  cacheSize?: number;
  /** Concurrent connections before 429 "Connection limit exceeded". @default 800 */
  maxConnections?: number;
  /** Upstream call time limit (504 TimeoutError when exceeded); 0 = none. @default 0 */
  upstreamTimeoutMs?: number;
  /** Serve the stale cached value when a refresh fails transiently (timeout, connection, 5xx). @default true */
  ignoreTransientErrors?: boolean;
  /** @default false */
  logger?: LoggerLike | false;
}

/** Fault for the agent's secret endpoints (not `/ping`). */
export interface AgentFaultOptions {
  /** HTTP status to answer with. @default 500 (unless only `hang`/`latencyMs` is given) */
  status?: number;
  /** `__type` in the body. @default ConnectionError for 502, TimeoutError for 504, InternalFailure otherwise */
  error?: string;
  /** How many requests. @default Infinity */
  times?: number;
  /** Accept the request and never answer. */
  hang?: boolean;
  /** Delay before answering. */
  latencyMs?: number;
}

/** Agent request counts. */
export interface AgentCalls {
  /** Secret requests received (`/secretsmanager/get`, `/v1/…`), including rejected and faulted ones. */
  requests: number;
  /** `/ping` requests. */
  ping: number;
  /** Requests answered from the cache (including revalidated entries). */
  cacheHits: number;
  /** Upstream calls in total. */
  upstream: number;
  upstreamGetSecretValue: number;
  upstreamDescribeSecret: number;
  /** Parameter Store reads (`/systemsmanager/parameters/get`) sent upstream. */
  upstreamGetParameter: number;
}

interface CacheEntry {
  value: AgentUpstreamValue;
  /** performance.now() when written; expired once more than the TTL has passed. */
  storedAt: number;
}

interface ActiveAgentFault extends AgentFaultOptions {
  id: string;
  remaining: number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string | Record<string, unknown>,
  ) {
    super(typeof body === 'string' ? body : JSON.stringify(body));
  }
}

const DEFAULT_TOKEN_HEADERS = ['X-Aws-Parameters-Secrets-Token', 'X-Vault-Token'];
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** `"1569534789.046"`: epoch seconds with fraction, as a string, like the agent's `TimestampSecondsWithFrac<String>`. */
export function formatAgentDate(value: Date | number | string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : Number(value) * 1000;
  if (!Number.isFinite(ms)) return String(value);
  return (Math.round(ms) / 1000).toFixed(3).replace(/\.?0+$/, '');
}

function errorStatus(err: unknown): number | undefined {
  const e = err as { status?: unknown; $metadata?: { httpStatusCode?: unknown } };
  if (typeof e?.$metadata?.httpStatusCode === 'number') return e.$metadata.httpStatusCode;
  if (typeof e?.status === 'number') return e.status;
  return undefined;
}

/**
 * Local AWS Secrets Manager Agent (and Lambda extension) HTTP API. Create with {@link startAgent}.
 */
export class Agent {
  private readonly server: Server;
  private readonly sockets: Set<Socket>;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly upstream: AgentUpstream;
  private readonly parameterUpstream: AgentParameterUpstream | undefined;
  private readonly logger: LoggerLike;
  private faults: ActiveAgentFault[] = [];
  private faultSeq = 0;
  private counts: AgentCalls = {
    requests: 0,
    ping: 0,
    cacheHits: 0,
    upstream: 0,
    upstreamGetSecretValue: 0,
    upstreamDescribeSecret: 0,
    upstreamGetParameter: 0,
  };
  private boundPort = 0;
  private closing: Promise<void> | undefined;
  /** The token clients must send. */
  readonly token: string;
  private readonly tokenHeaders: string[];
  private readonly pathPrefix: string;

  /** @internal use {@link startAgent} */
  constructor(private readonly options: AgentOptions) {
    const { emulator, upstream } = options;
    if (emulator && upstream) throw new TypeError('startAgent: give either emulator or upstream, not both.');
    this.parameterUpstream = emulator
      ? {
          getParameter: (input) =>
            emulator.invoke('GetParameter', { ...input }) as Promise<{ Parameter?: AgentParameterValue }>,
        }
      : options.parameterUpstream;
    if (emulator) {
      this.upstream = {
        getSecretValue: (input) => emulator.invoke('GetSecretValue', { ...input }) as Promise<AgentUpstreamValue>,
        describeSecret: (input) =>
          emulator.invoke('DescribeSecret', { ...input }) as Promise<{ VersionIdsToStages?: Record<string, string[]> }>,
      };
    } else if (upstream && typeof upstream.getSecretValue === 'function') {
      this.upstream = upstream;
    } else {
      throw new TypeError(
        'startAgent: give emulator (an Emulator) or upstream (an object with getSecretValue, e.g. new SecretsManager(config) from @aws-sdk/client-secrets-manager).',
      );
    }
    const ttl = options.ttlSeconds ?? 300;
    if (!(ttl >= 0)) throw new RangeError(`startAgent: ttlSeconds must be >= 0, got ${ttl}.`);
    this.token = options.token ?? 'test';
    this.tokenHeaders = (options.tokenHeaders ?? DEFAULT_TOKEN_HEADERS).map((h) => h.toLowerCase());
    if (this.tokenHeaders.length === 0) throw new TypeError('startAgent: tokenHeaders must not be empty.');
    this.pathPrefix = options.pathPrefix ?? '/v1/';
    if (!this.pathPrefix.startsWith('/')) throw new TypeError('startAgent: pathPrefix must begin with /.');
    this.logger = options.logger || {};
    this.server = createServer((req, res) => void this.onRequest(req, res));
    this.sockets = trackSockets(this.server);
  }

  /** Base URL, e.g. `http://127.0.0.1:2773`. */
  get url(): string {
    return `http://${this.options.host ?? '127.0.0.1'}:${this.boundPort}`;
  }

  get port(): number {
    return this.boundPort;
  }

  /** @internal */
  async listen(): Promise<void> {
    this.boundPort = await listen(this.server, this.options.port ?? 0, this.options.host ?? '127.0.0.1');
    this.logger.info?.(`Secrets Manager agent listening on ${this.url}`);
  }

  /** Closes the server and destroys open or hung sockets. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
      this.sockets.clear();
    });
    return this.closing;
  }

  /** Request counts, agent side and upstream side. */
  calls(): AgentCalls {
    return { ...this.counts };
  }

  resetCalls(): void {
    for (const key of Object.keys(this.counts) as Array<keyof AgentCalls>) this.counts[key] = 0;
  }

  /** Drops every cached entry. */
  clearCache(): void {
    this.cache.clear();
  }

  /**
   * Makes the next `times` secret requests fail with `status`, hang, or slow down.
   * @example agent.injectFault({ status: 502, times: 1 })
   */
  injectFault(options: AgentFaultOptions = {}): string {
    const id = `agent-fault-${++this.faultSeq}`;
    this.faults.push({ ...options, id, remaining: options.times ?? Infinity });
    return id;
  }

  clearFaults(id?: string): void {
    this.faults = id === undefined ? [] : this.faults.filter((f) => f.id !== id);
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.sendDate = false;
    try {
      const url = new URL(req.url ?? '/', 'http://agent');
      const ping = url.pathname === '/ping';
      if (ping) this.counts.ping += 1;
      else this.counts.requests += 1;
      // The agent's order: connection limit, X-Forwarded-For, token (not for /ping), method, path.
      const limit = (this.options.maxConnections ?? 800) + (ping ? 2 : 0);
      if (this.sockets.size > limit) throw new HttpError(429, 'Connection limit exceeded');
      if (!ping) {
        if (req.headers['x-forwarded-for'] !== undefined) throw new HttpError(400, 'Forwarded');
        if (!this.tokenHeaders.some((h) => req.headers[h] === this.token)) throw new HttpError(403, 'Bad Token');
      }
      if (req.method !== 'GET') throw new HttpError(405, 'Not allowed');
      if (ping) return sendBare(res, 200, 'healthy');
      if (url.pathname === PARAMETER_ROUTE) {
        const input = parseParameterQuery(url);
        await this.applyFault();
        try {
          return sendBare(res, 200, await this.getParameter(input));
        } catch (err) {
          if (err instanceof HttpError) throw err;
          const { status, body } = toParameterError(err);
          this.logger.warn?.(`agent parameter request failed: ${status} ${String(body.__type)}`);
          return sendBare(res, status, body);
        }
      }
      const query = parseQuery(url, this.pathPrefix);
      await this.applyFault();
      const value = await this.getSecret(query);
      return sendBare(res, 200, agentBody(value));
    } catch (err) {
      if (err instanceof HttpError) return sendBare(res, err.status, err.body);
      const { status, body } = toAgentError(err);
      this.logger.warn?.(`agent request failed: ${status} ${body}`);
      return sendBare(res, status, body);
    }
  }

  private async applyFault(): Promise<void> {
    const fault = this.faults.find((f) => f.remaining > 0);
    if (!fault) return;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults = this.faults.filter((f) => f !== fault);
    if (fault.latencyMs) await delay(fault.latencyMs);
    if (fault.hang) await new Promise<never>(() => undefined); // the socket is destroyed by close()
    if (fault.status !== undefined || (!fault.hang && !fault.latencyMs)) {
      const status = fault.status ?? 500;
      const type =
        fault.error ?? (status === 502 ? 'ConnectionError' : status === 504 ? 'TimeoutError' : 'InternalFailure');
      const message = status === 504 ? 'Timeout' : `Injected agent fault (${status})`;
      throw new HttpError(status, errorBody(type, message));
    }
  }

  /**
   * The Parameter Store route: a TTL cache in front of GetParameter (no revalidation: Parameter
   * Store has no cheap "has it changed" call). The body is the GetParameter response.
   */
  private async getParameter(input: AgentParameterInput): Promise<Record<string, unknown>> {
    if (!this.parameterUpstream) throw new HttpError(404, 'Not found');
    // \u0001 cannot start a secret id, so parameter keys never meet secret keys.
    const key = `\u0001ssm\u0000${input.Name}\u0000${input.WithDecryption ? 1 : 0}`;
    const cached = this.cache.get(key);
    if (cached && performance.now() - cached.storedAt <= this.ttlMs) {
      this.counts.cacheHits += 1;
      return cached.value as Record<string, unknown>;
    }
    let value: Record<string, unknown>;
    try {
      value = await this.call('GetParameter', async () => {
        const out = await this.parameterUpstream!.getParameter(input);
        const p = out.Parameter;
        // The wire shape whichever client answered: dates as epoch seconds.
        const date = p?.LastModifiedDate instanceof Date ? p.LastModifiedDate.getTime() / 1000 : p?.LastModifiedDate;
        return { Parameter: p && { ...p, ...(date !== undefined ? { LastModifiedDate: date } : {}) } };
      });
    } catch (err) {
      if (!cached || !this.serveStale(err)) throw err;
      value = cached.value as Record<string, unknown>;
    }
    this.store(key, value as AgentUpstreamValue);
    return value;
  }

  /** The caching client's get_secret_value: TTL hit, else revalidate with DescribeSecret, else GetSecretValue. */
  private async getSecret(q: AgentUpstreamInput & { refreshNow: boolean }): Promise<AgentUpstreamValue> {
    const key = `${q.SecretId}\u0000${q.VersionId ?? ''}\u0000${q.VersionStage ?? ''}`;
    const cached = q.refreshNow ? undefined : this.cache.get(key);
    if (cached) {
      if (performance.now() - cached.storedAt <= this.ttlMs) {
        this.counts.cacheHits += 1;
        return cached.value;
      }
      if (await this.isCurrent(q, cached.value)) {
        this.store(key, cached.value); // re-arms the TTL
        this.counts.cacheHits += 1;
        return cached.value;
      }
    }
    const input: AgentUpstreamInput = { SecretId: q.SecretId };
    if (q.VersionId !== undefined) input.VersionId = q.VersionId;
    if (q.VersionStage !== undefined) input.VersionStage = q.VersionStage;
    let value: AgentUpstreamValue;
    try {
      value = await this.call('GetSecretValue', () => this.upstream.getSecretValue(input));
    } catch (err) {
      // refreshNow failures are reported, never masked by the cache (agent README).
      if (!cached || !this.serveStale(err)) throw err;
      value = cached.value; // and written back below, so the TTL starts again
    }
    this.store(key, value);
    return value;
  }

  /** The agent's is_current: DescribeSecret with the cached ARN; a transient failure counts as current. */
  private async isCurrent(q: AgentUpstreamInput, cached: AgentUpstreamValue): Promise<boolean> {
    if (!this.upstream.describeSecret) return false;
    let described: { VersionIdsToStages?: Record<string, string[]> };
    try {
      const id = cached.ARN ?? q.SecretId;
      described = await this.call('DescribeSecret', () => this.upstream.describeSecret!({ SecretId: id }));
    } catch (err) {
      if (this.serveStale(err)) return true;
      throw err;
    }
    const stages = described.VersionIdsToStages;
    if (!stages) return false;
    if (q.VersionId !== undefined && q.VersionStage === undefined) return q.VersionId in stages;
    const versionId = q.VersionId ?? cached.VersionId;
    return versionId !== undefined && (stages[versionId] ?? []).includes(q.VersionStage ?? AWSCURRENT);
  }

  /** One upstream operation with the SDK's retries (standard mode). */
  private async call<T>(op: 'GetSecretValue' | 'DescribeSecret' | 'GetParameter', fn: () => Promise<T>): Promise<T> {
    const attempts = Math.max(1, this.options.upstreamRetry?.maxAttempts ?? 3);
    const base = this.options.upstreamRetry?.initialBackoffMs ?? 1000;
    for (let attempt = 1; ; attempt++) {
      this.counts.upstream += 1;
      if (op === 'GetSecretValue') this.counts.upstreamGetSecretValue += 1;
      else if (op === 'GetParameter') this.counts.upstreamGetParameter += 1;
      else this.counts.upstreamDescribeSecret += 1;
      try {
        return await this.withTimeout(fn());
      } catch (err) {
        if (attempt >= attempts || !retryable(err)) throw err;
        await delay(Math.random() * Math.min(base * 2 ** (attempt - 1), 20_000));
      }
    }
  }

  private get ttlMs(): number {
    return (this.options.ttlSeconds ?? 300) * 1000;
  }

  private serveStale(err: unknown): boolean {
    return this.options.ignoreTransientErrors !== false && transient(err);
  }

  private store(key: string, value: AgentUpstreamValue): void {
    this.cache.delete(key);
    this.cache.set(key, { value, storedAt: performance.now() });
    const max = this.options.cacheSize ?? 1000;
    while (this.cache.size > max) this.cache.delete(this.cache.keys().next().value as string);
  }

  private withTimeout<T>(promise: Promise<T>): Promise<T> {
    const ms = this.options.upstreamTimeoutMs ?? 0;
    if (ms <= 0) return promise;
    return new Promise<T>((resolve, reject) => {
      const timer = realSetTimeout(() => reject(Object.assign(new Error('Timeout'), { name: 'TimeoutError' })), ms);
      timer.unref();
      promise.then(
        (v) => (clearTimeout(timer), resolve(v)),
        (e) => (clearTimeout(timer), reject(e)),
      );
    });
  }
}

/**
 * The agent's response body (`GetSecretValueOutputDef`): ARN, Name, VersionId and CreatedDate
 * always (null when unknown), SecretString / SecretBinary / VersionStages only when present, no
 * `ResultMetadata`.
 */
function agentBody(value: AgentUpstreamValue): Record<string, unknown> {
  const binary =
    typeof value.SecretBinary === 'string'
      ? value.SecretBinary
      : value.SecretBinary && Buffer.from(value.SecretBinary).toString('base64');
  return {
    ARN: value.ARN ?? null,
    Name: value.Name ?? null,
    VersionId: value.VersionId ?? null,
    ...(value.SecretString !== undefined ? { SecretString: value.SecretString } : {}),
    ...(binary !== undefined ? { SecretBinary: binary } : {}),
    ...(value.VersionStages !== undefined ? { VersionStages: value.VersionStages } : {}),
    CreatedDate: formatAgentDate(value.CreatedDate) ?? null,
  };
}

/** The agent's err_response: `{"__type", "message"}`, or only `__type: InternalFailure` without a message. */
function errorBody(code: string, message: string): Record<string, unknown> {
  return !message || code === 'InternalFailure' ? { __type: 'InternalFailure' } : { __type: code, message };
}

function networkError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && TRANSIENT_CODES.has(code);
}

function timeoutError(err: unknown): boolean {
  return (err as { name?: unknown })?.name === 'TimeoutError';
}

/** The caching library's is_transient_error: timeouts, connection errors, 5xx. */
function transient(err: unknown): boolean {
  const status = errorStatus(err);
  return timeoutError(err) || networkError(err) || (status !== undefined && status >= 500);
}

/** What the SDK's standard retry mode retries: transient errors and throttling. */
function retryable(err: unknown): boolean {
  const e = err as { code?: unknown; name?: unknown; status?: unknown };
  const code = typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : '';
  return transient(err) || code === 'ThrottlingException' || code === 'TooManyRequestsException' || e?.status === 429;
}

/**
 * Maps an upstream failure on the Parameter Store route: the upstream status with
 * `{"__type", "message"}` (the message may be empty, as SSM's often is); connection errors and
 * timeouts as on the secrets route.
 */
function toParameterError(err: unknown): { status: number; body: Record<string, unknown> } {
  const status = errorStatus(err);
  if (status === undefined || timeoutError(err) || networkError(err)) {
    const mapped = toAgentError(err);
    return { status: mapped.status, body: JSON.parse(mapped.body) as Record<string, unknown> };
  }
  const e = err as { code?: unknown; name?: unknown; message?: unknown };
  const type = typeof e.code === 'string' ? e.code : typeof e.name === 'string' ? e.name : 'Unknown';
  return { status, body: { __type: type, message: typeof e.message === 'string' ? e.message : '' } };
}

/** Maps an upstream failure to the agent's response (cache_manager.rs svc_err). */
function toAgentError(err: unknown): { status: number; body: string } {
  if (timeoutError(err)) return { status: 504, body: JSON.stringify(errorBody('TimeoutError', 'Timeout')) };
  if (networkError(err)) return { status: 502, body: JSON.stringify(errorBody('ConnectionError', 'Read Error')) };
  const status = errorStatus(err);
  if (status !== undefined) {
    const e = err as { code?: unknown; name?: unknown; message?: unknown };
    const type = typeof e.code === 'string' ? e.code : typeof e.name === 'string' ? e.name : 'Unknown';
    return { status, body: JSON.stringify(errorBody(type, typeof e.message === 'string' ? e.message : '')) };
  }
  return { status: 500, body: JSON.stringify(errorBody('InternalFailure', '')) };
}

/** Path of the Lambda extension's Parameter Store route. */
const PARAMETER_ROUTE = '/systemsmanager/parameters/get';

/**
 * `/systemsmanager/parameters/get?name=…[&withDecryption=true][&version=N|&label=L]`: the name
 * (URL-decoded), with the version or label appended as a GetParameter selector.
 */
function parseParameterQuery(url: URL): AgentParameterInput {
  let name: string | undefined;
  let version: string | undefined;
  let label: string | undefined;
  let withDecryption = false;
  for (const [key, value] of url.searchParams) {
    switch (key) {
      case 'name':
        name = value;
        break;
      case 'withDecryption': {
        const v = value.toLowerCase();
        if (v !== 'true' && v !== 'false') throw new HttpError(400, 'invalid withDecryption value');
        withDecryption = v === 'true';
        break;
      }
      case 'version':
        if (!/^[0-9]+$/.test(value)) throw new HttpError(400, 'invalid version value');
        version = value;
        break;
      case 'label':
        label = value;
        break;
      default:
        throw new HttpError(400, `unknown parameter: ${key}`);
    }
  }
  if (!name) throw new HttpError(400, 'missing parameter name');
  if (version !== undefined && label !== undefined) throw new HttpError(400, 'give version or label, not both');
  const selector = version ?? label;
  return { Name: selector === undefined ? name : `${name}:${selector}`, WithDecryption: withDecryption };
}

/**
 * The agent's query parsing: `/secretsmanager/get?secretId=…` (decoded as a query value), or
 * `<pathPrefix><secret id>` where the id is the raw path, not percent-decoded, and `secretId` is
 * an unknown parameter.
 */
function parseQuery(url: URL, pathPrefix: string): AgentUpstreamInput & { refreshNow: boolean } {
  const pathStyle = url.pathname !== '/secretsmanager/get';
  if (pathStyle && !url.pathname.startsWith(pathPrefix)) throw new HttpError(404, 'Not found');
  const out: AgentUpstreamInput & { refreshNow: boolean } = { SecretId: '', refreshNow: false };
  if (pathStyle) {
    out.SecretId = url.pathname.slice(pathPrefix.length);
    if (!out.SecretId) throw new HttpError(400, 'missing secret ID');
  }
  for (const [name, value] of url.searchParams) {
    switch (name) {
      case 'secretId':
        if (pathStyle) throw new HttpError(400, `unknown parameter: ${name}`);
        out.SecretId = value;
        break;
      case 'versionId':
        out.VersionId = value;
        break;
      case 'versionStage':
        out.VersionStage = value;
        break;
      case 'refreshNow': {
        const v = value.toLowerCase();
        if (v === 'true' || v === '1') out.refreshNow = true;
        else if (v === 'false' || v === '0') out.refreshNow = false;
        else throw new HttpError(400, 'invalid refreshNow value');
        break;
      }
      default:
        throw new HttpError(400, `unknown parameter: ${name}`);
    }
  }
  if (!out.SecretId) throw new HttpError(400, 'missing parameter secretId');
  return out;
}

/**
 * Starts a local Secrets Manager Agent / Lambda extension HTTP API in front of an emulator (or
 * any `getSecretValue` client), with the agent's TTL cache, SSRF token and error mapping.
 *
 * @example
 * const emu = await startEmulator({ seed: { db: 's3cret' } });
 * const agent = await startAgent({ emulator: emu, token: 't' });
 * await fetch(`${agent.url}/secretsmanager/get?secretId=db`, { headers: { 'X-Aws-Parameters-Secrets-Token': 't' } });
 */
export async function startAgent(options: AgentOptions): Promise<Agent> {
  const agent = new Agent(options);
  await agent.listen();
  return agent;
}
