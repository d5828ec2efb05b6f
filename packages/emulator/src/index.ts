export { startEmulator, Emulator, OPERATIONS, SSM_OPERATIONS } from './emulator';
export type {
  CallCounts,
  EmulatorClientConfig,
  EmulatorOptions,
  LoggerLike,
  Operation,
  PutParameterOptions,
  PutSecretOptions,
  Seed,
  SeedFile,
  SeedParameter,
  SeedParameters,
  SeedParameterVersion,
  SsmOperation,
  SeedSecret,
  SeedVersion,
} from './emulator';
export { ROTATION_STEPS } from './rotation';
export type { RotationContext, RotationEvent, RotationFunction, RotationRecord, RotationStep } from './rotation';
export type { Duration } from './schedule';
export { startAgent, Agent, formatAgentDate } from './agent';
export type {
  AgentCalls,
  AgentFaultOptions,
  AgentOptions,
  AgentParameterInput,
  AgentParameterUpstream,
  AgentParameterValue,
  AgentUpstream,
  AgentUpstreamInput,
  AgentUpstreamValue,
} from './agent';
export { AWS_QUOTAS, SSM_QUOTAS, SSM_GET_BUCKET, FaultRegistry, Throttler, TokenBucket } from './faults';
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
/** The emulator's in-memory model of Parameter Store parameters, versions and labels. */
export { ParametersModel, PARAMETER_TYPES, SECRETS_MANAGER_REFERENCE } from './parameters-model';
export type {
  ParameterSelector,
  ParameterType,
  PutParameterOptions as ParametersModelPutOptions,
  StoredParameter,
  StoredParameterVersion,
} from './parameters-model';
