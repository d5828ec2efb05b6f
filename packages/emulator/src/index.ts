export { startEmulator, Emulator, OPERATIONS } from './emulator';
export type {
  CallCounts,
  EmulatorClientConfig,
  EmulatorOptions,
  LoggerLike,
  Operation,
  PutSecretOptions,
  Seed,
  SeedFile,
  SeedSecret,
  SeedVersion,
} from './emulator';
export { ROTATION_STEPS } from './rotation';
export type { RotationContext, RotationEvent, RotationFunction, RotationRecord, RotationStep } from './rotation';
// Vault mode (#26): Vault's HTTP API on its own server (src/vault/).
export * from './vault/index';
export type { Duration } from './schedule';
export { startAgent, Agent, formatAgentDate } from './agent';
export type {
  AgentCalls,
  AgentFaultOptions,
  AgentOptions,
  AgentUpstream,
  AgentUpstreamInput,
  AgentUpstreamValue,
} from './agent';
export { AWS_QUOTAS, FaultRegistry, Throttler, TokenBucket } from './faults';
export type { ActiveFault, FaultOptions, QuotaConfig, ThrottleLimit } from './faults';
/** The emulator's in-memory model of secrets, versions and labels. */
export { SecretsModel, AWSCURRENT, AWSPREVIOUS, AWSPENDING } from './secrets-model';
export type {
  PutOptions,
  RotationRules,
  SecretValue,
  StoredReplica,
  StoredSecret,
  StoredVersion,
} from './secrets-model';
export { ServiceError, DEFAULT_ERROR_STATUS, statusForError } from './errors';
