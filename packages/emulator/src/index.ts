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
/** The emulator's in-memory model (not `@hush/core`'s SecretStore). */
export { SecretStore as EmulatorSecretStore, AWSCURRENT, AWSPREVIOUS, AWSPENDING } from './secret-store';
export type { PutOptions, SecretValue, StoredSecret, StoredVersion } from './secret-store';
export { ServiceError, DEFAULT_ERROR_STATUS, statusForError } from './errors';
