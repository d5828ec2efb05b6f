import type { StandardSchemaV1 } from '@standard-schema/spec';
import { SecretsConfigError } from './errors';
import type { SecretBytes } from './secret-bytes';
import { checkKnownKeys, parseDuration, type Duration } from './validation';

/**
 * How a secret's raw value is turned into the value you read. `list` splits the text on commas into
 * a frozen `string[]` (an SSM `StringList` parameter).
 */
export type SecretFormat = 'string' | 'json' | 'binary' | 'list';

/**
 * One declared secret.
 *
 * @example
 * { id: 'prod/app/db', format: 'json', schema: DbCredentials }
 * { id: 'prod/app/db', key: 'password' }
 * { id: 'prod/app/db', versionStage: 'AWSPREVIOUS', optional: true }
 */
export interface SecretDeclarationObject {
  /** Secret name or ARN in Secrets Manager (or the agent / file name for other sources). */
  readonly id: string;
  /**
   * `string` (default), `json` (parsed, deep-frozen) or `binary` (immutable {@link SecretBytes}).
   * @default 'string', or 'json' when `key` is set
   */
  readonly format?: SecretFormat;
  /** Read one top-level key of a JSON secret. The value must be a string unless a `schema` is given. */
  readonly key?: string;
  /** Any Standard Schema (zod, valibot, arktype…) applied to the parsed value. */
  readonly schema?: StandardSchemaV1;
  /** Pin a staging label. Non-`AWSCURRENT` stages are fetched with `GetSecretValue`. */
  readonly versionStage?: string;
  /** Pin a version id. Fetched with `GetSecretValue`; never changes, so never rotates. */
  readonly versionId?: string;
  /**
   * Optional secrets may be missing: `load()` succeeds without them and `get()` returns `undefined`.
   * @default false
   */
  readonly optional?: boolean;
  /**
   * Background refresh interval of this secret, overriding the store's `refreshInterval` (and the
   * `rotationSchedule` safety interval). `false` or `0`: never refreshed in the background (forced
   * refreshes, `invalidate()` and source change notifications still apply). Secrets that come due
   * within the same second are still fetched in one batch.
   * @default the store's interval
   */
  readonly refreshInterval?: Duration | false;
  /**
   * The store source that reads this secret: a name in the store's `sources` option (checked when
   * the store is built). Without it, the store's default `source` reads it.
   * @example 'ssm'
   * @default the store's `source`
   */
  readonly source?: string;
  /**
   * Parameter Store path (`ssmParameterStore()` sources only): `id` is a path such as
   * `/app/prod/`, read with `GetParametersByPath` (paginated) as one value: a frozen record of every
   * parameter under it, keyed by its name relative to the path (`db/host`), refreshed as a unit.
   * StringList values stay comma-separated text. A schema, if any, validates the whole record.
   * @default false
   */
  readonly path?: boolean;
  /** With `path`: include every level below the path, not only its direct children. @default false */
  readonly recursive?: boolean;
}

/** A declaration: a secret id (shorthand for a required string secret) or a full object. */
export type SecretDeclaration = string | SecretDeclarationObject;

/** A map of names to declarations. */
export type SecretDeclarations = { readonly [name: string]: SecretDeclaration };

type BaseValue<D> = D extends string
  ? string
  : D extends { readonly schema: StandardSchemaV1<unknown, infer O> }
    ? O
    : D extends { readonly key: string }
      ? string
      : D extends { readonly path: true }
        ? Readonly<Record<string, string>>
        : D extends { readonly format: 'json' }
          ? unknown
          : D extends { readonly format: 'binary' }
            ? SecretBytes
            : D extends { readonly format: 'list' }
              ? readonly string[]
              : string;

/** The type `get(name)` returns for a declaration. */
export type SecretValueOf<D> = D extends { readonly optional: true } ? BaseValue<D> | undefined : BaseValue<D>;

/** The value types of every declared secret: `InferSecrets<typeof declarations>`. */
export type InferSecrets<D extends SecretDeclarations> = { readonly [K in keyof D]: SecretValueOf<D[K]> };

/** Declared names, as a union of string literals. */
export type SecretName<D extends SecretDeclarations> = keyof D & string;

