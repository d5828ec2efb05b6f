/**
 * `@hush/lambda`: Lambda handlers that serve the right secret value on every invoke, the first
 * after a freeze included. Middy: `@hush/lambda/middy`.
 *
 * @packageDocumentation
 */
export { withSecrets, type LambdaHandler, type SecretsHandler } from './with-secrets';
export {
  type LambdaContextLike,
  type LambdaSecretStore,
  type LambdaSecretsOptions,
  type RefreshMode,
} from './invoke-gate';
export { isManagedInstances } from './lambda-env';
// For options such as `refreshTimeout: (process.env.REFRESH_TIMEOUT ?? '1s') as Duration` (checked at startup).
export type { Duration } from '@hush/core';
