/**
 * `@hush/core/internal`: the helpers Hush's own adapters (`@hush/nestjs`, `@hush/express`,
 * `@hush/database`) and custom sources build on — option checking, logger normalisation,
 * redaction of foreign text, health filtering, the pure units of the store.
 *
 * Not covered by semver: a minor release of `@hush/core` may change anything here. Applications
 * import from `@hush/core`.
 *
 * @packageDocumentation
 */
export { checkKnownKeys, keysOf, suggest } from './validation';
export { toLogger } from './logger';
export { FRAGMENT_LENGTH, Fragments, redactedRecord, hiddenAccessors, scrub, type ReadOnlyFailure } from './redaction';
export { describeError, carriesAnyValue } from './value-index';
export { errorCodeName } from './errors';
export { logEvent } from './events';
export { computeHealth, failingNames, type SecretState } from './health';
export { SECRET_STORE_OPTION_KEYS, resolveStoreOptions, type ResolvedStoreOptions } from './store-options';
export { bootBackoff, refreshBackoff, jitteredInterval } from './backoff';
export { normalizeDeclarations, fetchKeyOf, type NormalizedDeclaration } from './declarations';
export { SourceCounters, mapConcurrent } from './sources/source';
export { classify as classifyAwsError } from './sources/aws-errors';
export { parseAgentDate } from './sources/secrets-manager-agent.source';
export { isProbe, type ViewSpec } from './view-probes';
export {
  HEALTH_OPTION_KEYS,
  READINESS_OPTION_KEYS,
  toHealthCheckResult,
  type HealthCheckStatus,
  type HealthIndicatorStatus,
  type SecretsIndicator,
  type HealthCheckResult,
  type HealthOptions,
  type ReadinessOptions,
} from './health-check';
