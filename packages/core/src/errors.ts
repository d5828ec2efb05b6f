import { describeError } from './value-index';

/**
 * The error family of `@hush/core`. Every error has a stable `code`, a `name`, and an
 * optional `cause`. Messages name secrets, ids and options — never a secret value.
 */

/** Stable, machine-readable error codes. */
export const ErrorCodes = {
  CONFIG_INVALID: 'SECRETS_CONFIG_INVALID',
  LOAD_FAILED: 'SECRETS_LOAD_FAILED',
  NOT_FOUND: 'SECRET_NOT_FOUND',
  NOT_LOADED: 'SECRET_NOT_LOADED',
  PARSE_FAILED: 'SECRET_PARSE_FAILED',
  VALIDATION_FAILED: 'SECRET_VALIDATION_FAILED',
  FETCH_FAILED: 'SECRET_FETCH_FAILED',
  STORE_CLOSED: 'SECRETS_STORE_CLOSED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Base class of every error thrown by Hush. */
export abstract class SecretsError extends Error {
  abstract readonly code: ErrorCode;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  /** Errors serialise to their code and message only (never a value, never the raw cause). */
  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message };
  }
}

/** A declaration or an option is invalid. Thrown synchronously at construction. */
export class SecretsConfigError extends SecretsError {
  readonly code = ErrorCodes.CONFIG_INVALID;
  /** The option or declaration path at fault, e.g. `refreshInterval` or `secrets.db.id`. */
  readonly option: string;

  constructor(option: string, message: string, options?: { cause?: unknown }) {
    super(`Invalid Hush configuration at \`${option}\`: ${message}`, options);
    this.option = option;
  }
}

/** Why one secret could not be fetched, parsed or validated. */
export interface SecretFailure {
  /** Declared name, e.g. `db`. */
  readonly name: string;
  /** Secret id (name or ARN) as declared. */
  readonly id: string;
  /** AWS error code (`ResourceNotFoundException`, `ThrottlingException`…) or a Hush code. */
  readonly code: string;
  /** Human-readable cause; never contains the value. */
  readonly message: string;
  /** The store source that failed (its name in the `sources` option, or `default`); stores with several sources only. */
  readonly source?: string;
}

/** `load()` could not load one or more required secrets. Lists every failure, not just the first. */
export class SecretsLoadError extends SecretsError {
  readonly code = ErrorCodes.LOAD_FAILED;
  readonly failures: readonly SecretFailure[];

  constructor(failures: readonly SecretFailure[], options?: { cause?: unknown }) {
    const lines = failures.map(
      (f) =>
        `  - ${f.name} (id "${f.id}"${f.source === undefined ? '' : `, source "${f.source}"`}): ${f.code}: ${f.message}`,
    );
    super(
      `Failed to load ${failures.length} required secret${failures.length === 1 ? '' : 's'} ` +
        `[${failures.map((f) => f.name).join(', ')}]:\n${lines.join('\n')}`,
      options,
    );
    this.failures = Object.freeze(failures.map((f) => Object.freeze({ ...f })));
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), failures: this.failures };
  }
}

/** A name that was never declared was asked for. */
export class SecretNotFoundError extends SecretsError {
  readonly code = ErrorCodes.NOT_FOUND;
  readonly secretName: string;
  readonly available: readonly string[];

  constructor(name: string, available: readonly string[], context?: string) {
    super(
      `${context ? `${context}: ` : ''}secret "${name}" is not declared. ` +
        `Declared secrets: ${available.length ? available.map((n) => `"${n}"`).join(', ') : '(none)'}.`,
    );
    this.secretName = name;
    this.available = available;
  }
}

/** A declared secret has no value yet (not loaded, or optional and missing). */
export class SecretNotLoadedError extends SecretsError {
  readonly code = ErrorCodes.NOT_LOADED;
  readonly secretName: string;

  constructor(name: string, why: string) {
    super(`Secret "${name}" has no value: ${why}`);
    this.secretName = name;
  }
}

