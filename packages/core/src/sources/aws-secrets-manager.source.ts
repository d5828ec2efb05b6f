import {
  BatchGetSecretValueCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
  type SecretsManagerClientConfig,
} from '@aws-sdk/client-secrets-manager';
import { SecretFetchError, SecretsConfigError, errorCodeName } from '../errors';
import type { LoggerLike } from '../logger';
import { checkKnownKeys, parseDuration, type Duration } from '../validation';
import {
  SourceCounters,
  mapConcurrent,
  type FetchContext,
  type FetchOutcome,
  type RawSecret,
  type SecretRequest,
  type Source,
  type SourceStats,
} from './source';

/** The SDK's throttling codes (`@smithy/core` service-error-classification), plus HTTP 429. */
const THROTTLING_CODES = new Set([
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TransactionInProgressException',
]);
const TRANSIENT_CODES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'AbortError',
  'InternalServiceError',
  'InternalFailure',
  'ServiceUnavailable',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** `BatchGetSecretValue` takes at most 20 ids per call. */
export const BATCH_SIZE = 20;

/** A client shape checked structurally, so any `SecretsManagerClient` copy or a wrapper works. */
export interface SecretsManagerClientLike {
  send(command: unknown, options?: { abortSignal?: AbortSignal }): Promise<unknown>;
}

interface CommonOptions {
  /**
   * Fetch AWSCURRENT ids with `BatchGetSecretValue` (20 per call). When the role lacks
   * `secretsmanager:BatchGetSecretValue` the source falls back to `GetSecretValue` and warns once.
   * @default true
   */
  batch?: boolean;
  /**
   * When a batch call is still throttled after the SDK's retries, fetch that chunk with
   * `GetSecretValue` (a quota 100× larger) instead of failing it.
   * @default true
   */
  spillover?: boolean;
  /** Concurrent `GetSecretValue` calls. @default 10 */
  concurrency?: number;
  /** Concurrent `BatchGetSecretValue` calls. @default 4 */
  batchConcurrency?: number;
  /** Receives the one-time batch fallback and failover warnings. @default the store's logger (`FetchContext.logger`) */
  logger?: LoggerLike;
  /**
   * Regions holding replicas of the secrets, tried in order when the primary Region fails with a
   * transient error (5xx, timeout, network, throttling after the SDK's retries) — never on a 4xx
   * such as ResourceNotFoundException or AccessDeniedException. Health reports the Region that
   * served each secret. ARN ids are rewritten to the replica's Region.
   * @example awsSecretsManager({ region: 'us-east-1', failoverRegions: ['us-west-2'] })
   */
  failoverRegions?: readonly string[];
  /** Clients for failover Regions, by Region. Regions without one get a client built like the primary's. */
  failoverClients?: Readonly<Record<string, SecretsManagerClientLike>>;
  /** Endpoint per Region (e.g. one `@hush/emulator` per Region); overrides `endpoint` for that Region. */
  endpoints?: Readonly<Record<string, string>>;
  /**
   * With `failoverRegions`: how long one Region gets for a fetch, SDK retries included, before its
   * unanswered secrets go to the next Region.
   * @default '5s'
   */
  failoverTimeout?: Duration;
}

/** Options for {@link awsSecretsManager}: bring a client, or let Hush build one. */
export type AwsSecretsManagerOptions = CommonOptions &
  (
    | { client: SecretsManagerClientLike; region?: never; endpoint?: never; clientConfig?: never }
    | {
        client?: undefined;
        /** @default process.env.AWS_REGION */
        region?: string;
        /** e.g. `http://127.0.0.1:4566` for `@hush/emulator`. */
        endpoint?: string;
        /** Extra `SecretsManagerClient` config (credentials, retryMode, requestHandler…). */
        clientConfig?: SecretsManagerClientConfig;
      }
  );

const OPTION_KEYS = [
  'client',
  'region',
  'endpoint',
  'clientConfig',
  'batch',
  'spillover',
  'concurrency',
  'batchConcurrency',
  'logger',
  'failoverRegions',
  'failoverClients',
  'endpoints',
  'failoverTimeout',
];

/** Default of `failoverTimeout`. */
export const DEFAULT_FAILOVER_TIMEOUT_MS = 5_000;

