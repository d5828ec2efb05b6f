export {
  SecretsModule,
  type SecretsModuleRootOptions,
  type SecretsModuleAsyncOptions,
  type SecretsTestingOptions,
} from './secrets.module';
export {
  MODULE_OPTIONS_TOKEN,
  type SecretsModuleOptions,
  type SecretsModuleFactoryOptions,
  type SecretsModuleExtras,
} from './secrets.module-definition';
export { InjectSecret } from './inject-secret.decorator';
export { OnSecretRotation } from './on-secret-rotation.decorator';
export { SECRETS_MODULE_OPTIONS, SECRETS_TESTING_SOURCE, LOGGER_CONTEXT } from './secrets.constants';
export { getSecretToken } from './inject-secret.decorator';
export { SecretsService, type SecretRotatedEvent } from './secrets.service';
export {
  SecretsHealthIndicator,
  type SecretsHealthOptions,
  type SecretsHealthData,
  type SecretsHealthResult,
} from './secrets.health';
export { UndeclaredSecretError, type SecretInjectionProblem } from './errors';
export { createNestLogger, type NestLoggerOptions } from './secrets.logger';
export type { SecretsRegistry, SecretKey } from './secrets.registry';
// What a Nest app writes in its own code comes from this package too, so one import is enough:
// the store and declarations, the sources, the errors it may catch, and the types of hook
// arguments (`RotationInfo`), `events$` (`SecretsEvent`), `health()`/`stats()` and the options.
export {
  SecretStore,
  Secret,
  SecretBytes,
  defineSecrets,
  awsSecretsManager,
  secretsManagerAgent,
  mountedFiles,
  memorySource,
  sourceFromEnv,
  SecretsError,
  SecretsLoadError,
  SecretNotFoundError,
  SecretNotLoadedError,
  SecretParseError,
  SecretValidationError,
  SecretFetchError,
  SecretsConfigError,
  SecretsStoreClosedError,
  errorCodeOf,
  type InferSecrets,
  type SecretDeclarations,
  type SecretName,
  type SecretValueOf,
  type SecretFailure,
  type RotationInfo,
  type SecretsEvent,
  type SecretsEventType,
  type HealthReport,
  type SecretHealth,
  type SecretStatus,
  type StoreStatus,
  type StoreStats,
  type Source,
  type LoggerLike,
  type MeterProviderLike,
  // For options such as `refreshInterval: (process.env.REFRESH ?? '5m') as Duration` (checked at startup).
  type Duration,
} from '@hush/core';
