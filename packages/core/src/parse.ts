import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { NormalizedDeclaration } from './declarations';
import { SecretParseError, SecretValidationError, type ValidationIssue } from './errors';
import { Fragments, MAX_FOREIGN_TEXT, REDACTED } from './redaction';
import { SecretBytes } from './secret-bytes';
import type { RawSecret } from './sources/source';
import { carriesAnyValue } from './value-index';

/** AWS's limit for SecretString and SecretBinary. */
export const MAX_SECRET_BYTES = 65_536;
/** The bound of a Parameter Store path's record (all its parameters as JSON). */
export const MAX_PATH_BYTES = 1_048_576;
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
  // A Parameter Store path holds many parameters (each up to 8 KB): its record gets a larger bound.
  const limit = decl.path ? MAX_PATH_BYTES : MAX_SECRET_BYTES;
  if (Buffer.byteLength(text, 'utf8') > limit) throw fail('TOO_LARGE', `value exceeds ${limit} bytes`);
  if (decl.format === 'string') return text;
  // A StringList parameter: its items, in order (SSM forbids commas inside an item).
  if (decl.format === 'list') return Object.freeze(text.split(','));

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
    // Schema libraries quote the value in their messages (escaped, truncated, or whole), and an
    // issue's path names the data's keys (in a map keyed by secrets, the secrets). A path key is
    // printed only when the schema itself declares it; a message is kept only when it carries no
    // fragment of this value (its declared keys aside) nor of any value of any store.
    const shape = shapeOf(schema);
    const paths = result.issues.map((issue) => (issue.path ?? []).map(segmentKey));
    const declared = new Set<string>();
    for (const path of paths) {
      path.forEach((key, at) => {
        if (typeof key === 'string' && declares(shape, schema, value, path, at)) declared.add(key);
      });
    }
    const leaves = Fragments.index([value], () => false);
    const fragments = Fragments.index([value], (key) => !declared.has(key));
    const issues: ValidationIssue[] = result.issues.map((issue, i) => ({
      path: formatPath(paths[i]!, declared, leaves),
      message: safeMessage(String(issue.message), declared, fragments),
    }));
    throw new SecretValidationError(decl.name, decl.id, issues);
  }
  return deepFreeze(result.value);
}

/** What an issue reads when the schema's own message quoted the value (or was too long to check). */
export const WITHHELD_ISSUE = 'does not match the schema (the schema message is withheld: it quotes the value)';

function safeMessage(message: string, declared: ReadonlySet<string>, fragments: Fragments): string {
  if (message.length > MAX_FOREIGN_TEXT || fragments.in(message)) return WITHHELD_ISSUE;
  // The keys the schema declares may be keys of other secrets' values too ("password"): not a leak.
  let rest = message;
  for (const key of declared) if (key.length > 0) rest = rest.split(key).join('\u0000');
  return carriesAnyValue(rest) ? WITHHELD_ISSUE : message;
}

/** A path with each key the schema declares (and that no leaf of the value holds) shown, any other key withheld. */
function formatPath(path: readonly PropertyKey[], declared: ReadonlySet<string>, leaves: Fragments): string {
  let out = '$';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && declared.has(key) && !leaves.in(key)) out += `.${key}`;
    else out += `.${REDACTED}`;
  }
  return out;
}

function segmentKey(segment: PropertyKey | StandardSchemaV1.PathSegment): PropertyKey {
  return typeof segment === 'object' && segment !== null ? segment.key : segment;
}

/** How to tell the keys a schema declares from keys of the data: its JSON Schema, or valibot's structure. */
type Shape = { readonly kind: 'json'; readonly root: JsonNode } | { readonly kind: 'valibot' } | undefined;
type JsonNode = Record<string, unknown>;
type Node = Record<string, unknown>;

const shapes = new WeakMap<object, Shape>();

function shapeOf(schema: StandardSchemaV1): Shape {
  if (shapes.has(schema)) return shapes.get(schema);
  let shape: Shape;
  const std = schema['~standard'] as StandardSchemaV1.Props & {
    jsonSchema?: { input?: (options: { target: string }) => unknown };
  };
  try {
    const root = std.jsonSchema?.input?.({ target: 'draft-2020-12' });
    if (root !== null && typeof root === 'object') shape = { kind: 'json', root: root as JsonNode };
  } catch {
    // A schema with parts JSON Schema cannot express (transforms, custom checks): no shape from it.
  }
  if (shape === undefined && std.vendor === 'valibot') shape = { kind: 'valibot' };
  shapes.set(schema, shape);
  return shape;
}

/**
 * Whether the key at `path[at]` is one the schema declares (an object's property), not a key of
 * the data (a record's, a map's). A key the data does not have is the schema's (a missing
 * property). Without a shape to read, every key of the data counts as data.
 */
