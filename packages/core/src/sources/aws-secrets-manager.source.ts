import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { fetchKeyOf } from '../declarations';
import { SecretFetchError, SecretsConfigError, errorCodeName } from '../errors';
import type { LoggerLike } from '../logger';
import { checkKnownKeys, parseDuration } from '../validation';
import { identityProblem, invalidAnswer, matchesSecret } from './answers';
import {
  SourceCounters,
  mapConcurrent,
  type DescribeOutcome,
  type FetchContext,
  type FetchOutcome,
  type RawSecret,
  type SecretRequest,
  type Source,
  type SourceStats,
} from './source';
import { attemptsOf, classify, isThrottlingCode, isTransientCode, loadSdk } from './aws-errors';
import {
  DEFAULT_CONNECTION_TIMEOUT_MS,
  DEFAULT_FAILOVER_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  OPTION_KEYS,
  blankToUndefined,
  positiveInt,
  type AwsSecretsManagerOptions,
  type SecretsManagerClientLike,
} from './aws-options';

/** Superseded version ids remembered per secret, to recognise a replica that has not caught up. */
const SUPERSEDED_KEPT = 8;

/** The newest version this source has returned for one request, and the versions it replaced. */
interface Served {
  versionId: string;
  createdAt: number | undefined;
  readonly superseded: string[];
}

/** After a denied BatchGetSecretValue, the next probe waits this long, doubling per denial up to BATCH_REPROBE_MAX_MS. */
const BATCH_REPROBE_MS = 60_000;
const BATCH_REPROBE_MAX_MS = 30 * 60_000;

