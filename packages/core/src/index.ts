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
export { SecretStore } from './secret-store';
export {
  SECRET_STORE_OPTION_KEYS,
  resolveStoreOptions,
  type SecretStoreOptions,
  type Clock,
  type ResolvedStoreOptions,
  type BackoffConfig,
} from './store-options';
export {
  computeHealth,
  failingNames,
  type HealthReport,
  type SecretHealth,
  type SecretStatus,
  type StoreStatus,
  type StoreStats,
  type SecretState,
} from './health';
export { bootBackoff, refreshBackoff, jitteredInterval } from './backoff';
export { Secret } from './secret';
export {
  REDACTED,
  FRAGMENT_LENGTH,
  Fragments,
  redactObject,
  redactedRecord,
  hiddenAccessors,
  scrub,
  describeError,
  type ReadOnlyFailure,
} from './redaction';
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
  errorCodeName,
  type ErrorCode,
  type SecretFailure,
  type ValidationIssue,
} from './errors';
export {
  logEvent,
  type SecretsEvent,
  type SecretsEventType,
  type SecretsEventListener,
  type RotationInfo,
  type SecretListener,
} from './events';
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
