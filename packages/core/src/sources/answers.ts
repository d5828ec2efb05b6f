import { SecretFetchError, errorCodeOf } from '../errors';
import type { FetchOutcome, SecretRequest } from './source';

/**
 * The code of an answer that breaks what the API (or the {@link Source} contract) promises: a
 * missing or non-string `VersionId`, a body for another secret, a malformed 200.
 */
export const INVALID_ANSWER = 'InvalidSourceResponse';

/** The longest version id accepted (AWS's are 32–64 characters; file sources use content hashes). */
const MAX_VERSION_ID_LENGTH = 256;

/**
 * A failed outcome for a malformed answer. Retryable: a proxy or a half-deployed endpoint can
 * answer garbage once; the store retries with backoff and keeps serving the last good value.
 * `what` says what was wrong — never a value.
 */
export function invalidAnswer(id: string, sourceKind: string, what: string): FetchOutcome {
  return {
    ok: false,
    error: new SecretFetchError(id, INVALID_ANSWER, `source "${sourceKind}" answered a malformed result: ${what}`, {
      retryable: true,
    }),
  };
}

/**
 * Checks what `Source.fetch` resolved with against the contract, one outcome per request: a value
 * with a non-empty string `versionId`, `string`/`binary`/`createdDate`/`expiresAt` of the right types, or a
 * `SecretFetchError`. Anything else becomes an `InvalidSourceResponse` failure for that request,
 * so a misbehaving source can neither throw inside the store nor freeze a value.
 */
export function checkOutcomes(requests: readonly SecretRequest[], answer: unknown, sourceKind: string): FetchOutcome[] {
  if (!Array.isArray(answer)) {
    return requests.map((r) => invalidAnswer(r.id, sourceKind, 'fetch() did not resolve with an array of outcomes'));
  }
  return requests.map((request, i) => checkOutcome(request, answer[i], sourceKind));
}

function checkOutcome(request: SecretRequest, outcome: unknown, sourceKind: string): FetchOutcome {
  const id = request.id;
  if (outcome === undefined) {
    return {
      ok: false,
      error: new SecretFetchError(id, 'NoResult', `source "${sourceKind}" returned no result`, { retryable: true }),
    };
  }
  if (outcome === null || typeof outcome !== 'object')
    return invalidAnswer(id, sourceKind, 'an outcome is not an object');
  const o = outcome as { ok?: unknown; secret?: unknown; error?: unknown };
  if (o.ok === false) {
    if (o.error instanceof SecretFetchError) return outcome as FetchOutcome;
    return {
      ok: false,
      error: new SecretFetchError(
        id,
        errorCodeOf(o.error),
        `source "${sourceKind}" failed without a SecretFetchError`,
        { retryable: true, cause: o.error },
      ),
    };
  }
  if (o.ok !== true) return invalidAnswer(id, sourceKind, '`ok` is neither true nor false');
  const problem = secretProblem(o.secret);
  return problem === undefined ? (outcome as FetchOutcome) : invalidAnswer(id, sourceKind, problem);
}

/** What is wrong with a raw secret, or undefined. */
function secretProblem(secret: unknown): string | undefined {
  if (secret === null || typeof secret !== 'object') return 'the secret is not an object';
  const s = secret as Record<string, unknown>;
  const v = s['versionId'];
  if (typeof v !== 'string') return `VersionId is ${kindOf(v)}, not a string`;
  if (v.trim() === '') return 'VersionId is empty';
  if (v.length > MAX_VERSION_ID_LENGTH) return `VersionId is longer than ${MAX_VERSION_ID_LENGTH} characters`;
  if (s['string'] !== undefined && typeof s['string'] !== 'string') return `SecretString is ${kindOf(s['string'])}`;
  if (s['binary'] !== undefined && !(s['binary'] instanceof Uint8Array))
    return `SecretBinary is ${kindOf(s['binary'])}, not bytes`;
  const created = s['createdDate'];
  if (created !== undefined && !(created instanceof Date && Number.isFinite(created.getTime())))
    return 'CreatedDate is not a valid date';
  const expires = s['expiresAt'];
  if (expires !== undefined && !(expires instanceof Date && Number.isFinite(expires.getTime())))
    return 'expiresAt is not a valid date';
  for (const field of ['arn', 'region'] as const) {
    if (s[field] !== undefined && typeof s[field] !== 'string') return `${field} is ${kindOf(s[field])}`;
  }
  return undefined;
}

function kindOf(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/**
 * Does an answer's `Name`/`ARN` refer to the requested id (a name, a full ARN, or a partial ARN
 * without the 6-character random suffix)?
 */
export function matchesSecret(id: string, name: string | undefined, arn: string | undefined): boolean {
  if (id === name || id === arn) return true;
  if (arn === undefined) return false;
  // A partial ARN omits the suffix; a name-only answer's ARN ends in `:secret:<name>-XXXXXX`.
  if (id.startsWith('arn:')) return arn.startsWith(`${id}-`) && arn.length === id.length + 7;
  return name === undefined && /-[A-Za-z0-9]{6}$/.test(arn) && arn.slice(0, -7).endsWith(`:secret:${id}`);
}

/**
 * When an answer names a secret (`Name` or `ARN`) that is not the requested id, says so;
 * undefined when it matches or names nothing.
 */
export function identityProblem(id: string, name: unknown, arn: unknown): string | undefined {
  if (name !== undefined && typeof name !== 'string') return `Name is ${kindOf(name)}`;
  if (arn !== undefined && typeof arn !== 'string') return `ARN is ${kindOf(arn)}`;
  if (name === undefined && arn === undefined) return undefined;
  return matchesSecret(id, name, arn)
    ? undefined
    : 'the answer is for another secret (its Name/ARN differ from the id)';
}
