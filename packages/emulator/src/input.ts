import { ServiceError } from './errors';
import type { Json } from './http';
import { INVALID_NAME, SecretsModel, type SecretValue } from './secrets-model';

/**
 * A constraint failure in the form AWS JSON services send for their Smithy model:
 * `1 validation error detected: Value at 'secretString' failed to satisfy constraint: …`.
 * The value itself is never quoted (several members are sensitive).
 */
export function validationError(member: string, constraint: string): ServiceError {
  const field = member.charAt(0).toLowerCase() + member.slice(1);
  return new ServiceError(
    'ValidationException',
    `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must ${constraint}`,
  );
}

/** An optional string member. */
export function str(input: Json, key: string): string | undefined {
  const v = input[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ServiceError('InvalidParameterException', `${key} must be a string.`);
  return v;
}

/** A required string member. */
export function requireString(input: Json, key: string): string {
  const v = str(input, key);
  if (v === undefined || v === '') throw new ServiceError('InvalidParameterException', `${key} is required.`);
  return v;
}

/** An optional string with a maximum length (characters, as Smithy counts). */
export function boundedString(input: Json, key: string, max: number, min = 0): string | undefined {
  const v = str(input, key);
  if (v === undefined) return undefined;
  if (v.length > max) throw validationError(key, `have length less than or equal to ${max}`);
  if (v.length < min) throw validationError(key, `have length greater than or equal to ${min}`);
  return v;
}

/**
 * `SecretId`: required, at most 2,048 characters; a name (not an ARN) must only use the characters
 * AWS allows in names, else ValidationException — not ResourceNotFoundException.
 */
export function secretIdParam(input: Json, key = 'SecretId'): string {
  const id = requireString(input, key);
  return checkSecretId(id, key);
}

/** The checks of {@link secretIdParam} for one id (also used for each `SecretIdList` entry). */
export function checkSecretId(id: string, key = 'SecretId'): string {
  if (id.length > 2048) throw validationError(key, 'have length less than or equal to 2048');
  if (!SecretsModel.isArn(id)) {
    if (!SecretsModel.isValidName(id)) throw new ServiceError('ValidationException', INVALID_NAME);
    if (id.length > 512) throw validationError(key, 'have length less than or equal to 512');
  }
  return id;
}

/**
 * `ClientRequestToken`, 32–64 characters. The SDKs and the CLI fill it in; AWS requires it on raw
 * requests that create a version (`required`), so the emulator does too.
 */
export function tokenParam(input: Json, required: boolean): string | undefined {
  const token = boundedString(input, 'ClientRequestToken', 64, 32);
  if (token === undefined && required) {
    throw new ServiceError(
      'InvalidParameterException',
      'You must provide a ClientRequestToken (32 to 64 characters, e.g. a UUID). The AWS SDKs and the CLI generate one; a raw request must include it.',
    );
  }
  return token;
}

const MAX_VALUE_BYTES = 65_536;

/** `SecretString` or `SecretBinary` (base64 on the wire), 1–65,536 bytes, not both. */
export function valueParam(input: Json): SecretValue | undefined {
  const s = str(input, 'SecretString');
  const b = str(input, 'SecretBinary');
  if (s !== undefined && b !== undefined) {
    throw new ServiceError('InvalidParameterException', 'You can only specify one of SecretString or SecretBinary.');
  }
  if (b !== undefined) {
    const bytes = Buffer.from(b, 'base64');
    if (bytes.length > MAX_VALUE_BYTES)
      throw validationError('SecretBinary', `have length less than or equal to ${MAX_VALUE_BYTES}`);
    if (bytes.length === 0) throw validationError('SecretBinary', 'have length greater than or equal to 1');
    return new Uint8Array(bytes);
  }
  if (s !== undefined) {
    if (Buffer.byteLength(s, 'utf8') > MAX_VALUE_BYTES) {
      throw validationError('SecretString', `have length less than or equal to ${MAX_VALUE_BYTES}`);
    }
    if (s.length === 0) throw validationError('SecretString', 'have length greater than or equal to 1');
  }
  return s;
}

/** An optional integer member within `[min, max]` (Smithy `@range`). */
export function rangedInt(input: Json, key: string, min: number, max: number): number | undefined {
  const v = input[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new ServiceError('InvalidParameterException', `${key} must be an integer.`);
  }
  if (v < min || v > max) throw validationError(key, `have value between ${min} and ${max}`);
  return v;
}
