/**
 * HTTP status the emulator uses for an AWS error code (`__type`), per the Secrets Manager
 * CommonErrors page. Anything not listed is a client error (400).
 *
 * `InternalServiceError` is 500 on purpose: the JS SDK only retries it when the status is 5xx.
 */
export const DEFAULT_ERROR_STATUS: Readonly<Record<string, number>> = Object.freeze({
  ThrottlingException: 400,
  LimitExceededException: 400,
  ResourceNotFoundException: 400,
  DecryptionFailure: 400,
  EncryptionFailure: 400,
  InvalidParameterException: 400,
  InvalidRequestException: 400,
  InvalidNextTokenException: 400,
  ResourceExistsException: 400,
  AccessDeniedException: 400,
  UnknownOperationException: 400,
  SerializationException: 400,
  ValidationException: 400,
  ExpiredTokenException: 400,
  InvalidClientTokenId: 403,
  InternalServiceError: 500,
  InternalFailure: 500,
  ServiceUnavailable: 503,
});

/** Default status for an error code: the table above, else 400. */
export function statusForError(code: string): number {
  return DEFAULT_ERROR_STATUS[code] ?? 400;
}

/** Default message for an error code injected without one. */
export function defaultErrorMessage(code: string): string {
  switch (code) {
    case 'ThrottlingException':
      return 'Rate exceeded';
    case 'InternalServiceError':
      return 'An error occurred on the server side.';
    case 'ServiceUnavailable':
      return 'The request has failed due to a temporary failure of the server.';
    case 'AccessDeniedException':
      return 'User is not authorized to perform this operation (injected by @hush/emulator).';
    case 'DecryptionFailure':
      return "Secrets Manager can't decrypt the protected secret text using the provided KMS key.";
    case 'ResourceNotFoundException':
      return "Secrets Manager can't find the specified secret.";
    default:
      return `${code} (injected by @hush/emulator)`;
  }
}

/**
 * An AWS service error as the emulator sends it: `{"__type": code, "Message": message}` with `status`.
 *
 * @example
 * throw new ServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
 */
export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  /** HTTP status sent with the error. @default statusForError(code) */
  readonly status: number;

  constructor(
    /** The AWS error code, sent as `__type`. */
    readonly code: string,
    message: string = defaultErrorMessage(code),
    status?: number,
  ) {
    super(message);
    this.status = status ?? statusForError(code);
  }

  /** The JSON body AWS sends for this error. */
  toJSON(): { __type: string; Message: string } {
    return { __type: this.code, Message: this.message };
  }
}
