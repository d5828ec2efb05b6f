import { constants } from 'node:os';

/**
 * Error codes from a published vocabulary — Secrets Manager's modelled errors, the AWS SDK's
 * common ones, Node's errno names, built-in error names and the codes Hush's sources report. Such
 * a code existed before any secret did, so it carries nothing of a value even when it shares a
 * few letters with one ("InternalServiceError" and a host "db.internal"); any other foreign code
 * is checked against the values like text.
 */
const KNOWN_CODES: ReadonlySet<string> = new Set([
  // Secrets Manager (service model)
  'AccessDeniedException',
  'DecryptionFailure',
  'EncryptionFailure',
  'InternalServiceError',
  'InvalidNextTokenException',
  'InvalidParameterException',
  'InvalidRequestException',
  'LimitExceededException',
  'MalformedPolicyDocumentException',
  'PreconditionNotMetException',
  'PublicPolicyException',
  'ResourceExistsException',
  'ResourceNotFoundException',
  'ValidationException',
  // AWS common errors and the SDK's own
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ServiceUnavailable',
  'InternalFailure',
  'IncompleteSignature',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'RequestExpired',
  'RequestTimeTooSkewed',
  'ExpiredTokenException',
  'UnrecognizedClientException',
  'MissingAuthenticationToken',
  'NotAuthorized',
  'OptInRequired',
  'CredentialsProviderError',
  'TimeoutError',
  'AbortError',
  'NetworkError',
  // Built-in error names
  'Error',
  'TypeError',
  'RangeError',
  'SyntaxError',
  'ReferenceError',
  'EvalError',
  'URIError',
  'AggregateError',
  // Hush's sources
  'UnknownError',
  'NoResult',
  'InvalidSourceResponse',
  'ParseError',
  'FileNotFound',
  'FileUnstable',
  'NotARegularFile',
  'TooLarge',
  'AgentConnectionLimitExceeded',
  'AgentForbidden',
  'AgentNotFound',
  'AgentNotReady',
  'AgentRoleArnUnsupported',
  'AgentTokenUnavailable',
  'InvalidAgentResponse',
  // @hush/vault (HashiCorp Vault's HTTP statuses and KV v2 states, named)
  'VaultBadRequest',
  'VaultPermissionDenied',
  'VaultNotFound',
  'VaultRateLimited',
  'VaultSealed',
  'VaultUnavailable',
  'VaultServerError',
  'VaultSecretDeleted',
  'VaultSecretDestroyed',
  'VaultLoginFailed',
  'InvalidVaultResponse',
  // TLS handshakes Node refuses (OpenSSL's certificate verification names, Node's TLS codes)
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  ...Object.keys(constants.errno),
]);

/** @internal Whether `code` is from a published vocabulary (see {@link KNOWN_CODES}). */
export function isKnownCode(code: string): boolean {
  return KNOWN_CODES.has(code);
}
