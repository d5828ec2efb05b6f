import type * as SecretsManagerSdk from '@aws-sdk/client-secrets-manager';
import type * as SmithyRetry from '@smithy/core/retry';
import { errorCodeName } from '../errors';

let sdk: typeof SecretsManagerSdk | undefined;
/**
 * The SDK is loaded when an AWS source is first built or used, so apps that read only the Agent,
 * mounted files or memory never load it (importing `@hush/core` loads no `@aws-sdk/*` module).
 */
export function loadSdk(): typeof SecretsManagerSdk {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (sdk ??= require('@aws-sdk/client-secrets-manager') as typeof SecretsManagerSdk);
}

let smithyRetry: typeof SmithyRetry | undefined;
/** The SDK's own error classification (throttling and transient codes), loaded with the first error. */
function retryClassification(): typeof SmithyRetry {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (smithyRetry ??= require('@smithy/core/retry') as typeof SmithyRetry);
}

/**
 * Transient codes the SDK's classification leaves out: Secrets Manager's 5xx error names (which
 * `BatchGetSecretValue` reports per secret, without an HTTP status), the abort of the store's
 * fetch deadline (which the SDK treats as final) and signature / clock-skew errors.
 */
const HUSH_TRANSIENT_CODES = new Set([
  'AbortError',
  'InternalServiceError',
  'InternalFailure',
  'ServiceUnavailable',
  // A request signed with a skewed clock or credentials mid-rotation: the SDK corrects its clock
  // offset from the response, and the next try usually succeeds.
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'RequestTimeTooSkewed',
  'RequestExpired',
]);

/** Throttling: the SDK's list (`isThrottlingError` of `@smithy/core/retry`), which includes HTTP 429. */
export function isThrottlingCode(code: string, status?: number, retryable?: unknown): boolean {
  return retryClassification().isThrottlingError({
    name: code,
    message: '',
    $metadata: status === undefined ? {} : { httpStatusCode: status },
    ...(retryable ? { $retryable: retryable } : {}),
  } as Parameters<typeof SmithyRetry.isThrottlingError>[0]);
}

/** Transient: the SDK's transient names, Node timeout and network errno codes, 500/502/503/504, plus Hush's. */
export function isTransientCode(code: string, status?: number, retryable?: unknown): boolean {
  if (HUSH_TRANSIENT_CODES.has(code)) return true;
  return retryClassification().isTransientError({
    name: code,
    code,
    message: '',
    $metadata: status === undefined ? {} : { httpStatusCode: status },
    ...(retryable ? { $retryable: retryable } : {}),
  } as Parameters<typeof SmithyRetry.isTransientError>[0]);
}

/** SDK attempts behind an error (1 when the SDK did not record any). */
export function attemptsOf(error: unknown): number {
  return (error as { $metadata?: { attempts?: number } })?.$metadata?.attempts ?? 1;
}

/**
 * Classifies an SDK or network error into a code and retry flags. The message is kept only from
 * an error AWS answered (a modelled service exception: `$fault` and an HTTP status of 400 or more)
 * or from a Node system error; anything else — above all the SDK's `SyntaxError` for a 200 with a
 * broken body, whose text quotes that body — is reported by name, and no code is pulled out of
 * its text.
 */
export function classify(error: unknown): { code: string; message: string; retryable: boolean; throttled: boolean } {
  const e = error as {
    name?: string;
    code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
    $fault?: string;
    $retryable?: unknown;
  };
  const systemCode = typeof e?.code === 'string' && /^E[A-Z0-9_]+$/.test(e.code) ? e.code : undefined;
  let code = e?.name !== 'TimeoutError' && systemCode ? systemCode : errorCodeName(e?.name);
  if (code === 'Error' || code === 'SyntaxError') {
    // The SDK wraps non-Error throwables (e.g. a network error from another realm) as
    // "AWS SDK error wrapper for Error: connect ECONNREFUSED …": recover the errno code from that
    // wrapper only, and only a known network code (a transient one).
    const wrapped = /^AWS SDK error wrapper for .*?\b(E[A-Z]{4,})\b/.exec(e?.message ?? '')?.[1];
    code = systemCode ?? (wrapped && isTransientCode(wrapped) ? wrapped : code);
  }
  const status = e?.$metadata?.httpStatusCode;
  const throttled = isThrottlingCode(code, status, e?.$retryable);
  const retryable =
    throttled ||
    isTransientCode(code, status, e?.$retryable) ||
    (status !== undefined && status >= 500) ||
    e?.$fault === 'server';
  const answered = (e?.$fault === 'client' || e?.$fault === 'server') && status !== undefined && status >= 400;
  const trusted = (answered && code !== 'SyntaxError') || systemCode !== undefined || code === 'TimeoutError';
  const message =
    trusted && typeof e?.message === 'string' && e.message.length < 500
      ? e.message
      : `${code}${status !== undefined ? ` (HTTP ${status})` : ''}; the error text is withheld (it may quote the response)`;
  return { code, message, retryable, throttled };
}
