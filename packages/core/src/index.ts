/**
 * `@hush/core`: what applications use. Helpers for adapters and custom sources live in
 * `@hush/core/internal` (not covered by semver).
 *
 * @packageDocumentation
 */
export {
  defineSecrets,
  type SecretDeclaration,
  type SecretDeclarationObject,
  type SecretDeclarations,
  type SecretFormat,
  type SecretName,
  type SecretValueOf,
  type InferSecrets,
} from './declarations';
export { SecretStore } from './secret-store';
export { type SecretStoreOptions, type Clock, type BackoffConfig, type RotationScheduleOptions } from './store-options';
export { type HealthReport, type SecretHealth, type SecretStatus, type StoreStatus, type StoreStats } from './health';
export { Secret } from './secret';
export { SecretBytes } from './secret-bytes';
export { REDACTED, redactObject } from './redaction';
export {
  ErrorCodes,
  SecretsError,
  SecretsConfigError,
  SecretsLoadError,
  SecretNotFoundError,
  SecretNotLoadedError,
  SecretParseError,
  SecretValidationError,
  SecretFetchError,
  SecretsStoreClosedError,
  errorCodeOf,
  type ErrorCode,
  type SecretFailure,
  type ValidationIssue,
} from './errors';
export {
  type SecretsEvent,
  type SecretsEventType,
  type SecretsEventListener,
  type RotationInfo,
  type SecretListener,
} from './events';
export { silentLogger, type LoggerLike } from './logger';
export { parseDuration, type Duration } from './validation';
export { MAX_SECRET_BYTES, MAX_JSON_DEPTH } from './parse';
export {
  type Source,
  type SourceStats,
  type SecretRequest,
  type RawSecret,
  type FetchOutcome,
  type FetchContext,
  type ChangeListener,
  type SecretDescription,
  type DescribeOutcome,
  type CurrentVersion,
} from './sources/source';
export { awsSecretsManager, AwsSecretsManagerSource, BATCH_SIZE } from './sources/aws-secrets-manager.source';
export {
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_CONNECTION_TIMEOUT_MS,
  DEFAULT_FAILOVER_TIMEOUT_MS,
  type AwsSecretsManagerOptions,
  type SecretsManagerClientLike,
} from './sources/aws-options';
export { memorySource, MemorySource, type MemoryValue } from './sources/memory.source';
export {
  ssmParameterStore,
  SsmParameterStoreSource,
  SSM_BATCH_SIZE,
  SSM_SECRETS_MANAGER_REFERENCE,
  type SsmClientLike,
  type SsmParameterStoreOptions,
} from './sources/ssm-parameter-store.source';
export {
  secretsManagerAgent,
  SecretsManagerAgentSource,
  DEFAULT_AGENT_URL,
  AGENT_TOKEN_HEADER,
  AGENT_TOKEN_ENV,
  type SecretsManagerAgentOptions,
} from './sources/secrets-manager-agent.source';
export {
  mountedFiles,
  MountedFilesSource,
  externalSecretsKey,
  type MountedFilesOptions,
} from './sources/mounted-files.source';
export {
  sourceFromEnv,
  sourceKindFromEnv,
  SOURCE_KINDS,
  type SourceKind,
  type SourceFromEnvOverrides,
} from './sources/source-from-env';
export { HUSH_METRICS, STORE_STATUS_VALUES, type MeterProviderLike } from './metrics';
export {
  refreshOnFailure,
  type AnySecretStore,
  type RefreshOnFailure,
  type RefreshOnFailureOptions,
  type SecretCandidate,
} from './refresh-on-failure';
