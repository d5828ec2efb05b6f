import { readFileSync } from 'node:fs';
import type { Json } from './http';
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

/** Seed file shape: `{ "secrets": { "<name>": "<value>" | SeedSecret } }`. */
export interface SeedFile {
  secrets: Record<string, string | SeedSecret>;
}

/** A seed: a {@link SeedFile}, a plain `{ name: value }` map, or a path to a JSON file with either. */
export type Seed = SeedFile | Record<string, string | SeedSecret>;

function isSeedFile(seed: Seed): seed is SeedFile {
  const s = (seed as Json).secrets;
  return typeof s === 'object' && s !== null && !Array.isArray(s);
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

/** Loads secrets from a seed object or JSON file path into `model`. */
export function applySeed(model: SecretsModel, seed: Seed | string): void {
  const data = typeof seed === 'string' ? readJsonFile(seed) : seed;
  const entries = isSeedFile(data) ? data.secrets : data;
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
