import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { NormalizedDeclaration } from './declarations';
import { SecretParseError, SecretValidationError, type ValidationIssue } from './errors';
import { Fragments, REDACTED } from './redaction';
import { SecretBytes } from './secret-bytes';
import type { RawSecret } from './sources/source';

/** AWS's limit for SecretString and SecretBinary. */
export const MAX_SECRET_BYTES = 65_536;
/** Deeper JSON than this is rejected rather than recursed into. */
export const MAX_JSON_DEPTH = 32;
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Turns a raw secret into the declared value: checks the format, parses JSON safely, extracts the
 * key, deep-freezes, and runs the schema. Errors name the secret and the JSON path, never the value.
 */
export async function parseSecret(decl: NormalizedDeclaration, raw: RawSecret): Promise<unknown> {
  const value = decodeFormat(decl, raw);
  // A schema gets the parser's own Uint8Array copy (to transform as it likes); without one, the
  // bytes are sealed in a SecretBytes so that no reader can change them for the others.
  if (!decl.schema) return value instanceof Uint8Array ? SecretBytes.adopt(value) : value;
  return validate(decl, decl.schema, value);
}

function decodeFormat(decl: NormalizedDeclaration, raw: RawSecret): unknown {
  const fail = (reason: string, detail: string, path?: string) =>
    new SecretParseError(decl.name, decl.id, reason, detail, path);
  if (decl.format === 'binary') {
    if (raw.binary === undefined)
      throw fail('STRING_AS_BINARY', 'declared format "binary" but the secret holds a SecretString');
    if (raw.binary.byteLength > MAX_SECRET_BYTES)
      throw fail('TOO_LARGE', `binary value is ${raw.binary.byteLength} bytes (max ${MAX_SECRET_BYTES})`);
    if (raw.binary.byteLength === 0) throw fail('EMPTY', 'the binary value is empty');
    return new Uint8Array(raw.binary);
  }
  let text: string;
  if (raw.string !== undefined) {
    text = raw.string;
  } else if (raw.binary !== undefined) {
    throw fail(
      'BINARY_AS_STRING',
      `declared format "${decl.format}" but the secret holds a SecretBinary; declare format "binary"`,
    );
  } else {
    throw fail('EMPTY', 'the secret has neither SecretString nor SecretBinary');
  }
  if (text.length === 0) throw fail('EMPTY', 'the value is an empty string');
  if (Buffer.byteLength(text, 'utf8') > MAX_SECRET_BYTES)
    throw fail('TOO_LARGE', `value exceeds ${MAX_SECRET_BYTES} bytes`);
  if (decl.format === 'string') return text;

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    // V8's message quotes the input; report only the position.
    const position = /position (\d+)/.exec(String((e as Error).message))?.[1];
    throw fail('INVALID_JSON', `the value is not valid JSON${position ? ` (error at character ${position})` : ''}`);
  }
  checkShape(parsed, '$', 0, fail);
  if (decl.key === undefined) return deepFreeze(parsed);

  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw fail('NOT_AN_OBJECT', `\`key\` "${decl.key}" needs a JSON object, but the value is ${describe(parsed)}`, '$');
  }
  const path = `$.${decl.key}`;
  if (!Object.prototype.hasOwnProperty.call(parsed, decl.key)) {
    // The names present are not listed: in a map keyed by secrets (API key → tenant) they are the secrets.
    const count = Object.keys(parsed).length;
    throw fail(
      'MISSING_KEY',
      `key "${decl.key}" is missing; the object has ${count} other key${count === 1 ? '' : 's'} (names not shown)`,
      path,
    );
  }
  const picked = (parsed as Record<string, unknown>)[decl.key];
  if (!decl.schema && typeof picked !== 'string') {
    throw fail(
      'KEY_NOT_STRING',
      `key "${decl.key}" holds ${describe(picked)}, not a string; add a \`schema\` to accept it`,
      path,
    );
  }
  if (picked === '') throw fail('EMPTY', `key "${decl.key}" is an empty string`, path);
  return deepFreeze(picked);
}

function checkShape(
  value: unknown,
  path: string,
  depth: number,
  fail: (reason: string, detail: string, path?: string) => SecretParseError,
): void {
  if (value === null || typeof value !== 'object') return;
  if (depth >= MAX_JSON_DEPTH) throw fail('TOO_DEEP', `JSON nesting exceeds ${MAX_JSON_DEPTH} levels`, path);
  if (Array.isArray(value)) {
    value.forEach((v, i) => checkShape(v, `${path}[${i}]`, depth + 1, fail));
    return;
  }
  for (const key of Object.keys(value)) {
    if (UNSAFE_KEYS.has(key))
      throw fail('UNSAFE_KEY', `JSON key "${key}" is not allowed (prototype pollution guard)`, `${path}.${key}`);
    checkShape((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1, fail);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/**
 * Recursively freezes objects and arrays. Typed arrays, `DataView`s and `ArrayBuffer`s cannot be
 * frozen (`Object.freeze` throws on a non-empty one) and are left as they are, unvisited.
 */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) return value;
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

async function validate(decl: NormalizedDeclaration, schema: StandardSchemaV1, value: unknown): Promise<unknown> {
  let result = schema['~standard'].validate(value);
  if (result instanceof Promise) result = await result;
  if (result.issues) {
    // Schema libraries quote the value in their messages (escaped, truncated, or whole): each
    // message and path segment is kept only when it carries no fragment of the value.
    // Keys an issue's path names are the schema's own; other keys may be secrets (a map keyed by them).
    const pathKeys = new Set<string>();
    for (const issue of result.issues) for (const s of issue.path ?? []) pathKeys.add(String(segmentKey(s)));
    const leaves = Fragments.index([value], () => false);
    const fragments = Fragments.index([value], (key) => !pathKeys.has(key));
    const issues: ValidationIssue[] = result.issues.map((issue) => ({
      path: formatPath(issue.path, leaves),
      message: fragments.safe(String(issue.message), WITHHELD_ISSUE),
    }));
    throw new SecretValidationError(decl.name, decl.id, issues);
  }
  return deepFreeze(result.value);
}

/** What an issue reads when the schema's own message quoted the value (or was too long to check). */
export const WITHHELD_ISSUE = 'does not match the schema (the schema message is withheld: it quotes the value)';

function formatPath(path: StandardSchemaV1.Issue['path'], fragments: Fragments): string {
  let out = '$';
  for (const segment of path ?? []) {
    const key = segmentKey(segment);
    if (typeof key === 'number') out += `[${key}]`;
    else out += `.${fragments.safe(String(key), REDACTED)}`;
  }
  return out;
}

function segmentKey(segment: PropertyKey | StandardSchemaV1.PathSegment): PropertyKey {
  return typeof segment === 'object' && segment !== null ? segment.key : segment;
}

/** Decodes a Uint8Array as strict UTF-8, or undefined when it is not valid UTF-8. */
export function utf8(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}
