import { createHash } from 'node:crypto';
import type * as SsmSdk from '@aws-sdk/client-ssm';
import { SecretFetchError, SecretsConfigError } from '../errors';
import { checkKnownKeys } from '../validation';
import { attemptsOf, classify } from './aws-errors';
import {
  DEFAULT_CONNECTION_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  blankToUndefined,
  positiveInt,
} from './aws-options';
import { withoutCredentials } from './aws-secrets-manager.source';
import { sleepUnlessAborted } from '../abort';
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

/** `GetParameters` takes at most 10 names per call. */
export const SSM_BATCH_SIZE = 10;

/** Throttled answers in a row (after the SDK's own retries) one page of a path may get before the path fails. */
const MAX_PAGE_RESUMES = 6;
/** First wait before a throttled page of a path is asked again; doubles each time, up to the cap. */
const PAGE_RESUME_BASE_MS = 500;
const PAGE_RESUME_CAP_MS = 8_000;

/** The name prefix under which Parameter Store serves Secrets Manager secrets. */
export const SSM_SECRETS_MANAGER_REFERENCE = '/aws/reference/secretsmanager/';

/** A client shape checked structurally, so any `SSMClient` copy or a wrapper works. */
export interface SsmClientLike {
  send(command: unknown, options?: { abortSignal?: AbortSignal }): Promise<unknown>;
}

/** Options of {@link ssmParameterStore}: bring a client, or let Hush build one. */
export interface SsmParameterStoreOptions {
  /** Your own `SSMClient` (from `@aws-sdk/client-ssm`); `region`, `endpoint` and `clientConfig` are then ignored. */
  client?: SsmClientLike;
  /** @default process.env.AWS_REGION */
  region?: string;
  /** e.g. `http://127.0.0.1:4566` for `@hush/emulator`. */
  endpoint?: string;
  /**
   * Extra `SSMClient` config (credentials, `maxAttempts`, `retryMode`, `requestHandler`…). Typed
   * loosely so that `@hush/core`'s types do not need `@aws-sdk/client-ssm` installed.
   */
  clientConfig?: object;
  /**
   * `GetParameters` calls (10 names each) and `GetParametersByPath` paths in flight at once. The
   * three share one quota (40 TPS by default, per account and Region): keep it small.
   * @default 4
   */
  concurrency?: number;
}

const OPTION_KEYS = ['client', 'region', 'endpoint', 'clientConfig', 'concurrency'] as const;

let sdk: typeof SsmSdk | undefined;
/** `@aws-sdk/client-ssm`, an optional peer dependency: loaded only by this source. */
function loadSsmSdk(): typeof SsmSdk {
  if (sdk) return sdk;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    sdk = require('@aws-sdk/client-ssm') as typeof SsmSdk;
  } catch (cause) {
    throw new SecretsConfigError(
      'ssmParameterStore',
      'ssmParameterStore() needs the AWS SDK for SSM: `npm i @aws-sdk/client-ssm` (an optional peer dependency of @hush/core).',
      { cause },
    );
  }
  return sdk;
}

/** The members of an SSM `Parameter` this package reads. */
export interface Parameter {
  Name?: string;
  Type?: string;
  Value?: string;
  Version?: number;
  Selector?: string;
  SourceResult?: string;
  LastModifiedDate?: Date;
  ARN?: string;
}

/**
 * AWS Systems Manager Parameter Store through the AWS SDK v3 client, for configuration beside
 * secrets: `GetParameters` for 10 names a call (chunks in parallel, at most `concurrency` at once),
 * always `WithDecryption`, and `GetParametersByPath` for `path: true` declarations. `String`,
 * `SecureString` and `StringList` parameters (declare `format: 'list'` for a `string[]`), selectors
 * `name:version` and `name:label` (in the id, or as `versionId` / `versionStage`), and Secrets
 * Manager secrets as `/aws/reference/secretsmanager/<secret-id>`. Throttling is retried by the SDK
 * (standard mode: exponential backoff with full jitter); what is left fails the round, and the
 * store backs off with jitter. SSM has no other API to spill over to.
 *
 * @example
 * new SecretStore(secrets, { source: awsSecretsManager(), sources: { ssm: ssmParameterStore({ region: 'eu-west-1' }) } })
 */