/** `BatchGetSecretValue` takes at most 20 ids per call. */
export const BATCH_SIZE = 20;

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
  /** The endpoint when one is configured (without credentials), else `Region <region>`; with your own `client`, its Region when given. */
  readonly location: string | undefined;
  readonly client: SecretsManagerClientLike;
  private readonly ownsClient: boolean;
  private readonly counters: SourceCounters;
  /** The Region this source reads, when known (reported in health only with failover). */
  private readonly region: string | undefined;
  private readonly failovers: AwsSecretsManagerSource[] = [];
  private readonly failoverTimeout: number;
  /** With failover: per request, the newest version returned from any Region (see {@link isBehind}). */
  private readonly served = new Map<string, Served>();
  /** Consecutive denied BatchGetSecretValue probes, and when the next probe may go (monotonic ms). */
  private batchDenials = 0;
  private batchProbeAt = 0;
  private readonly batch: boolean;
  private readonly spillover: boolean;
  private readonly concurrency: number;
  private readonly batchConcurrency: number;
  private readonly logger: LoggerLike | undefined;
  /**
   * Ids that broke a whole batch and then failed alone too (a secret with no value, an id the
   * batch API rejects): fetched alone with GetSecretValue until they succeed, so their batch
   * stays one call.
   */
  private readonly alone = new Set<string>();

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
      const region =
        options.region ??
        options.clientConfig?.region ??
        blankToUndefined(process.env.AWS_REGION) ??
        blankToUndefined(process.env.AWS_DEFAULT_REGION);
      if (region === undefined) {
        throw new SecretsConfigError(
          'awsSecretsManager.region',
          'no AWS Region. Pass awsSecretsManager({ region: "eu-west-1" }) or set AWS_REGION (or AWS_DEFAULT_REGION).',
        );
      }
      const endpoint = (options.region && options.endpoints?.[options.region]) || options.endpoint;
      this.client = new (loadSdk().SecretsManagerClient)({
        region,
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
      (options.client
        ? undefined
        : ((options.clientConfig?.region as string | undefined) ??
          blankToUndefined(process.env.AWS_REGION) ??
          blankToUndefined(process.env.AWS_DEFAULT_REGION)));
    const configured = options.client
      ? undefined
      : // clientConfig is spread last into the client's config, so its endpoint wins there too.
        (typeof options.clientConfig?.endpoint === 'string' ? options.clientConfig.endpoint : undefined) ||
        (options.region && options.endpoints?.[options.region]) ||
        options.endpoint ||
        undefined;
    this.location =
      configured !== undefined
        ? withoutCredentials(configured)
        : this.region !== undefined
          ? `Region ${this.region}${options.failoverRegions?.length ? `, failover ${options.failoverRegions.join(', ')}` : ''}`
          : undefined;
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
    // The primary Region is authoritative (an operator's rollback there is served); replicas are not.
    outcomes.forEach((o, i) => o.ok && this.remember(requests[i]!, o.secret));
    for (const failover of this.failovers) {
      const retry = outcomes.flatMap((o, i) => (!o.ok && o.error.retryable ? [i] : []));
      if (retry.length === 0 || context.signal.aborted) break;
      const region = failover.region!;
      const replicaRequests = retry.map((i) => ({ ...requests[i]!, id: inRegion(requests[i]!.id, region) }));
      const replica = await this.fetchWithin(failover, replicaRequests, context);
      outcomes = [...outcomes];
      let served = 0;
      let behind = 0;
      retry.forEach((reqIndex, j) => {
        const o = replica[j];
        // A replica's own failure keeps the primary's (transient) error, so the store keeps retrying;
        // so does a replica that has not replicated the version already served (never go back).
        if (!o?.ok) return;
        if (this.isBehind(requests[reqIndex]!, o.secret)) return void behind++;
        this.remember(requests[reqIndex]!, o.secret);
        outcomes[reqIndex] = this.tag(o, region);
        served++;
      });
      if (behind > 0) {
        context.logger?.warn(
          `Failover Region ${region} holds an older version of ${behind} secret(s) than already served (replication lag); keeping the served version`,
          { event: 'replica-behind', region, count: behind },
        );
      }
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

  /** Records the version returned for `request`; the one it replaces counts as superseded. */
  private remember(request: SecretRequest, secret: RawSecret): void {
    const key = fetchKeyOf(request.id, request.versionId, request.versionStage);
    const createdAt = secret.createdDate?.getTime();
    const known = this.served.get(key);
    if (known === undefined) {
      this.served.set(key, { versionId: secret.versionId, createdAt, superseded: [] });
    } else if (known.versionId !== secret.versionId) {
      known.superseded.push(known.versionId);
      if (known.superseded.length > SUPERSEDED_KEPT) known.superseded.shift();
      const back = known.superseded.indexOf(secret.versionId);
      if (back >= 0) known.superseded.splice(back, 1);
      known.versionId = secret.versionId;
      known.createdAt = createdAt;
    }
  }

  /**
   * Whether a replica's answer is older than the version already returned for `request`: a version
   * that was superseded, or one created before it (`CreatedDate`). Replication is asynchronous, so
   * right after a rotation a replica still holds the previous version.
   */
  private isBehind(request: SecretRequest, secret: RawSecret): boolean {
    const known = this.served.get(fetchKeyOf(request.id, request.versionId, request.versionStage));
    if (known === undefined || known.versionId === secret.versionId) return false;
    if (known.superseded.includes(secret.versionId)) return true;
    const createdAt = secret.createdDate?.getTime();
    return createdAt !== undefined && known.createdAt !== undefined && createdAt < known.createdAt;
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
    requests.forEach((r, i) =>
      (this.batch && !r.versionId && !r.versionStage && !this.alone.has(r.id) ? batchable : single).push(i),
    );

    const chunks: number[][] = [];
    for (let i = 0; i < batchable.length; i += BATCH_SIZE) chunks.push(batchable.slice(i, i + BATCH_SIZE));
    const leftovers: number[] = [];
    const isolate: number[] = [];
    let denied = false;
    const runChunk = async (chunk: readonly number[]): Promise<void> => {
      if (this.batchDenials > 0 && performance.now() < this.batchProbeAt) return void leftovers.push(...chunk);
      const ids = chunk.map((i) => requests[i]!.id);
      const result = await this.batchGet(ids, context);
      if (result === 'denied') {
        denied = true;
        return void leftovers.push(...chunk);
      }
      if (result === 'isolate') return void isolate.push(...chunk);
      chunk.forEach((reqIndex, j) => {
        const r = result[j];
        if (r === undefined) leftovers.push(reqIndex);
        else outcomes[reqIndex] = r;
      });
    };
    const probe = this.batchDenials > 0 ? chunks.shift() : undefined;
    await Promise.all([
      (async () => {
        // After a denial, one chunk probes first; the others follow as batches only if it was allowed.
        if (probe) await runChunk(probe);
        if (denied) this.batchDenied(context);
        else await mapConcurrent(chunks, this.batchConcurrency, runChunk);
      })(),
      mapConcurrent(single, this.concurrency, async (i) => {
        outcomes[i] = await this.getOne(requests[i]!, context);
      }),
    ]);
    if (denied && !probe) this.batchDenied(context);
    else if (denied) leftovers.push(...chunks.flat());
    await mapConcurrent(leftovers, this.concurrency, async (i) => {
      outcomes[i] = await this.getOne(requests[i]!, context);
    });
    await this.isolate(requests, isolate, outcomes, context);
    return outcomes;
  }

  /**
   * The ids of batches that failed as a whole with an error one id can cause, each fetched alone
   * so that a bad id fails alone (with its own error) and the others load. At most one call per
   * id, `concurrency` at a time; after a throttled answer the rest are not called (they report
   * the throttling, and the store backs off). An id that fails alone is kept out of later batches.
   */
  private async isolate(
    requests: readonly SecretRequest[],
    indexes: readonly number[],
    outcomes: FetchOutcome[],
    context: FetchContext,
  ): Promise<void> {
    let throttled: SecretFetchError | undefined;
    await mapConcurrent(indexes, this.concurrency, async (i) => {
      const request = requests[i]!;
      if (throttled !== undefined) {
        outcomes[i] = {
          ok: false,
          error: new SecretFetchError(request.id, throttled.awsCode, 'not called: GetSecretValue is being throttled', {
            retryable: true,
            throttled: true,
          }),
        };
        return;
      }
      const outcome = await this.getOne(request, context);
      outcomes[i] = outcome;
      if (outcome.ok) this.alone.delete(request.id);
      else if (outcome.error.throttled) throttled ??= outcome.error;
      else if (!outcome.error.retryable) this.alone.add(request.id);
    });
  }

  /**
   * Records one denied round of BatchGetSecretValue. Denials can be transient (a policy still
   * propagating at pod start): the source falls back now and probes again on the next fetch, then
   * after 1 min, 2 min, … up to 30 min.
   */
  private batchDenied(context: FetchContext): void {
    if (this.batchDenials === 0) {
      context.logger?.warn(
        'BatchGetSecretValue was denied (AccessDeniedException); falling back to one GetSecretValue call per secret. ' +
          'Grant secretsmanager:BatchGetSecretValue to load secrets in ceil(n/20) calls.',
        { event: 'batch-denied' },
      );
    }
    this.batchDenials++;
    this.batchProbeAt =
      performance.now() +
      (this.batchDenials === 1 ? 0 : Math.min(BATCH_REPROBE_MAX_MS, BATCH_REPROBE_MS * 2 ** (this.batchDenials - 2)));
  }

  /**
   * One outcome per id, `undefined` for ids to retry with GetSecretValue, 'denied'
   * (AccessDeniedException), or 'isolate' (the whole call failed with an error one id can cause).
   */
  private async batchGet(
    ids: readonly string[],
    context: FetchContext,
  ): Promise<(FetchOutcome | undefined)[] | 'denied' | 'isolate'> {
    const found = new Map<string, FetchOutcome>();
    let nextToken: string | undefined;
    try {
      do {
        const response = (await this.client.send(
          new (loadSdk().BatchGetSecretValueCommand)({
            SecretIdList: [...ids],
            ...(nextToken ? { NextToken: nextToken } : {}),
          }),
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
        if (this.batchDenials > 0) {
          this.batchDenials = 0;
          context.logger?.info('BatchGetSecretValue is allowed again; loading secrets in batches of 20.', {
            event: 'batch-allowed',
          });
        }
        for (const entry of response.SecretValues ?? []) {
          const id = ids.find((candidate) => matchesSecret(candidate, entry.Name, entry.ARN) && !found.has(candidate));
          if (id !== undefined) found.set(id, { ok: true, secret: toRaw(entry) });
        }
        for (const error of response.Errors ?? []) {
          const id = error.SecretId;
          if (id === undefined || !ids.includes(id) || found.has(id)) continue;
          // A foreign code: an identifier of at most 64 characters, else UnknownError (never a line break or a body).
          const code = errorCodeName(error.ErrorCode);
          found.set(id, {
            ok: false,
            error: new SecretFetchError(id, code, error.Message ?? code, {
              retryable: isThrottlingCode(code) || isTransientCode(code),
              throttled: isThrottlingCode(code),
            }),
          });
        }
        nextToken = response.NextToken;
      } while (nextToken && found.size < ids.length);
    } catch (error) {
      const info = classify(error);
      this.counters.record('BatchGetSecretValue', attemptsOf(error), info.throttled ? 'throttled' : info.code);
      if (info.code === 'AccessDeniedException') return 'denied';
      if (info.throttled && this.spillover && !context.signal.aborted) return ids.map(() => undefined);
      // A client error other than throttling or denial (an id the API rejects, a secret with no
      // value: moto and LocalStack fail the whole call for it) would fail every id of the batch.
      if (!info.retryable && ids.length > 1 && !context.signal.aborted) return 'isolate';
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
        new (loadSdk().GetSecretValueCommand)({
          SecretId: request.id,
          ...(request.versionId ? { VersionId: request.versionId } : {}),
          ...(request.versionStage ? { VersionStage: request.versionStage } : {}),
        }),
        { abortSignal: context.signal },
      )) as {
        ARN?: string;
        Name?: string;
        VersionId?: string;
        SecretString?: string;
        SecretBinary?: Uint8Array;
        CreatedDate?: Date;
        $metadata?: { attempts?: number };
      };
      const wrong = identityProblem(request.id, response.Name, response.ARN);
      if (wrong !== undefined) {
        this.counters.record('GetSecretValue', response.$metadata?.attempts ?? 1, 'InvalidSourceResponse');
        return invalidAnswer(request.id, this.kind, wrong);
      }
      this.counters.record('GetSecretValue', response.$metadata?.attempts ?? 1, 'ok');
      return { ok: true, secret: toRaw(response) };
    } catch (error) {
      const info = classify(error);
      this.counters.record('GetSecretValue', attemptsOf(error), info.throttled ? 'throttled' : info.code);
      return { ok: false, error: new SecretFetchError(request.id, info.code, info.message, { ...info, cause: error }) };
    }
  }

  /**
   * `DescribeSecret` per id (no values, no decryption), `concurrency` at a time, in the primary
   * Region: the rotation schedule and the AWSCURRENT version, for the store's `rotationSchedule`.
   */
  async describe(ids: readonly string[], context: FetchContext): Promise<readonly DescribeOutcome[]> {
    return mapConcurrent(ids, this.concurrency, async (id): Promise<DescribeOutcome> => {
      try {
        const r = (await this.client.send(new (loadSdk().DescribeSecretCommand)({ SecretId: id }), {
          abortSignal: context.signal,
        })) as {
          RotationEnabled?: boolean;
          NextRotationDate?: Date;
          LastRotatedDate?: Date;
          VersionIdsToStages?: Record<string, string[]>;
          $metadata?: { attempts?: number };
        };
        this.counters.record('DescribeSecret', r.$metadata?.attempts ?? 1, 'ok');
        const stages = Object.entries(r.VersionIdsToStages ?? {});
        return {
          ok: true,
          description: {
            rotationEnabled: r.RotationEnabled === true,
            nextRotationDate: r.NextRotationDate,
            lastRotatedDate: r.LastRotatedDate,
            currentVersionId: stages.find(([, labels]) => labels.includes('AWSCURRENT'))?.[0],
            // AWSPENDING on the AWSCURRENT version is what AWS's rotation templates leave after a finished rotation.
            rotationPending: stages.some(
              ([, labels]) => labels.includes('AWSPENDING') && !labels.includes('AWSCURRENT'),
            ),
          },
        };
      } catch (error) {
        const info = classify(error);
        this.counters.record('DescribeSecret', attemptsOf(error), info.throttled ? 'throttled' : info.code);
        return { ok: false, error: new SecretFetchError(id, info.code, info.message, { ...info, cause: error }) };
      }
    });
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
    // Unchecked here: the store rejects a missing or non-string VersionId (never 'unknown', which
    // would freeze the value, since every later version would look the same).
    versionId: entry.VersionId as string,
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

/** An endpoint URL as log lines show it: without `user:password@`, query or fragment. */
export function withoutCredentials(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    return '(an endpoint that is not a URL)';
  }
}
