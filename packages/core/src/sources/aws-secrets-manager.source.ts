import {
  BatchGetSecretValueCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
  type SecretsManagerClientConfig,
} from '@aws-sdk/client-secrets-manager';
import { SecretFetchError, SecretsConfigError } from '../errors';
import type { LoggerLike } from '../logger';
import { checkKnownKeys } from '../validation';
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
  /** Receives the one-time batch fallback warning. Usually set by the store. */
  logger?: LoggerLike;
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

const OPTION_KEYS = ['client', 'region', 'endpoint', 'clientConfig', 'batch', 'spillover', 'concurrency', 'batchConcurrency', 'logger'];

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
 */
export function awsSecretsManager(options: AwsSecretsManagerOptions = {}): AwsSecretsManagerSource {
  return new AwsSecretsManagerSource(options);
}

export class AwsSecretsManagerSource implements Source {
  readonly kind = 'aws-secrets-manager';
  readonly client: SecretsManagerClientLike;
  private readonly ownsClient: boolean;
  private readonly counters = new SourceCounters();
  private batchDenied = false;
  private readonly batch: boolean;
  private readonly spillover: boolean;
  private readonly concurrency: number;
  private readonly batchConcurrency: number;
  logger: LoggerLike | undefined;

  constructor(options: AwsSecretsManagerOptions) {
    checkKnownKeys(options, OPTION_KEYS, 'awsSecretsManager');
    this.batch = options.batch ?? true;
    this.spillover = options.spillover ?? true;
    this.concurrency = positiveInt(options.concurrency ?? 10, 'awsSecretsManager.concurrency');
    this.batchConcurrency = positiveInt(options.batchConcurrency ?? 4, 'awsSecretsManager.batchConcurrency');
    this.logger = options.logger;
    if (options.client) {
      if (typeof options.client.send !== 'function') {
        throw new SecretsConfigError('awsSecretsManager.client', 'expected a SecretsManagerClient (an object with a send() method).');
      }
      this.client = options.client;
      this.ownsClient = false;
    } else {
      this.client = new SecretsManagerClient({
        ...(options.region ? { region: options.region } : {}),
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        retryMode: 'adaptive',
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
  }

  stats(): SourceStats {
    return this.counters.snapshot();
  }

  async fetch(requests: readonly SecretRequest[], context: FetchContext): Promise<readonly FetchOutcome[]> {
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
          SecretValues?: { ARN?: string; Name?: string; VersionId?: string; SecretString?: string; SecretBinary?: Uint8Array; CreatedDate?: Date }[];
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
          this.logger?.warn(
            'BatchGetSecretValue was denied (AccessDeniedException); falling back to one GetSecretValue call per secret. ' +
              'Grant secretsmanager:BatchGetSecretValue to load secrets in ceil(n/20) calls.',
            { event: 'batch-denied' },
          );
        }
        return ids.map(() => undefined);
      }
      if (info.throttled && this.spillover && !context.signal.aborted) return ids.map(() => undefined);
      return ids.map((id) => ({ ok: false, error: new SecretFetchError(id, info.code, info.message, { ...info, cause: error }) }));
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
      )) as { ARN?: string; VersionId?: string; SecretString?: string; SecretBinary?: Uint8Array; CreatedDate?: Date; $metadata?: { attempts?: number } };
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
  }
}

function toRaw(entry: { ARN?: string; VersionId?: string; SecretString?: string; SecretBinary?: Uint8Array; CreatedDate?: Date }): RawSecret {
  return {
    versionId: entry.VersionId ?? 'unknown',
    string: entry.SecretString,
    binary: entry.SecretString === undefined ? entry.SecretBinary : undefined,
    createdDate: entry.CreatedDate,
    arn: entry.ARN,
  };
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

/** Classifies an SDK or network error into a code and retry flags. Messages from AWS never carry values. */
export function classify(error: unknown): { code: string; message: string; retryable: boolean; throttled: boolean } {
  const e = error as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number }; $fault?: string };
  let code = e?.name !== 'TimeoutError' && e?.code && /^E[A-Z]+$/.test(e.code) ? e.code : (e?.name ?? 'UnknownError');
  if (code === 'Error' || code === 'SyntaxError') code = e?.code ?? 'UnknownError';
  const status = e?.$metadata?.httpStatusCode;
  const throttled = THROTTLING_CODES.has(code) || status === 429;
  const retryable = throttled || TRANSIENT_CODES.has(code) || (status !== undefined && status >= 500) || e?.$fault === 'server';
  const message = typeof e?.message === 'string' && e.message.length < 500 ? e.message : code;
  return { code, message, retryable, throttled };
}

function positiveInt(value: number, option: string): number {
  if (!Number.isInteger(value) || value < 1) throw new SecretsConfigError(option, `expected a positive integer, got ${String(value)}.`);
  return value;
}
