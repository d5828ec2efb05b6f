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
// The core types a Nest app touches most, so one import is enough.
export {
  SecretStore,
  Secret,
  defineSecrets,
  awsSecretsManager,
  memorySource,
  SecretsLoadError,
  SecretNotFoundError,
  SecretsConfigError,
  type InferSecrets,
  type SecretDeclarations,
  // For options such as `refreshInterval: (process.env.REFRESH ?? '5m') as Duration` (checked at startup).
  type Duration,
} from '@hush/core';