export function ssmParameterStore(options: SsmParameterStoreOptions = {}): SsmParameterStoreSource {
  return new SsmParameterStoreSource(options);
}

export class SsmParameterStoreSource implements Source {
  readonly kind = 'ssm-parameter-store';
  readonly paths = true;
  readonly location: string | undefined;
  readonly client: SsmClientLike;
  private readonly ownsClient: boolean;
  private readonly counters = new SourceCounters();
  private readonly concurrency: number;
  private readonly sdk: typeof SsmSdk;

  constructor(options: SsmParameterStoreOptions) {
    checkKnownKeys(options, OPTION_KEYS, 'ssmParameterStore');
    this.concurrency = positiveInt(options.concurrency ?? 4, 'ssmParameterStore.concurrency');
    this.sdk = loadSsmSdk();
    if (options.client) {
      if (typeof options.client.send !== 'function') {
        throw new SecretsConfigError(
          'ssmParameterStore.client',
          'expected an SSMClient (an object with a send() method).',
        );
      }
      this.client = options.client;
      this.ownsClient = false;
      this.location = undefined;
      return;
    }
    const config = (options.clientConfig ?? {}) as Readonly<Record<string, unknown>>;
    const region =
      options.region ??
      (typeof config['region'] === 'string' ? config['region'] : undefined) ??
      blankToUndefined(process.env.AWS_REGION) ??
      blankToUndefined(process.env.AWS_DEFAULT_REGION);
    if (region === undefined) {
      throw new SecretsConfigError(
        'ssmParameterStore.region',
        'no AWS Region. Pass ssmParameterStore({ region: "eu-west-1" }) or set AWS_REGION (or AWS_DEFAULT_REGION).',
      );
    }
    this.client = new this.sdk.SSMClient({
      region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      // The SDK's own retries: standard mode, exponential backoff with full jitter, throttling included.
      retryMode: 'standard',
      // The SDK has no timeout by default, and a requestTimeout only warns unless throwOnRequestTimeout is set.
      requestHandler: {
        requestTimeout: DEFAULT_REQUEST_TIMEOUT_MS,
        connectionTimeout: DEFAULT_CONNECTION_TIMEOUT_MS,
        throwOnRequestTimeout: true,
      },
      ...config,
    } as SsmSdk.SSMClientConfig);
    this.ownsClient = true;
    const endpoint = (typeof config['endpoint'] === 'string' ? config['endpoint'] : undefined) || options.endpoint;
    this.location = endpoint ? withoutCredentials(endpoint) : `Region ${region}`;
  }

  stats(): SourceStats {
    return this.counters.snapshot();
  }

  async fetch(requests: readonly SecretRequest[], context: FetchContext): Promise<readonly FetchOutcome[]> {
    const outcomes = new Array<FetchOutcome | undefined>(requests.length);
    // Each distinct name once (a version may be declared in the id or as versionId).
    const byName = new Map<string, number[]>();
    const paths: number[] = [];
    requests.forEach((r, i) => {
      if (r.path) return void paths.push(i);
      const name = nameOf(r);
      const at = byName.get(name);
      if (at) at.push(i);
      else byName.set(name, [i]);
    });
    const names = [...byName.keys()];
    const chunks: string[][] = [];
    for (let i = 0; i < names.length; i += SSM_BATCH_SIZE) chunks.push(names.slice(i, i + SSM_BATCH_SIZE));
    type Task = { readonly chunk: string[] } | { readonly path: number };
    const tasks: Task[] = [...chunks.map((chunk) => ({ chunk })), ...paths.map((path) => ({ path }))];
    await mapConcurrent(tasks, this.concurrency, async (task) => {
      if ('path' in task) {
        outcomes[task.path] = await this.getPath(requests[task.path]!, context);
        return;
      }
      const answers = await this.getChunk(task.chunk, context);
      task.chunk.forEach((name, j) => {
        // Errors name the parameter as sent (`name:3` for a pinned version).
        for (const i of byName.get(name)!) outcomes[i] = answers[j];
      });
    });
    // A name the answer neither returned nor reported is left out: the store reports it (NoResult).
    return outcomes as FetchOutcome[];
  }