/** Normalised form of a declaration, used internally and by sources. */
export interface NormalizedDeclaration {
  readonly name: string;
  readonly id: string;
  readonly format: SecretFormat;
  readonly key: string | undefined;
  readonly schema: StandardSchemaV1 | undefined;
  readonly versionStage: string | undefined;
  readonly versionId: string | undefined;
  readonly optional: boolean;
  /** Milliseconds (0 = no background refresh), or undefined for the store's default. */
  readonly refreshInterval: number | undefined;
  /** The store source that reads it (a name in the `sources` option); undefined for the default one. */
  readonly source: string | undefined;
  /** A Parameter Store path read as one record (`GetParametersByPath`); undefined otherwise. */
  readonly path: { readonly recursive: boolean } | undefined;
  /** Identity of what is fetched: same id + version pin = one fetch (per source). */
  readonly fetchKey: string;
}

const DECLARATION_KEYS = [
  'id',
  'format',
  'key',
  'schema',
  'versionStage',
  'versionId',
  'optional',
  'refreshInterval',
  'source',
  'path',
  'recursive',
] as const;
const FORMATS: readonly SecretFormat[] = ['string', 'json', 'binary', 'list'];
const NAME_PATTERN = /^[A-Za-z_$][\w$-]*$/;
/**
 * Names a record of values cannot carry: every property of `Object.prototype` (`constructor`,
 * `toString`, `valueOf`, `__proto__`, `hasOwnProperty`…), the printing hooks Hush's views answer
 * with `[redacted]` (`toJSON`, `inspect`) and `then` (a view holding a `then` is taken for a promise
 * by `await`). As secret names they would shadow those hooks in `store.snapshot()` and
 * `req.secrets`: printing would call the value, or a value would print in the error that follows.
 */
const RESERVED_NAMES: ReadonlySet<string> = new Set([
  ...Object.getOwnPropertyNames(Object.prototype),
  'toJSON',
  'inspect',
  'then',
]);
const normalized = new WeakMap<object, readonly NormalizedDeclaration[]>();

/**
 * Declares every secret an application reads, once. Validates eagerly and keeps literal types,
 * so `store.get('db')` is typed from the declaration.
 *
 * @example
 * const secrets = defineSecrets({
 *   db: { id: 'prod/app/db', format: 'json', schema: DbCredentials },
 *   dbPassword: { id: 'prod/app/db', key: 'password' },
 *   stripeKey: 'prod/app/stripe',
 * });
 * @throws SecretsConfigError for an empty or duplicate name, an empty id, an unknown format or option.
 */
export function defineSecrets<const D extends SecretDeclarations>(declarations: D): D {
  assertDeclarationsObject(declarations);
  // Normalise the frozen copy the store will receive, so the store reuses this work (cached per object).
  const frozen = Object.freeze({ ...declarations }) as D;
  normalizeDeclarations(frozen);
  return frozen;
}

function assertDeclarationsObject(declarations: unknown): void {
  if (declarations === null || typeof declarations !== 'object' || Array.isArray(declarations)) {
    throw new SecretsConfigError(
      'secrets',
      'expected an object mapping names to declarations, e.g. { db: "prod/app/db" }.',
    );
  }
}

/** Validates and normalises declarations (cached per object). */
export function normalizeDeclarations(declarations: SecretDeclarations): readonly NormalizedDeclaration[] {
  assertDeclarationsObject(declarations);
  const cached = normalized.get(declarations);
  if (cached) return cached;
  const names = Object.keys(declarations);
  if (names.length === 0) {
    throw new SecretsConfigError('secrets', 'no secrets declared. Declare at least one, e.g. { db: "prod/app/db" }.');
  }
  // Object keys cannot repeat, but names that differ only by case are duplicates to a reader
  // (and to case-insensitive consumers such as env-style config); reject them.
  const seen = new Map<string, string>();
  for (const name of names) {
    const other = seen.get(name.toLowerCase());
    if (other !== undefined) {
      throw new SecretsConfigError(
        `secrets.${name}`,
        `duplicate secret name "${name}": "${other}" is already declared; names must differ by more than letter case.`,
      );
    }
    seen.set(name.toLowerCase(), name);
  }
  const out = names.map((name) => normalizeOne(name, declarations[name]!));
  const frozen = Object.freeze(out);
  normalized.set(declarations, frozen);
  return frozen;
}