/** Default request and connection timeouts for clients Hush builds (the SDK has none by default). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;
export const DEFAULT_CONNECTION_TIMEOUT_MS = 2_000;

/**
 * The default source: AWS Secrets Manager through the AWS SDK v3 client.
 *
 * @example
 * awsSecretsManager({ region: 'eu-west-1' })
 * awsSecretsManager({ client: new SecretsManagerClient({ region }) })
 * awsSecretsManager({ region: 'us-east-1', endpoint: 'http://127.0.0.1:4566' }) // @hush/emulator
 * awsSecretsManager({ region: 'us-east-1', failoverRegions: ['us-west-2'] })       // replicated secrets
 */
export function awsSecretsManager(options: AwsSecretsManagerOptions = {}): AwsSecretsManagerSource {
  return new AwsSecretsManagerSource(options);
}

export class AwsSecretsManagerSource implements Source {
  readonly kind = 'aws-secrets-manager';
  readonly client: SecretsManagerClientLike;
  private readonly ownsClient: boolean;
  private readonly counters: SourceCounters;
  /** The Region this source reads, when known (reported in health only with failover). */
  private readonly region: string | undefined;
  private readonly failovers: AwsSecretsManagerSource[] = [];
  private readonly failoverTimeout: number;
  private batchDenied = false;
  private readonly batch: boolean;
  private readonly spillover: boolean;
  private readonly concurrency: number;
  private readonly batchConcurrency: number;
  private readonly logger: LoggerLike | undefined;

  /**
   * @param internal used for the per-Region sources of `failoverRegions` (shared counters).
   */
  constructor(options: AwsSecretsManagerOptions, internal?: { counters: SourceCounters; region: string }) {
    checkKnownKeys(options, OPTION_KEYS, 'awsSecretsManager');
    this.counters = internal?.counters ?? new SourceCounters();
    this.batch = options.batch ?? true;
    this.spillover = options.spillover ?? true;
    this.concurrency = positiveInt(options.concurrency ?? 10, 'awsSecretsManager.concurrency');
    this.batchConcurrency = positiveInt(options.batchConcurrency ?? 4, 'awsSecretsManager.batchConcurrency');
    this.logger = options.logger;
    if (options.client) {
      if (typeof options.client.send !== 'function') {
        throw new SecretsConfigError(
          'awsSecretsManager.client',
          'expected a SecretsManagerClient (an object with a send() method).',
        );
      }
      this.client = options.client;
      this.ownsClient = false;
    } else {
      const endpoint = (options.region && options.endpoints?.[options.region]) || options.endpoint;
      this.client = new SecretsManagerClient({
        ...(options.region ? { region: options.region } : {}),
        ...(endpoint ? { endpoint } : {}),
        // 'standard', not 'adaptive': the adaptive mode's one client-side token bucket, armed by the
        // first throttled BatchGetSecretValue, also slows the GetSecretValue spillover whose quota is
        // 100x larger (bench scenario 4: fleet p99 5.6x the floor with adaptive, 1.38x with standard).
        retryMode: 'standard',
        // The SDK has no timeout by default, and a requestTimeout only warns unless throwOnRequestTimeout is set.
        requestHandler: {
          requestTimeout: DEFAULT_REQUEST_TIMEOUT_MS,
          connectionTimeout: DEFAULT_CONNECTION_TIMEOUT_MS,
          throwOnRequestTimeout: true,
        },
        ...options.clientConfig,
      });
      this.ownsClient = true;
    }
    this.region =
      internal?.region ??
      options.region ??
      (options.client ? undefined : ((options.clientConfig?.region as string | undefined) ?? process.env.AWS_REGION));
    this.failoverTimeout = parseDuration(
      options.failoverTimeout ?? DEFAULT_FAILOVER_TIMEOUT_MS,
      'awsSecretsManager.failoverTimeout',
    );
    const failoverRegions = options.failoverRegions ?? [];
    if (!Array.isArray(failoverRegions) || failoverRegions.some((r) => typeof r !== 'string' || r.trim() === '')) {
      throw new SecretsConfigError(
        'awsSecretsManager.failoverRegions',
        "expected an array of Region names, e.g. ['us-west-2'].",
      );
    }
    if (failoverRegions.length > 0 && !internal) {
      for (const region of failoverRegions) {
        if (region === this.region) {
          throw new SecretsConfigError(
            'awsSecretsManager.failoverRegions',
            `"${region}" is the primary Region; list only replica Regions.`,
          );
        }
        const client = options.failoverClients?.[region];
        if (client !== undefined && typeof client.send !== 'function') {
          throw new SecretsConfigError(
            `awsSecretsManager.failoverClients.${region}`,
            'expected a SecretsManagerClient (an object with a send() method).',
          );
        }
        const common = {
          batch: this.batch,
          spillover: this.spillover,
          concurrency: this.concurrency,
          batchConcurrency: this.batchConcurrency,
        };
        const sub = client
          ? new AwsSecretsManagerSource({ ...common, client }, { counters: this.counters, region })
          : new AwsSecretsManagerSource(
              {
                ...common,
                region,
                ...(options.endpoints?.[region] ? { endpoint: options.endpoints[region] } : {}),
                clientConfig: { ...(options.client ? {} : options.clientConfig), region },
              },
              { counters: this.counters, region },
            );
        this.failovers.push(sub);
      }
    } else if (options.failoverClients && Object.keys(options.failoverClients).length > 0 && !internal) {
      throw new SecretsConfigError(
        'awsSecretsManager.failoverClients',
        'failoverClients needs failoverRegions listing those Regions in order.',
      );
    }
  }