  /**
   * One `GetParameters` call; a call that fails as a whole with an error one name can cause (a bad
   * name or selector: ValidationException) is split, so a bad name fails alone and the others load.
   */
  private async getChunk(names: readonly string[], context: FetchContext): Promise<(FetchOutcome | undefined)[]> {
    try {
      const response = (await this.client.send(
        new this.sdk.GetParametersCommand({ Names: [...names], WithDecryption: true }),
        { abortSignal: context.signal },
      )) as { Parameters?: Parameter[]; InvalidParameters?: string[]; $metadata?: { attempts?: number } };
      this.counters.record('GetParameters', response.$metadata?.attempts ?? 1, 'ok');
      const invalid = new Set(response.InvalidParameters ?? []);
      return names.map((name): FetchOutcome | undefined => {
        if (invalid.has(name)) return notFound(name);
        const parameter = (response.Parameters ?? []).find((p) => answers(name, p));
        return parameter === undefined ? undefined : { ok: true, secret: parameterToRaw(parameter) };
      });
    } catch (error) {
      const info = classify(error);
      this.counters.record('GetParameters', attemptsOf(error), info.throttled ? 'throttled' : info.code);
      if (!info.retryable && names.length > 1 && !context.signal.aborted) {
        const alone = await mapConcurrent(names, this.concurrency, (name) => this.getChunk([name], context));
        return alone.map((a) => a[0]);
      }
      return names.map((name) => ({
        ok: false as const,
        error: new SecretFetchError(name, info.code, info.message, { ...info, cause: error }),
      }));
    }
  }

