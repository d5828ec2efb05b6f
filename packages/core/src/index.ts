export {
  defineSecrets,
  normalizeDeclarations,
  fetchKeyOf,
  type SecretDeclaration,
  type SecretDeclarationObject,
  type SecretDeclarations,
  type SecretFormat,
  type SecretName,
  type SecretValueOf,
  type InferSecrets,
  type NormalizedDeclaration,
} from './declarations';
export {
  SecretStore,
  type SecretStoreOptions,
  type Clock,
  type HealthReport,
  type SecretHealth,
  type SecretStatus,
  type StoreStatus,
  type StoreStats,
  type RotationInfo,
  type SecretListener,
} from './secret-store';
export { Secret, REDACTED, redactObject } from './secret';
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
export type { SecretsEvent, SecretsEventType, SecretsEventListener } from './events';
export { toLogger, silentLogger, type LoggerLike } from './logger';
export { parseDuration, checkKnownKeys, suggest, type Duration } from './validation';
export { MAX_SECRET_BYTES, MAX_JSON_DEPTH } from './parse';
export {
  SourceCounters,
  mapConcurrent,
  type Source,
  type SourceStats,
  type SecretRequest,
  type RawSecret,
  type FetchOutcome,
  type FetchContext,
  type ChangeListener,
} from './sources/source';
export {
  awsSecretsManager,
  AwsSecretsManagerSource,
  BATCH_SIZE,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_CONNECTION_TIMEOUT_MS,
  classify as classifyAwsError,
  type AwsSecretsManagerOptions,
  type SecretsManagerClientLike,
} from './sources/aws-secrets-manager.source';
export { memorySource, MemorySource, type MemoryValue } from './sources/memory.source';
export { DEFAULT_FAILOVER_TIMEOUT_MS } from './sources/aws-secrets-manager.source';
export {
  secretsManagerAgent,
  SecretsManagerAgentSource,
  parseAgentDate,
  DEFAULT_AGENT_URL,
  AGENT_TOKEN_HEADER,
  AGENT_TOKEN_ENV,
  type SecretsManagerAgentOptions,
} from './sources/secrets-manager-agent.source';
export { mountedFiles, MountedFilesSource, type MountedFilesOptions } from './sources/mounted-files.source';
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
