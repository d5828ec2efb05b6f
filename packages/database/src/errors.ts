/**
 * The error family of `@hush/database`. Messages name the secret, the version and the cause —
 * never a password or a username.
 */

/** Stable codes of the database errors. */
export const DatabaseErrorCodes = {
  CREDENTIALS_INVALID: 'DATABASE_CREDENTIALS_INVALID',
  LOGIN_FAILED: 'DATABASE_LOGIN_FAILED',
} as const;

export type DatabaseErrorCode = (typeof DatabaseErrorCodes)[keyof typeof DatabaseErrorCodes];

/** Base class of every error thrown by `@hush/database`. */
export abstract class DatabaseSecretError extends Error {
  abstract readonly code: DatabaseErrorCode;
  /** The declared name of the secret holding the credentials. */
  readonly secretName: string;

  constructor(secretName: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.secretName = secretName;
  }

  /** Serialises to name, code, secret and message only (never the raw cause). */
  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, secretName: this.secretName, message: this.message };
  }
}

/** The secret's value does not have the shape of database credentials (a missing `password`, a bad `port`…). */
export class DatabaseCredentialsError extends DatabaseSecretError {
  readonly code = DatabaseErrorCodes.CREDENTIALS_INVALID;
  /** The field at fault, e.g. `password` or `port`. */
  readonly field: string;

  constructor(secretName: string, field: string, problem: string) {
    super(
      secretName,
      `Secret "${secretName}" is not usable as database credentials: \`${field}\` ${problem}. ` +
        'Store the RDS shape {"username","password","host","port","dbname"} or pass `map` to read another shape.',
    );
    this.field = field;
  }
}

/** A version tried during a login, as `name@version` (the first 8 characters of the VersionId). */
export interface TriedVersion {
  readonly name: string;
  readonly version: string | undefined;
}

/**
 * The database kept refusing the login (`28P01` invalid password, `28000` invalid authorization)
 * after a forced refresh, the pending version and the retry budget.
 */
export class DatabaseLoginError extends DatabaseSecretError {
  readonly code = DatabaseErrorCodes.LOGIN_FAILED;
  /** The SQLSTATE of the last refusal. */
  readonly sqlState: string;
  /** Every version tried, in order. */
  readonly tried: readonly TriedVersion[];

  constructor(secretName: string, sqlState: string, tried: readonly TriedVersion[], elapsedMs: number, cause: unknown) {
    const list = tried.map((t) => `${t.name}@${t.version?.slice(0, 8) ?? 'unknown'}`).join(', ');
    super(
      secretName,
      `The database refused the login from secret "${secretName}" (SQLSTATE ${sqlState}) with every version tried ` +
        `[${list}] over ${Math.round(elapsedMs)} ms. The secret and the database disagree: check the rotation ` +
        `function's last run, or declare the AWSPENDING stage and pass it as \`pending\`.`,
      { cause },
    );
    this.sqlState = sqlState;
    this.tried = Object.freeze(tried.map((t) => Object.freeze({ ...t })));
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), sqlState: this.sqlState, tried: this.tried };
  }
}