function declares(
  shape: Shape,
  schema: StandardSchemaV1,
  data: unknown,
  path: readonly PropertyKey[],
  at: number,
): boolean {
  const key = path[at] as string;
  let parent: unknown = data;
  for (let i = 0; i < at; i++) parent = ownData(parent, path[i]!);
  if (parent === null || typeof parent !== 'object' || ownData(parent, key) === undefined) return true;
  if (shape === undefined) return false;
  return shape.kind === 'json' ? jsonDeclares(shape.root, path, at) : valibotDeclares(schema, path, at);
}

/** valibot schemas are plain objects: `entries` (objects), `value` (records), `item` (arrays), `wrapped`, `options`. */
function valibotDeclares(schema: unknown, path: readonly PropertyKey[], at: number): boolean {
  let nodes = valibotExpand(schema, 0);
  for (let i = 0; i < at; i++) {
    const key = path[i]!;
    nodes = nodes
      .flatMap((n): unknown[] => {
        const entries = n['entries'];
        if (isNode(entries) && typeof key === 'string' && Object.prototype.hasOwnProperty.call(entries, key))
          return [entries[key]];
        if (n['type'] === 'record' || n['type'] === 'map') return [n['value']];
        if (n['type'] === 'array') return [n['item']];
        if (Array.isArray(n['items']) && typeof key === 'number') return [(n['items'] as unknown[])[key]];
        if (n['rest'] !== undefined) return [n['rest']];
        return [];
      })
      .flatMap((n) => valibotExpand(n, 0));
  }
  const key = path[at] as string;
  return nodes.some(
    (n) => n['type'] !== 'record' && isNode(n['entries']) && Object.prototype.hasOwnProperty.call(n['entries'], key),
  );
}

function valibotExpand(node: unknown, depth: number): Node[] {
  if (!isNode(node) || depth > 16) return [];
  const out: Node[] = [node];
  if (node['wrapped'] !== undefined) out.push(...valibotExpand(node['wrapped'], depth + 1));
  if (Array.isArray(node['options'])) for (const o of node['options']) out.push(...valibotExpand(o, depth + 1));
  return out;
}

function ownData(value: unknown, key: PropertyKey): unknown {
  if (value === null || typeof value !== 'object') return undefined;
  const desc = Object.getOwnPropertyDescriptor(value, key);
  return desc && 'value' in desc ? (desc.value as unknown) : undefined;
}

function jsonDeclares(root: JsonNode, path: readonly PropertyKey[], at: number): boolean {
  let nodes = expand(root, root, 0);
  for (let i = 0; i < at; i++) nodes = nodes.flatMap((n) => jsonChild(n, path[i]!)).flatMap((n) => expand(root, n, 0));
  const key = path[at] as string;
  return nodes.some((n) => isNode(n['properties']) && Object.prototype.hasOwnProperty.call(n['properties'], key));
}

function isNode(v: unknown): v is Node {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A node with its `$ref` resolved and its `allOf`/`anyOf`/`oneOf` branches spread out. */
function expand(root: JsonNode, node: Node, depth: number): Node[] {
  if (depth > 16) return [];
  const out: Node[] = [node];
  const ref = node['$ref'];
  if (typeof ref === 'string' && ref.startsWith('#/')) {
    let target: unknown = root;
    for (const part of ref.slice(2).split('/'))
      target = isNode(target) ? target[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
    if (isNode(target)) out.push(...expand(root, target, depth + 1));
  }
  for (const combinator of ['allOf', 'anyOf', 'oneOf']) {
    const branches = node[combinator];
    if (Array.isArray(branches)) for (const b of branches) if (isNode(b)) out.push(...expand(root, b, depth + 1));
  }
  return out;
}

function jsonChild(node: Node, key: PropertyKey): Node[] {
  const out: Node[] = [];
  const props = node['properties'];
  if (
    typeof key === 'string' &&
    isNode(props) &&
    isNode(props[key]) &&
    Object.prototype.hasOwnProperty.call(props, key)
  )
    out.push(props[key] as Node);
  if (isNode(node['additionalProperties'])) out.push(node['additionalProperties']);
  const patterns = node['patternProperties'];
  if (isNode(patterns)) for (const p of Object.values(patterns)) if (isNode(p)) out.push(p);
  const prefix = node['prefixItems'];
  if (typeof key === 'number' && Array.isArray(prefix) && isNode(prefix[key])) out.push(prefix[key] as Node);
  if (isNode(node['items'])) out.push(node['items']);
  return out;
}

/** Decodes a Uint8Array as strict UTF-8, or undefined when it is not valid UTF-8. */
export function utf8(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}