  stats(): SourceStats {
    return this.counters.snapshot();
  }

  async fetch(requests: readonly SecretRequest[], context: FetchContext): Promise<readonly FetchOutcome[]> {
    // An explicit `logger` option wins over the store's; failover Regions get the same one.
    if (this.logger !== undefined && context.logger !== this.logger) context = { ...context, logger: this.logger };
    if (this.failovers.length === 0) return this.fetchRegion(requests, context);
    // Each Region gets its own deadline, so a hung primary leaves time for the replicas.
    let outcomes = (await this.fetchWithin(this, requests, context)).map((o) => this.tag(o, this.region));
    for (const failover of this.failovers) {
      const retry = outcomes.flatMap((o, i) => (!o.ok && o.error.retryable ? [i] : []));
      if (retry.length === 0 || context.signal.aborted) break;
      const region = failover.region!;
      const replicaRequests = retry.map((i) => ({ ...requests[i]!, id: inRegion(requests[i]!.id, region) }));
      const replica = await this.fetchWithin(failover, replicaRequests, context);
      outcomes = [...outcomes];
      retry.forEach((reqIndex, j) => {
        const o = replica[j];
        // A replica's own failure keeps the primary's (transient) error, so the store keeps retrying.
        if (o?.ok) outcomes[reqIndex] = this.tag(o, region);
      });
      const served = replica.filter((o) => o?.ok).length;
      if (served > 0) {
        context.logger?.warn(
          `Read ${served} secret(s) from failover Region ${region} after transient errors in ${this.region ?? 'the primary Region'}`,
          {
            event: 'region-failover',
            region,
            count: served,
          },
        );
      }
    }
    return outcomes;
  }