/** The raw value could not be turned into the declared shape (bad JSON, missing key, wrong type). */
export class SecretParseError extends SecretsError {
  readonly code = ErrorCodes.PARSE_FAILED;
  readonly secretName: string;
  readonly secretId: string;
  /** A finer reason: INVALID_JSON, NOT_AN_OBJECT, MISSING_KEY, KEY_NOT_STRING, BINARY_AS_STRING, STRING_AS_BINARY, EMPTY, TOO_LARGE, TOO_DEEP, UNSAFE_KEY. */
  readonly reason: string;
  /** JSON path of the problem, e.g. `$.password`, when it has one. */
  readonly path: string | undefined;

  constructor(name: string, id: string, reason: string, detail: string, path?: string) {
    super(`Secret "${name}" (id "${id}") could not be parsed: ${detail}${path ? ` at ${path}` : ''} [${reason}]`);
    this.secretName = name;
    this.secretId = id;
    this.reason = reason;
    this.path = path;
  }
}

/** Issues listed in a SecretValidationError's message; all of them are in `.issues`. */
const MAX_ISSUES_IN_MESSAGE = 10;

/** One Standard Schema issue, without the offending value. */
export interface ValidationIssue {
  readonly path: string;
  readonly message: string;
}

/** The parsed value failed its declared Standard Schema. */
export class SecretValidationError extends SecretsError {
  readonly code = ErrorCodes.VALIDATION_FAILED;
  readonly secretName: string;
  readonly secretId: string;
  readonly issues: readonly ValidationIssue[];

  constructor(name: string, id: string, issues: readonly ValidationIssue[]) {
    const shown = issues.slice(0, MAX_ISSUES_IN_MESSAGE).map((i) => `${i.path}: ${i.message}`);
    if (issues.length > shown.length) shown.push(`… and ${issues.length - shown.length} more (see .issues)`);
    super(`Secret "${name}" (id "${id}") failed schema validation: ${shown.join('; ')}`);
    this.secretName = name;
    this.secretId = id;
    this.issues = issues;
  }
}

/** The source could not return a secret (AWS error, timeout, network). `awsCode` is the source's code. */
export class SecretFetchError extends SecretsError {
  readonly code = ErrorCodes.FETCH_FAILED;
  readonly secretId: string;
  /** `ThrottlingException`, `ResourceNotFoundException`, `TimeoutError`, `ECONNREFUSED`… */
  readonly awsCode: string;
  readonly retryable: boolean;
  readonly throttled: boolean;

  constructor(
    id: string,
    awsCode: string,
    message: string,
    flags: { retryable: boolean; throttled?: boolean; cause?: unknown },
  ) {
    // The raw cause (an SDK error holds the response body in `$response`, and V8's SyntaxError
    // quotes it) never rides along: only its name and code, which util.inspect shows as [cause].
    super(`Fetching secret id "${id}" failed: ${awsCode}: ${message}`, {
      cause: flags.cause === undefined ? undefined : withheldCause(flags.cause),
    });
    this.secretId = id;
    this.awsCode = awsCode;
    this.retryable = flags.retryable;
    this.throttled = flags.throttled ?? false;
  }
}

/** A stand-in for a foreign error: its name and code only (see {@link describeError}). */
function withheldCause(cause: unknown): Error {
  if (cause instanceof SecretsError) return cause;
  const error = new Error(describeError(cause));
  error.name = 'WithheldCause';
  return error;
}

/** The store was used after `close()`. */
export class SecretsStoreClosedError extends SecretsError {
  readonly code = ErrorCodes.STORE_CLOSED;

  constructor(operation: string) {
    super(`SecretStore is closed; cannot ${operation}. Create a new store.`);
  }
}

/**
 * An error code from foreign text (an SDK error's name, an agent's `__type`) as health, metrics
 * and logs may show it: an identifier of at most 64 characters, else `UnknownError` — a broken
 * answer must not turn a quoted body into a "code".
 */
export function errorCodeName(code: unknown): string {
  return typeof code === 'string' && /^[A-Za-z][\w.:-]{0,63}$/.test(code) ? code : 'UnknownError';
}

/** The code to report for any error: an AWS code for fetch errors, the Hush code otherwise. */
export function errorCodeOf(error: unknown): string {
  if (error instanceof SecretFetchError) return error.awsCode;
  if (error instanceof SecretParseError) return `${error.code}:${error.reason}`;
  if (error instanceof SecretsError) return error.code;
  if (error && typeof error === 'object' && 'name' in error && typeof error.name === 'string') return error.name;
  return 'UnknownError';
}
