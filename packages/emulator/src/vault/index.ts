export { startVaultEmulator, VaultEmulator } from './emulator';
export type {
  VaultAppRole,
  VaultAwsCredential,
  VaultAwsRole,
  VaultDatabaseConnection,
  VaultDatabaseRole,
  VaultDatabaseStaticRole,
  VaultEmulatorOptions,
  VaultFault,
  VaultKubernetesRole,
  VaultLease,
  VaultTokenSettings,
} from './emulator';
export { DEFAULT_CREATION_STATEMENT, DEFAULT_RENEW_STATEMENT, DEFAULT_ROTATION_STATEMENT } from './database';
