import type { SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { SecretsConfigError } from '../errors';
import type { LoggerLike } from '../logger';
import type { Duration } from '../validation';

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

export const OPTION_KEYS = [
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

/** A Region from the environment: blank counts as unset. */
export function blankToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** A positive integer option, or a SecretsConfigError naming it. */
export function positiveInt(value: number, option: string): number {
  if (!Number.isInteger(value) || value < 1)
    throw new SecretsConfigError(option, `expected a positive integer, got ${String(value)}.`);
  return value;
}
