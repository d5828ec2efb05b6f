import { SecretFetchError } from '@hush/core';
import { errorCodeName } from '@hush/core/internal';

/**
 * The codes `@hush/vault` reports (`SecretFetchError.awsCode`, health, metrics), one per way a
 * Vault call fails. Named after Vault's HTTP statuses (`api/logical.go`, `http/handler.go` of
 * hashicorp/vault) and KV v2's states.
 */
export const VaultErrorCodes = {
  /** 400: Vault refused the request (a malformed path or body, an unknown lease in renew). */
  BAD_REQUEST: 'VaultBadRequest',
  /** 403 "permission denied": the token lacks a policy for the path, or it expired or was revoked. */
  PERMISSION_DENIED: 'VaultPermissionDenied',
  /** 404: nothing at the path (no such mount, key, role or version). */
  NOT_FOUND: 'VaultNotFound',
  /** 429: a rate-limit quota refused the call. Retried with the store's backoff. */
  RATE_LIMITED: 'VaultRateLimited',
  /** 503 "Vault is sealed". Retried; the last good value keeps serving. */
  SEALED: 'VaultSealed',
  /** 503 (standby, not initialized, …) or a redirect to the active node. Retried. */
  UNAVAILABLE: 'VaultUnavailable',
  /** 500 and other 5xx. Retried. */
  SERVER_ERROR: 'VaultServerError',
  /** KV v2: the version asked for (or the latest) is soft-deleted: not a value. */
  SECRET_DELETED: 'VaultSecretDeleted',
  /** KV v2: the version asked for (or the latest) is destroyed: not a value. */
  SECRET_DESTROYED: 'VaultSecretDestroyed',
  /** A login answered without a client token (or the auth method's input could not be read). */
  LOGIN_FAILED: 'VaultLoginFailed',
  /** An answer that is not what Vault's API returns (not JSON, no `data`). */
  INVALID_RESPONSE: 'InvalidVaultResponse',
} as const;

export type VaultErrorCode = (typeof VaultErrorCodes)[keyof typeof VaultErrorCodes];

/** The longest piece of Vault's own error text a message carries. */
const MAX_VAULT_TEXT = 300;

/** An HTTP answer of Vault's API. */
export interface VaultAnswer {
  readonly status: number;
  /** The parsed JSON body; undefined when empty or not JSON. */
  readonly body: unknown;
}

/** The code of a non-2xx answer. */
export function codeOfStatus(status: number, texts: readonly string[]): VaultErrorCode {
  if (status === 400) return VaultErrorCodes.BAD_REQUEST;
  if (status === 401 || status === 403) return VaultErrorCodes.PERMISSION_DENIED;
  if (status === 404) return VaultErrorCodes.NOT_FOUND;
  if (status === 429) return VaultErrorCodes.RATE_LIMITED;
  if (status === 503 && texts.some((t) => /sealed/i.test(t))) return VaultErrorCodes.SEALED;
  if (status === 503 || status === 307 || status === 472 || status === 473) return VaultErrorCodes.UNAVAILABLE;
  if (status >= 500) return VaultErrorCodes.SERVER_ERROR;
  return VaultErrorCodes.BAD_REQUEST;
}

/** Vault's `errors` array (`{"errors":["permission denied"]}`), as strings. */
export function errorTexts(body: unknown): string[] {
  const errors = (body as { errors?: unknown } | null | undefined)?.errors;
  return Array.isArray(errors) ? errors.filter((e): e is string => typeof e === 'string') : [];
}

/**
 * The error of a failed call for secret `id`: a `SecretFetchError` with a named code. Vault's own
 * error text rides in the message, one line, at most {@link MAX_VAULT_TEXT} characters; the store
 * checks it against every value it holds like any foreign text (and withholds it if it quotes one).
 */
export function vaultError(id: string, what: string, answer: VaultAnswer): SecretFetchError {
  const texts = errorTexts(answer.body);
  const code = codeOfStatus(answer.status, texts);
  const said = texts.join('; ').replace(/\s+/g, ' ').slice(0, MAX_VAULT_TEXT);
  return new SecretFetchError(id, code, `${what}: Vault answered ${answer.status}${said ? ` (${said})` : ''}`, {
    retryable: retryableCode(code),
    throttled: code === VaultErrorCodes.RATE_LIMITED,
  });
}

/** Transient failures the store retries with its backoff. */
export function retryableCode(code: string): boolean {
  return (
    code === VaultErrorCodes.RATE_LIMITED ||
    code === VaultErrorCodes.SEALED ||
    code === VaultErrorCodes.UNAVAILABLE ||
    code === VaultErrorCodes.SERVER_ERROR ||
    code === VaultErrorCodes.INVALID_RESPONSE
  );
}

/** A call that never got an answer (refused, reset, timed out, aborted). */
export function networkError(id: string, what: string, error: unknown, aborted: boolean): SecretFetchError {
  const raw = (error as { code?: unknown } | null)?.code ?? (error as { name?: unknown } | null)?.name;
  const code = aborted ? 'TimeoutError' : errorCodeName(raw);
  return new SecretFetchError(id, code, `${what}: no answer from Vault`, { retryable: true, cause: error });
}

/** Another error for a new id (a login failure shared by every id of a round). */
export function forId(id: string, error: SecretFetchError): SecretFetchError {
  if (error.secretId === id) return error;
  const prefix = `Fetching secret id "${error.secretId}" failed: ${error.awsCode}: `;
  const message = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
  return new SecretFetchError(id, error.awsCode, message, {
    retryable: error.retryable,
    throttled: error.throttled,
  });
}

/** Whether `error` is a `SecretFetchError` with the Vault code `code`. */
export function isVaultError(error: unknown, code: VaultErrorCode): boolean {
  return error instanceof SecretFetchError && error.awsCode === code;
}

/** A call's outcome for the source counters: `ok`, `throttled`, or the code. */
export function outcomeOf(answer: VaultAnswer): string {
  if (answer.status >= 200 && answer.status < 300) return 'ok';
  const code = codeOfStatus(answer.status, errorTexts(answer.body));
  return code === VaultErrorCodes.RATE_LIMITED ? 'throttled' : code;
}
