import { readFileSync } from 'node:fs';
import type { Json } from './http';
import type { ParameterType, ParametersModel } from './parameters-model';
import type { SecretValue, SecretsModel } from './secrets-model';

/** One older version of a seeded secret. */
export interface SeedVersion {
  /** Text value (`SecretString`). */
  value?: string;
  /** Binary value, base64 (`SecretBinary`). */
  binary?: string;
  /** @default a random UUID */
  versionId?: string;
  /** Labels; when omitted the version is put as AWSCURRENT, so later ones push it to AWSPREVIOUS. */
  stages?: string[];
}

/** A seeded secret with options; its `value`/`binary` becomes the AWSCURRENT version. */
export interface SeedSecret {
  value?: string;
  /** Base64 bytes. */
  binary?: string;
  description?: string;
  /** Older versions, oldest first, put before `value`. */
  versions?: SeedVersion[];
}

/** One older version of a seeded parameter. */
export interface SeedParameterVersion {
  value: string;
  /** @default the parameter's type */
  type?: ParameterType;
  /** Labels on this version. */
  labels?: string[];
}

/** A seeded Parameter Store parameter with options; its `value` becomes the latest version. */
export interface SeedParameter {
  value: string;
  /** @default 'String' */
  type?: ParameterType;
  /** Labels on the latest version. */
  labels?: string[];
  description?: string;
  /** @default 'text' */
  dataType?: string;
  /** Older versions, oldest first (versions 1, 2, … before `value`). */
  versions?: SeedParameterVersion[];
}

/** Parameters to seed: `{ "/app/url": "https://…" }` (a String) or {@link SeedParameter}. */
export type SeedParameters = Record<string, string | SeedParameter>;

/**
 * Seed file shape: `{ "secrets": { "<name>": "<value>" | SeedSecret }, "parameters": { "<name>": "<value>" | SeedParameter } }`
 * (either key may be left out).
 */
export interface SeedFile {
  secrets?: Record<string, string | SeedSecret>;
  parameters?: SeedParameters;
}

/** A seed: a {@link SeedFile}, a plain `{ name: value }` map, or a path to a JSON file with either. */
export type Seed = SeedFile | Record<string, string | SeedSecret>;

function isSeedFile(seed: Seed): seed is SeedFile {
  const isMap = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  return isMap((seed as Json).secrets) || isMap((seed as Json).parameters);
}

function readJsonFile(path: string): Seed {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Seed;
  } catch (err) {
    throw new Error(
      `Could not read the seed file ${path}: ${(err as Error).message}. It must be JSON: {"secrets": {"name": "value"}}.`,
      { cause: err },
    );
  }
}

function seedValue(name: string, v: { value?: string; binary?: string }): SecretValue {
  if (v.binary !== undefined) return new Uint8Array(Buffer.from(v.binary, 'base64'));
  if (v.value !== undefined) return v.value;
  throw new TypeError(`Seed: a version of ${name} has neither value nor binary.`);
}

/** Loads secrets (and a seed file's `parameters`, into `parameters`) from a seed object or JSON file path. */
export function applySeed(model: SecretsModel, seed: Seed | string, parameters?: ParametersModel): void {
  const data = typeof seed === 'string' ? readJsonFile(seed) : seed;
  const entries = (isSeedFile(data) ? data.secrets : data) ?? {};
  if (isSeedFile(data) && data.parameters !== undefined && parameters) applyParameters(parameters, data.parameters);
  for (const [name, entry] of Object.entries(entries)) {
    try {
      seedOne(model, name, entry);
    } catch (err) {
      if (err instanceof TypeError) throw err;
      // Name the secret: the model's errors carry AWS's text, which does not.
      throw new Error(`Seed: secret ${JSON.stringify(name)}: ${(err as Error).message}`, { cause: err });
    }
  }
}

function seedOne(model: SecretsModel, name: string, entry: string | SeedSecret): void {
  if (typeof entry === 'string') {
    model.put(name, entry);
    return;
  }
  if (typeof entry !== 'object' || entry === null) {
    throw new TypeError(`Seed: secret ${name} must be a string or an object with value/binary, got ${typeof entry}.`);
  }
  const description = entry.description;
  for (const v of entry.versions ?? []) {
    model.put(name, seedValue(name, v), { versionId: v.versionId, stages: v.stages, description });
  }
  if (entry.value !== undefined || entry.binary !== undefined) {
    model.put(name, seedValue(name, entry), { description });
  } else if (!model.find(name)) {
    model.create(name, { description });
  }
}

/** Loads parameters into `model`: each version in order, then its labels. Errors name the parameter, never a value. */
export function applyParameters(model: ParametersModel, seed: SeedParameters): void {
  for (const [name, entry] of Object.entries(seed)) {
    const spec: SeedParameter = typeof entry === 'string' ? { value: entry } : entry;
    if (typeof spec !== 'object' || spec === null || typeof spec.value !== 'string') {
      throw new TypeError(`Seed: parameter ${JSON.stringify(name)} must be a string or an object with a string value.`);
    }
    const type = spec.type ?? 'String';
    const versions: SeedParameterVersion[] = [
      ...(spec.versions ?? []),
      { value: spec.value, type, labels: spec.labels },
    ];
    try {
      for (const v of versions) {
        if (typeof v.value !== 'string') throw new TypeError('every version needs a string value');
        const put = model.put(name, v.value, {
          type: v.type ?? type,
          overwrite: true,
          ...(spec.dataType !== undefined ? { dataType: spec.dataType } : {}),
          ...(spec.description !== undefined ? { description: spec.description } : {}),
        });
        if (v.labels && v.labels.length > 0) {
          const { invalid } = model.label(name, v.labels, put.version);
          if (invalid.length > 0) throw new TypeError(`invalid labels ${JSON.stringify(invalid)}`);
        }
      }
    } catch (err) {
      throw new Error(`Seed: parameter ${JSON.stringify(name)}: ${(err as Error).message}`, { cause: err });
    }
  }
}