function normalizeOne(name: string, raw: SecretDeclaration): NormalizedDeclaration {
  const at = `secrets.${name}`;
  if (!NAME_PATTERN.test(name)) {
    throw new SecretsConfigError(
      at,
      `invalid secret name "${name}". Names are identifiers (letters, digits, _, $, -), used as \`store.get("${name}")\`.`,
    );
  }
  if (RESERVED_NAMES.has(name)) {
    throw new SecretsConfigError(
      at,
      `"${name}" cannot be a secret name: it is a property every object has (or a hook printing and \`await\` call), ` +
        `so in store.snapshot() and req.secrets it would shadow it. Rename it, e.g. "${name.replace(/^_+/, '')}Secret".`,
    );
  }
  if (typeof raw === 'string') raw = { id: raw };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SecretsConfigError(at, 'expected a secret id string or an object like { id: "prod/app/db" }.');
  }
  checkKnownKeys(raw as object, DECLARATION_KEYS, at);
  const { id, key, schema, versionStage, versionId } = raw;
  if (typeof id !== 'string' || id.trim() === '') {
    throw new SecretsConfigError(`${at}.id`, 'the secret id is empty. Set it to the secret name or ARN.');
  }
  if (id.length > 2048) throw new SecretsConfigError(`${at}.id`, 'ids are at most 2048 characters.');
  for (const opt of ['path', 'recursive'] as const) {
    if (raw[opt] !== undefined && typeof raw[opt] !== 'boolean') {
      throw new SecretsConfigError(`${at}.${opt}`, `${opt} must be true or false.`);
    }
  }
  const isPath = raw.path === true;
  if (raw.recursive === true && !isPath) {
    throw new SecretsConfigError(`${at}.recursive`, '`recursive` applies to a path; add `path: true`.');
  }
  if (isPath) {
    if (raw.format !== undefined && raw.format !== 'json') {
      throw new SecretsConfigError(
        `${at}.format`,
        `a path is read as a record of parameter names to values; remove \`format\` (got ${JSON.stringify(raw.format)}).`,
      );
    }
    if (raw.versionId !== undefined || raw.versionStage !== undefined) {
      throw new SecretsConfigError(`${at}.path`, 'a path has no versions or labels; remove versionId / versionStage.');
    }
  }
  const format = raw.format ?? (key !== undefined || isPath ? 'json' : 'string');
  if (!FORMATS.includes(format)) {
    throw new SecretsConfigError(
      `${at}.format`,
      `unknown format ${JSON.stringify(format)}. Use one of ${FORMATS.map((f) => `"${f}"`).join(', ')}.`,
    );
  }
  if (key !== undefined) {
    if (typeof key !== 'string' || key === '') {
      throw new SecretsConfigError(`${at}.key`, 'key must be a non-empty string naming a top-level JSON key.');
    }
    if (format !== 'json') {
      throw new SecretsConfigError(
        `${at}.key`,
        `\`key\` reads a key of a JSON secret, but format is "${format}". Remove \`format\` or set it to "json".`,
      );
    }
  }
  if (schema !== undefined && !isStandardSchema(schema)) {
    throw new SecretsConfigError(
      `${at}.schema`,
      'expected a Standard Schema (an object with a "~standard" property, e.g. a zod or valibot schema).',
    );
  }
  for (const [opt, v] of [
    ['versionStage', versionStage],
    ['versionId', versionId],
  ] as const) {
    if (v !== undefined && (typeof v !== 'string' || v === '')) {
      throw new SecretsConfigError(`${at}.${opt}`, `${opt} must be a non-empty string.`);
    }
  }
  if (raw.optional !== undefined && typeof raw.optional !== 'boolean') {
    throw new SecretsConfigError(`${at}.optional`, 'optional must be true or false.');
  }
  const refreshInterval =
    raw.refreshInterval === undefined
      ? undefined
      : raw.refreshInterval === false
        ? 0
        : parseDuration(raw.refreshInterval, `${at}.refreshInterval`, { allowZero: true });
  if (raw.source !== undefined && (typeof raw.source !== 'string' || raw.source === '')) {
    throw new SecretsConfigError(`${at}.source`, 'source must name one of the store\'s `sources`, e.g. "ssm".');
  }
  const stage = versionStage === 'AWSCURRENT' && versionId === undefined ? undefined : versionStage;
  return Object.freeze({
    name,
    id,
    format,
    key,
    schema,
    versionStage: stage,
    versionId,
    optional: raw.optional ?? false,
    refreshInterval,
    source: raw.source === 'default' ? undefined : raw.source,
    path: isPath ? Object.freeze({ recursive: raw.recursive === true }) : undefined,
    fetchKey: isPath ? `${id}#path${raw.recursive === true ? ':recursive' : ''}` : fetchKeyOf(id, versionId, stage),
  });
}

/** The identity of one fetch: an id at a version pin. */
export function fetchKeyOf(id: string, versionId?: string, versionStage?: string): string {
  return versionId ? `${id}#id:${versionId}` : versionStage ? `${id}#stage:${versionStage}` : id;
}

function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    '~standard' in value &&
    typeof (value as StandardSchemaV1)['~standard']?.validate === 'function'
  );
}