  private async fetchWithin(
    source: AwsSecretsManagerSource,
    requests: readonly SecretRequest[],
    context: FetchContext,
  ): Promise<readonly FetchOutcome[]> {
    const abort = new AbortController();
    const onAbort = () => abort.abort(context.signal.reason);
    if (context.signal.aborted) onAbort();
    else context.signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () =>
        abort.abort(
          new SecretFetchError('*', 'TimeoutError', `no answer within failoverTimeout (${this.failoverTimeout} ms)`, {
            retryable: true,
          }),
        ),
      this.failoverTimeout,
    );
    timer.unref();
    try {
      const outcomes = await source.fetchRegion(requests, { ...context, signal: abort.signal });
      if (!abort.signal.aborted || context.signal.aborted) return outcomes;
      // Aborted by the Region deadline: report a retryable timeout whatever the SDK called it.
      return outcomes.map((o, i) =>
        o.ok || o.error.retryable
          ? o
          : {
              ok: false,
              error: new SecretFetchError(
                requests[i]!.id,
                'TimeoutError',
                `no answer within failoverTimeout (${this.failoverTimeout} ms)`,
                { retryable: true, cause: o.error },
              ),
            },
      );
    } finally {
      clearTimeout(timer);
      context.signal.removeEventListener('abort', onAbort);
    }
  }

  private tag(outcome: FetchOutcome, region: string | undefined): FetchOutcome {
    return outcome.ok && region ? { ok: true, secret: { ...outcome.secret, region } } : outcome;
  }

  private async fetchRegion(
    requests: readonly SecretRequest[],
    context: FetchContext,
  ): Promise<readonly FetchOutcome[]> {
    const outcomes = new Array<FetchOutcome>(requests.length);
    const batchable: number[] = [];
    const single: number[] = [];
    requests.forEach((r, i) => (this.batch && !r.versionId && !r.versionStage ? batchable : single).push(i));

    const chunks: number[][] = [];
    for (let i = 0; i < batchable.length; i += BATCH_SIZE) chunks.push(batchable.slice(i, i + BATCH_SIZE));
    const leftovers: number[] = [];
    await Promise.all([
      mapConcurrent(chunks, this.batchConcurrency, async (chunk) => {
        if (this.batchDenied) return void leftovers.push(...chunk);
        const ids = chunk.map((i) => requests[i]!.id);
        const result = await this.batchGet(ids, context);
        chunk.forEach((reqIndex, j) => {
          const r = result[j];
          if (r === undefined) leftovers.push(reqIndex);
          else outcomes[reqIndex] = r;
        });
      }),
      mapConcurrent(single, this.concurrency, async (i) => {
        outcomes[i] = await this.getOne(requests[i]!, context);
      }),
    ]);
    await mapConcurrent(leftovers, this.concurrency, async (i) => {
      outcomes[i] = await this.getOne(requests[i]!, context);
    });
    return outcomes;
  }

  /** Returns one outcome per id, or `undefined` for ids to retry with GetSecretValue. */
  private async batchGet(ids: readonly string[], context: FetchContext): Promise<(FetchOutcome | undefined)[]> {
    const found = new Map<string, FetchOutcome>();
    let nextToken: string | undefined;
    try {
      do {
        const response = (await this.client.send(
          new BatchGetSecretValueCommand({ SecretIdList: [...ids], ...(nextToken ? { NextToken: nextToken } : {}) }),
          { abortSignal: context.signal },
        )) as {
          SecretValues?: {
            ARN?: string;
            Name?: string;
            VersionId?: string;
            SecretString?: string;
            SecretBinary?: Uint8Array;
            CreatedDate?: Date;
          }[];
          Errors?: { SecretId?: string; ErrorCode?: string; Message?: string }[];
          NextToken?: string;
          $metadata?: { attempts?: number };
        };
        this.counters.record('BatchGetSecretValue', response.$metadata?.attempts ?? 1, 'ok');
        for (const entry of response.SecretValues ?? []) {
          const id = ids.find((candidate) => matchesSecret(candidate, entry.Name, entry.ARN) && !found.has(candidate));
          if (id !== undefined) found.set(id, { ok: true, secret: toRaw(entry) });
        }
        for (const error of response.Errors ?? []) {
          const id = error.SecretId;
          if (id === undefined || !ids.includes(id) || found.has(id)) continue;
          const code = error.ErrorCode ?? 'UnknownError';
          found.set(id, {
            ok: false,
            error: new SecretFetchError(id, code, error.Message ?? code, {
              retryable: THROTTLING_CODES.has(code) || TRANSIENT_CODES.has(code),
              throttled: THROTTLING_CODES.has(code),
            }),
          });
        }
        nextToken = response.NextToken;
      } while (nextToken && found.size < ids.length);
    } catch (error) {
      const info = classify(error);
      this.counters.record('BatchGetSecretValue', attemptsOf(error), info.throttled ? 'throttled' : info.code);
      if (info.code === 'AccessDeniedException') {
        if (!this.batchDenied) {
          this.batchDenied = true;
          context.logger?.warn(
            'BatchGetSecretValue was denied (AccessDeniedException); falling back to one GetSecretValue call per secret. ' +
              'Grant secretsmanager:BatchGetSecretValue to load secrets in ceil(n/20) calls.',
            { event: 'batch-denied' },
          );
        }
        return ids.map(() => undefined);
      }
      if (info.throttled && this.spillover && !context.signal.aborted) return ids.map(() => undefined);
      return ids.map((id) => ({
        ok: false,
        error: new SecretFetchError(id, info.code, info.message, { ...info, cause: error }),
      }));
    }
    // Ids the batch neither returned nor reported (e.g. partial ARNs) are retried individually.
    return ids.map((id) => found.get(id));
  }

  private async getOne(request: SecretRequest, context: FetchContext): Promise<FetchOutcome> {
    try {
      const response = (await this.client.send(
        new GetSecretValueCommand({
          SecretId: request.id,
          ...(request.versionId ? { VersionId: request.versionId } : {}),
          ...(request.versionStage ? { VersionStage: request.versionStage } : {}),
        }),
        { abortSignal: context.signal },
      )) as {
        ARN?: string;
        VersionId?: string;
        SecretString?: string;
        SecretBinary?: Uint8Array;
        CreatedDate?: Date;
        $metadata?: { attempts?: number };
      };
      this.counters.record('GetSecretValue', response.$metadata?.attempts ?? 1, 'ok');
      return { ok: true, secret: toRaw(response) };
    } catch (error) {
      const info = classify(error);
      this.counters.record('GetSecretValue', attemptsOf(error), info.throttled ? 'throttled' : info.code);
      return { ok: false, error: new SecretFetchError(request.id, info.code, info.message, { ...info, cause: error }) };
    }
  }

  async close(): Promise<void> {
    if (this.ownsClient) (this.client as SecretsManagerClient).destroy();
    for (const failover of this.failovers) await failover.close();
  }
}

