import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as realSetTimeout } from 'node:timers';
import type { Emulator, LoggerLike } from './emulator';
import { compact, delay, listen, sendPlain, trackSockets } from './http';
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
  /** Required value of `X-Aws-Parameters-Secrets-Token` (or `X-Vault-Token`). @default 'test' */
  token?: string;
  /** Cache TTL; 0 disables the cache. @default 300 */
  ttlSeconds?: number;
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
}

interface CacheEntry {
  value: AgentUpstreamValue;
  expiresAt: number;
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

const TOKEN_HEADERS = ['x-aws-parameters-secrets-token', 'x-vault-token'];
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
  };
  private boundPort = 0;
  private closing: Promise<void> | undefined;
  /** The token clients must send. */
  readonly token: string;

  /** @internal use {@link startAgent} */
  constructor(private readonly options: AgentOptions) {
    const { emulator, upstream } = options;
    if (emulator && upstream) throw new TypeError('startAgent: give either emulator or upstream, not both.');
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
      if (req.method === 'GET' && url.pathname === '/ping') {
        this.counts.ping += 1;
        return sendPlain(res, 200, 'healthy');
      }
      if (req.method !== 'GET') throw new HttpError(405, 'Not allowed');
      this.counts.requests += 1;
      if (this.sockets.size > (this.options.maxConnections ?? 800))
        throw new HttpError(429, 'Connection limit exceeded');
      const token = TOKEN_HEADERS.map((h) => req.headers[h]).find((v) => v !== undefined);
      if (token !== this.token) throw new HttpError(403, 'Bad Token');
      if (req.headers['x-forwarded-for'] !== undefined) throw new HttpError(400, 'Forwarded');
      const query = parseQuery(url);
      await this.applyFault();
      const value = await this.getSecret(query);
      return sendPlain(res, 200, {
        ...compact({
          ARN: value.ARN,
          Name: value.Name,
          VersionId: value.VersionId,
          SecretString: value.SecretString,
          SecretBinary:
            typeof value.SecretBinary === 'string'
              ? value.SecretBinary
              : value.SecretBinary && Buffer.from(value.SecretBinary).toString('base64'),
          VersionStages: value.VersionStages && value.VersionStages.length > 0 ? value.VersionStages : undefined,
          CreatedDate: formatAgentDate(value.CreatedDate),
        }),
        ResultMetadata: {},
      });
    } catch (err) {
      if (err instanceof HttpError) return sendPlain(res, err.status, err.body);
      const { status, body } = toAgentError(err);
      this.logger.warn?.(`agent request failed: ${status} ${JSON.stringify(body)}`);
      return sendPlain(res, status, body);
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
      throw new HttpError(status, { __type: type, message });
    }
  }

  private async getSecret(q: AgentUpstreamInput & { refreshNow: boolean }): Promise<AgentUpstreamValue> {
    const ttlMs = (this.options.ttlSeconds ?? 300) * 1000;
    const key = `${q.SecretId}\u0000${q.VersionId ?? ''}\u0000${q.VersionStage ?? ''}`;
    const cached = ttlMs > 0 ? this.cache.get(key) : undefined;
    const now = performance.now();
    if (cached && !q.refreshNow) {
      if (now < cached.expiresAt) {
        this.counts.cacheHits += 1;
        return cached.value;
      }
      if (this.upstream.describeSecret && cached.value.VersionId) {
        try {
          if (await this.stillCurrent(q, cached.value.VersionId)) {
            this.store(key, cached.value, ttlMs);
            this.counts.cacheHits += 1;
            return cached.value;
          }
        } catch (err) {
          if (this.serveStale(err)) return cached.value;
          throw err;
        }
      }
    }
    const input: AgentUpstreamInput = { SecretId: q.SecretId };
    if (q.VersionId !== undefined) input.VersionId = q.VersionId;
    if (q.VersionStage !== undefined) input.VersionStage = q.VersionStage;
    try {
      this.counts.upstream += 1;
      this.counts.upstreamGetSecretValue += 1;
      const value = await this.withTimeout(this.upstream.getSecretValue(input));
      if (ttlMs > 0) this.store(key, value, ttlMs);
      return value;
    } catch (err) {
      // refreshNow failures are reported, never masked by the cache (agent README).
      if (cached && !q.refreshNow && this.serveStale(err)) return cached.value;
      throw err;
    }
  }

  private async stillCurrent(q: AgentUpstreamInput, versionId: string): Promise<boolean> {
    this.counts.upstream += 1;
    this.counts.upstreamDescribeSecret += 1;
    const described = await this.withTimeout(this.upstream.describeSecret!({ SecretId: q.SecretId }));
    const stages = described.VersionIdsToStages?.[versionId];
    if (!stages) return false;
    if (q.VersionId !== undefined && q.VersionStage === undefined) return true;
    return stages.includes(q.VersionStage ?? AWSCURRENT);
  }

  private serveStale(err: unknown): boolean {
    if (this.options.ignoreTransientErrors === false) return false;
    const status = toAgentError(err).status;
    return status >= 500;
  }

  private store(key: string, value: AgentUpstreamValue, ttlMs: number): void {
    this.cache.delete(key);
    this.cache.set(key, { value, expiresAt: performance.now() + ttlMs });
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

/** Maps an upstream failure to the agent's response (AWS-FACTS §C1). */
function toAgentError(err: unknown): { status: number; body: Record<string, unknown> } {
  const e = err as { name?: string; code?: string; message?: string };
  if (e?.name === 'TimeoutError') return { status: 504, body: { __type: 'TimeoutError', message: 'Timeout' } };
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code && TRANSIENT_CODES.has(code))
    return { status: 502, body: { __type: 'ConnectionError', message: e.message ?? code } };
  const status = errorStatus(err);
  if (status !== undefined) {
    const type = typeof e.code === 'string' ? e.code : (e.name ?? 'Unknown');
    return { status, body: { __type: type, message: e.message ?? '' } };
  }
  return { status: 500, body: { __type: 'InternalFailure' } };
}

function parseQuery(url: URL): AgentUpstreamInput & { refreshNow: boolean } {
  let secretId: string | undefined;
  if (url.pathname === '/secretsmanager/get') {
    secretId = url.searchParams.get('secretId') ?? undefined;
    if (!secretId) throw new HttpError(400, 'missing parameter secretId');
  } else if (url.pathname.startsWith('/v1/')) {
    secretId = decodeURIComponent(url.pathname.slice('/v1/'.length));
    if (!secretId) throw new HttpError(400, 'missing secret ID');
  } else {
    throw new HttpError(404, 'Not found');
  }
  const out: AgentUpstreamInput & { refreshNow: boolean } = { SecretId: secretId, refreshNow: false };
  for (const [name, value] of url.searchParams) {
    switch (name) {
      case 'secretId':
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
