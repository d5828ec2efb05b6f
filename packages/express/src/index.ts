export { createSecrets, type CreateSecretsOptions, type Hush } from './create-secrets';
export { type MiddlewareOptions, type SecretsMiddleware } from './secrets.middleware';
export { SecretNotVisibleError } from './errors';
export {
  toHealthCheckResult,
  type HealthCheckResult,
  type HealthCheckStatus,
  type HealthHandler,
  type HealthIndicatorStatus,
  type HealthOptions,
  type ReadinessOptions,
  type SecretsIndicator,
} from './secrets.health';
export { type NextFunction } from './misuse';
export { type HushSecrets } from './secrets-request';
// For options such as `refreshInterval: (process.env.REFRESH ?? '5m') as Duration` (checked at startup).
export type { Duration } from '@hush/core';