function toRaw(entry: {
  ARN?: string;
  VersionId?: string;
  SecretString?: string;
  SecretBinary?: Uint8Array;
  CreatedDate?: Date;
}): RawSecret {
  return {
    versionId: entry.VersionId ?? 'unknown',
    string: entry.SecretString,
    binary: entry.SecretString === undefined ? entry.SecretBinary : undefined,
    createdDate: entry.CreatedDate,
    arn: entry.ARN,
  };
}

/** An ARN id rewritten to a replica's Region (a replica's ARN differs only in the Region); names unchanged. */
function inRegion(id: string, region: string): string {
  if (!id.startsWith('arn:')) return id;
  const parts = id.split(':');
  if (parts.length < 7 || parts[2] !== 'secretsmanager') return id;
  parts[3] = region;
  return parts.join(':');
}

/** Does a requested id (name, full ARN or partial ARN) refer to the returned secret? */
function matchesSecret(id: string, name: string | undefined, arn: string | undefined): boolean {
  if (id === name || id === arn) return true;
  // A partial ARN omits the 6-character random suffix.
  return arn !== undefined && id.startsWith('arn:') && arn.startsWith(`${id}-`) && arn.length === id.length + 7;
}

function attemptsOf(error: unknown): number {
  return (error as { $metadata?: { attempts?: number } })?.$metadata?.attempts ?? 1;
}

/**
 * Classifies an SDK or network error into a code and retry flags. The message is kept only from
 * an error AWS answered (a modelled service exception: `$fault` and an HTTP status of 400 or more)
 * or from a Node system error; anything else — above all the SDK's `SyntaxError` for a 200 with a
 * broken body, whose text quotes that body — is reported by name, and no code is pulled out of
 * its text.
 */
export function classify(error: unknown): { code: string; message: string; retryable: boolean; throttled: boolean } {
  const e = error as {
    name?: string;
    code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
    $fault?: string;
  };
  const systemCode = typeof e?.code === 'string' && /^E[A-Z0-9_]+$/.test(e.code) ? e.code : undefined;
  let code = e?.name !== 'TimeoutError' && systemCode ? systemCode : errorCodeName(e?.name);
  if (code === 'Error' || code === 'SyntaxError') {
    // The SDK wraps non-Error throwables (e.g. a network error from another realm) as
    // "AWS SDK error wrapper for Error: connect ECONNREFUSED …": recover the errno code from that
    // wrapper only, and only a known network code (one of TRANSIENT_CODES).
    const wrapped = /^AWS SDK error wrapper for .*?\b(E[A-Z]{4,})\b/.exec(e?.message ?? '')?.[1];
    code = systemCode ?? (wrapped && TRANSIENT_CODES.has(wrapped) ? wrapped : code);
  }
  const status = e?.$metadata?.httpStatusCode;
  const throttled = THROTTLING_CODES.has(code) || status === 429;
  const retryable =
    throttled || TRANSIENT_CODES.has(code) || (status !== undefined && status >= 500) || e?.$fault === 'server';
  const answered = (e?.$fault === 'client' || e?.$fault === 'server') && status !== undefined && status >= 400;
  const trusted = (answered && code !== 'SyntaxError') || systemCode !== undefined || code === 'TimeoutError';
  const message =
    trusted && typeof e?.message === 'string' && e.message.length < 500
      ? e.message
      : `${code}${status !== undefined ? ` (HTTP ${status})` : ''}; the error text is withheld (it may quote the response)`;
  return { code, message, retryable, throttled };
}

function positiveInt(value: number, option: string): number {
  if (!Number.isInteger(value) || value < 1)
    throw new SecretsConfigError(option, `expected a positive integer, got ${String(value)}.`);
  return value;
}
