/**
 * `@hush/vault`: HashiCorp Vault as a Hush source — KV v2 secrets and leased dynamic credentials
 * (renewed, re-issued before they expire) through the same `SecretStore` and pools.
 *
 * @packageDocumentation
 */
export { hashicorpVault, HashicorpVaultSource, type HashicorpVaultOptions } from './vault.source';
export { DEFAULT_KUBERNETES_JWT_FILE, type VaultAuth } from './auth';
export { type VaultTlsOptions } from './http';
export { VaultErrorCodes, isVaultError, type VaultErrorCode } from './errors';