  /** Every page of `GetParametersByPath` under one path: one record, refreshed as a unit. */
  private async getPath(request: SecretRequest, context: FetchContext): Promise<FetchOutcome> {
    const prefix = request.id.endsWith('/') ? request.id : `${request.id}/`;
    const path = prefix === '/' ? '/' : prefix.slice(0, -1);
    const found: Parameter[] = [];
    let nextToken: string | undefined;
    // Throttled answers in a row on one page after the first: that page is asked again (with
    // backoff) instead of failing the path, which would restart it from page 1 next round.
    let resumes = 0;
    do {
      try {
        const response = (await this.client.send(
          new this.sdk.GetParametersByPathCommand({
            Path: path,
            Recursive: request.path!.recursive,
            WithDecryption: true,
            ...(nextToken ? { NextToken: nextToken } : {}),
          }),
          { abortSignal: context.signal },
        )) as { Parameters?: Parameter[]; NextToken?: string; $metadata?: { attempts?: number } };
        this.counters.record('GetParametersByPath', response.$metadata?.attempts ?? 1, 'ok');
        found.push(...(response.Parameters ?? []));
        nextToken = response.NextToken;
        resumes = 0;
      } catch (error) {
        const info = classify(error);
        this.counters.record('GetParametersByPath', attemptsOf(error), info.throttled ? 'throttled' : info.code);
        if (info.throttled && nextToken && resumes < MAX_PAGE_RESUMES && !context.signal.aborted) {
          // Equal jitter: at least half the step, so pages already read are not lost to a tight loop.
          const step = Math.min(PAGE_RESUME_CAP_MS, PAGE_RESUME_BASE_MS * 2 ** resumes++);
          await sleepUnlessAborted(step / 2 + Math.random() * (step / 2), context.signal);
          if (!context.signal.aborted) continue;
        }
        return {
          ok: false,
          error: new SecretFetchError(request.id, info.code, info.message, { ...info, cause: error }),
        };
      }
    } while (nextToken);
    const entries = found
      .filter((p) => typeof p.Name === 'string' && p.Name.startsWith(prefix) && typeof p.Value === 'string')
      .map((p) => [p.Name!.slice(prefix.length), p] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (entries.length === 0) {
      return {
        ok: false,
        error: new SecretFetchError(
          request.id,
          'ParameterNotFound',
          `no parameter under path "${request.id}"${request.path!.recursive ? ' (recursive)' : ''}`,
          { retryable: false },
        ),
      };
    }
    // The record's version: every name and version under the path, so any change is a new version.
    const version = createHash('sha256');
    for (const [name, p] of entries) version.update(`${name}\u0000${String(p.Version)}\u0000`);
    const latest = Math.max(...entries.map(([, p]) => p.LastModifiedDate?.getTime() ?? 0));
    return {
      ok: true,
      secret: {
        versionId: `path-${version.digest('hex').slice(0, 32)}`,
        string: JSON.stringify(Object.fromEntries(entries.map(([name, p]) => [name, p.Value!]))),
        ...(latest > 0 ? { createdDate: new Date(latest) } : {}),
      },
    };
  }

  async close(): Promise<void> {
    if (this.ownsClient) (this.client as SsmSdk.SSMClient).destroy();
  }
}

/** The name sent to SSM: the id, with a declared `versionId` or `versionStage` as its selector. */
function nameOf(request: SecretRequest): string {
  const selector = request.versionId ?? request.versionStage;
  return selector === undefined ? request.id : `${request.id}:${selector}`;
}

function notFound(name: string): FetchOutcome {
  return {
    ok: false,
    error: new SecretFetchError(
      name,
      'ParameterNotFound',
      `parameter "${name}" not found (GetParameters InvalidParameters)`,
      {
        retryable: false,
      },
    ),
  };
}

/** Whether `p` answers the requested `name` (a name or ARN, with or without a selector). */
function answers(name: string, p: Parameter): boolean {
  const selector = p.Selector ?? '';
  if (p.Name !== undefined && `${p.Name}${selector}` === name) return true;
  if (!name.startsWith('arn:')) return false;
  if (p.ARN !== undefined && `${p.ARN}${selector}` === name) return true;
  // An ARN's resource is `parameter/a/b` for `/a/b` and `parameter/x` for `x`.
  return p.Name !== undefined && name.endsWith(`:parameter${p.Name.startsWith('/') ? '' : '/'}${p.Name}${selector}`);
}

/** A parameter as the store takes it (shared with the agent's Parameter Store route). */
export function parameterToRaw(p: Parameter): RawSecret {
  return {
    // A parameter's version is its Version; a Secrets Manager secret read through Parameter Store
    // carries its own VersionId in SourceResult (its Version is not the secret's).
    versionId: referenceVersion(p) ?? (typeof p.Version === 'number' ? String(p.Version) : (undefined as never)),
    string: p.Value,
    createdDate: p.LastModifiedDate,
    arn: p.ARN,
  };
}

/**
 * The version of a Secrets Manager secret read through Parameter Store: its `Version` is not the
 * secret's, so it comes from `SourceResult` (the secret's DescribeSecret): the version the
 * selector names (a version id or a staging label), else the AWSCURRENT one.
 */
function referenceVersion(p: Parameter): string | undefined {
  if (!p.Name?.startsWith(SSM_SECRETS_MANAGER_REFERENCE)) return undefined;
  let described: { VersionId?: unknown; VersionIdsToStages?: unknown } = {};
  try {
    if (typeof p.SourceResult === 'string') described = JSON.parse(p.SourceResult) as typeof described;
  } catch {
    // Not JSON: the fallback below.
  }
  if (typeof described.VersionId === 'string' && described.VersionId !== '') return described.VersionId;
  const selector = p.Selector?.startsWith(':') ? p.Selector.slice(1) : undefined;
  const stages =
    described.VersionIdsToStages !== null && typeof described.VersionIdsToStages === 'object'
      ? (described.VersionIdsToStages as Record<string, unknown>)
      : {};
  if (selector !== undefined && Object.prototype.hasOwnProperty.call(stages, selector)) return selector;
  const label = selector ?? 'AWSCURRENT';
  const found = Object.entries(stages).find(([, labels]) => Array.isArray(labels) && labels.includes(label));
  if (found) return found[0];
  // Neither: the version number with the modification time, so a change is still seen.
  return `${String(p.Version)}@${p.LastModifiedDate?.getTime() ?? 0}`;
}
