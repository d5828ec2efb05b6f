import { randomBytes, randomUUID } from 'node:crypto';
import { ServiceError } from './errors';

/** Staging label of the version GetSecretValue returns by default. */
export const AWSCURRENT = 'AWSCURRENT';
/** Staging label Secrets Manager moves to the version AWSCURRENT was removed from. */
export const AWSPREVIOUS = 'AWSPREVIOUS';
/** Staging label of a version created during rotation, before it becomes current. */
export const AWSPENDING = 'AWSPENDING';

/** A secret value: text (`SecretString`) or bytes (`SecretBinary`). */
export type SecretValue = string | Uint8Array;

/** One version of a secret, as kept in memory. */
export interface StoredVersion {
  readonly versionId: string;
  readonly secretString?: string;
  readonly secretBinary?: Buffer;
  /** Epoch milliseconds. */
  readonly createdDate: number;
  readonly stages: Set<string>;
}

/** A secret with all its versions, as kept in memory. */
export interface StoredSecret {
  readonly name: string;
  readonly arn: string;
  description?: string;
  tags: Array<{ Key?: string; Value?: string }>;
  /** Epoch milliseconds. */
  readonly createdDate: number;
  lastChangedDate: number;
  lastAccessedDate?: number;
  /** Set while the secret is scheduled for deletion (epoch ms of the planned deletion). */
  deletedDate?: number;
  /** Versions in creation order. */
  readonly versions: Map<string, StoredVersion>;
}

/** Options for {@link SecretsModel.put}. */
export interface PutOptions {
  /** Version id to use (the `ClientRequestToken`). @default crypto.randomUUID() */
  versionId?: string;
  /** Labels for the new version. @default ['AWSCURRENT'] */
  stages?: string[];
  /** Description stored on the secret when it is created. */
  description?: string;
}

/** The result of reading one version. */
export interface ResolvedValue {
  readonly secret: StoredSecret;
  readonly version: StoredVersion;
}

const ARN_PREFIX = /^arn:aws[a-z-]*:secretsmanager:[^:]*:[^:]*:secret:/;
const SUFFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

const NOT_FOUND = "Secrets Manager can't find the specified secret.";
const MARKED_FOR_DELETION = "You can't perform this operation on the secret because it was marked for deletion.";

/** Normalizes a value to the stored representation. */
function toStored(value: SecretValue): { secretString?: string; secretBinary?: Buffer } {
  if (typeof value === 'string') return { secretString: value };
  return { secretBinary: Buffer.from(value.buffer, value.byteOffset, value.byteLength) };
}

function randomSuffix(): string {
  const bytes = randomBytes(6);
  let out = '';
  for (const b of bytes) out += SUFFIX_ALPHABET[b % SUFFIX_ALPHABET.length];
  return out;
}

/**
 * In-memory model of Secrets Manager secrets, versions and staging labels.
 *
 * Label rules follow AWS: a label sits on at most one version; moving `AWSCURRENT` moves
 * `AWSPREVIOUS` to the version it left. Methods throw {@link ServiceError} with the AWS code.
 *
 * @example
 * const store = new SecretsModel('us-east-1', '123456789012');
 * store.put('db', '{"password":"a"}');
 * store.get('db').version.secretString; // '{"password":"a"}'
 */
export class SecretsModel {
  private readonly secrets = new Map<string, StoredSecret>();

  constructor(
    readonly region: string,
    readonly accountId: string,
  ) {}

  /** Finds a secret by name, full ARN or partial ARN (no random suffix); `undefined` if absent. */
  find(id: string): StoredSecret | undefined {
    const byName = this.secrets.get(id);
    if (byName) return byName;
    if (!ARN_PREFIX.test(id)) return undefined;
    for (const secret of this.secrets.values()) {
      if (secret.arn === id) return secret;
    }
    const partial = id.replace(ARN_PREFIX, '');
    return this.secrets.get(partial);
  }

  /** Like {@link find} but throws ResourceNotFoundException. */
  require(id: string): StoredSecret {
    const secret = this.find(id);
    if (!secret) throw new ServiceError('ResourceNotFoundException', NOT_FOUND);
    return secret;
  }

  /** Like {@link require} but also rejects secrets scheduled for deletion (InvalidRequestException). */
  requireActive(id: string): StoredSecret {
    const secret = this.require(id);
    if (secret.deletedDate !== undefined) throw new ServiceError('InvalidRequestException', MARKED_FOR_DELETION);
    return secret;
  }

  /** All secrets, in creation order. */
  list(): StoredSecret[] {
    return [...this.secrets.values()];
  }

  /** Creates an empty secret (no versions). Throws ResourceExistsException if the name is taken. */
  create(
    name: string,
    opts: { description?: string; tags?: Array<{ Key?: string; Value?: string }> } = {},
  ): StoredSecret {
    const existing = this.secrets.get(name);
    if (existing) {
      if (existing.deletedDate !== undefined) {
        throw new ServiceError(
          'InvalidRequestException',
          "You can't create this secret because a secret with this name is already scheduled for deletion.",
        );
      }
      throw new ServiceError(
        'ResourceExistsException',
        `The operation failed because the secret ${name} already exists.`,
      );
    }
    const now = Date.now();
    const secret: StoredSecret = {
      name,
      arn: `arn:aws:secretsmanager:${this.region}:${this.accountId}:secret:${name}-${randomSuffix()}`,
      tags: opts.tags ?? [],
      createdDate: now,
      lastChangedDate: now,
      versions: new Map(),
    };
    if (opts.description !== undefined) secret.description = opts.description;
    this.secrets.set(name, secret);
    return secret;
  }

  /**
   * Adds a version to a secret, creating the secret if it does not exist. The labels in
   * `opts.stages` (default AWSCURRENT) move to the new version; if AWSCURRENT moves, the
   * version that had it becomes AWSPREVIOUS.
   *
   * Idempotent on `versionId`: the same id with the same value returns the existing version;
   * with a different value it throws ResourceExistsException, like AWS.
   */
  put(id: string, value: SecretValue, opts: PutOptions = {}): ResolvedValue {
    const secret = this.find(id) ?? this.create(id, { description: opts.description });
    if (secret.deletedDate !== undefined) throw new ServiceError('InvalidRequestException', MARKED_FOR_DELETION);
    const stored = toStored(value);
    const versionId = opts.versionId ?? randomUUID();
    const existing = secret.versions.get(versionId);
    if (existing) {
      const same =
        existing.secretString === stored.secretString &&
        (existing.secretBinary === undefined
          ? stored.secretBinary === undefined
          : stored.secretBinary !== undefined && existing.secretBinary.equals(stored.secretBinary));
      if (!same) {
        throw new ServiceError(
          'ResourceExistsException',
          "You can't modify an existing version, you can only create a new version.",
        );
      }
      return { secret, version: existing };
    }
    const version: StoredVersion = { versionId, ...stored, createdDate: Date.now(), stages: new Set() };
    secret.versions.set(versionId, version);
    const stages = opts.stages ?? [AWSCURRENT];
    for (const stage of stages) this.attachStage(secret, stage, versionId);
    secret.lastChangedDate = Date.now();
    return { secret, version };
  }

  /**
   * Moves `stage` to `moveTo` (or only removes it from `removeFrom` when `moveTo` is omitted),
   * the UpdateSecretVersionStage semantics.
   */
  updateStage(id: string, stage: string, moveTo: string | undefined, removeFrom: string | undefined): StoredSecret {
    const secret = this.requireActive(id);
    const holder = this.versionWithStage(secret, stage);
    if (moveTo !== undefined && !secret.versions.has(moveTo)) {
      throw new ServiceError(
        'ResourceNotFoundException',
        `Secrets Manager can't find the specified secret value for VersionId: ${moveTo}`,
      );
    }
    if (holder && holder.versionId !== moveTo && holder.versionId !== removeFrom) {
      throw new ServiceError(
        'InvalidParameterException',
        `The staging label ${stage} is currently attached to version ${holder.versionId}, so you must explicitly reference that version in RemoveFromVersionId.`,
      );
    }
    if (removeFrom !== undefined && (!holder || holder.versionId !== removeFrom)) {
      throw new ServiceError(
        'InvalidParameterException',
        `The parameter RemoveFromVersionId doesn't match the current version of the staging label ${stage}.`,
      );
    }
    if (moveTo !== undefined) {
      this.attachStage(secret, stage, moveTo);
    } else if (holder) {
      if (stage === AWSCURRENT) {
        throw new ServiceError(
          'InvalidParameterException',
          'You can only move the AWSCURRENT staging label, not remove it.',
        );
      }
      holder.stages.delete(stage);
    }
    secret.lastChangedDate = Date.now();
    return secret;
  }

  /**
   * Reads one version: by `versionId`, by `versionStage`, or AWSCURRENT. Rejects secrets
   * scheduled for deletion.
   */
  get(id: string, opts: { versionId?: string; versionStage?: string } = {}): ResolvedValue {
    const secret = this.requireActive(id);
    let version: StoredVersion | undefined;
    if (opts.versionId !== undefined) {
      version = secret.versions.get(opts.versionId);
      if (!version) {
        throw new ServiceError(
          'ResourceNotFoundException',
          `Secrets Manager can't find the specified secret value for VersionId: ${opts.versionId}`,
        );
      }
      if (opts.versionStage !== undefined && !version.stages.has(opts.versionStage)) {
        throw new ServiceError(
          'InvalidRequestException',
          'You provided a VersionStage that is not associated to the provided VersionId.',
        );
      }
    } else {
      const stage = opts.versionStage ?? AWSCURRENT;
      version = this.versionWithStage(secret, stage);
      if (!version) {
        throw new ServiceError(
          'ResourceNotFoundException',
          `Secrets Manager can't find the specified secret value for staging label: ${stage}`,
        );
      }
    }
    secret.lastAccessedDate = Date.now();
    return { secret, version };
  }

  /**
   * Schedules a secret for deletion, or removes it at once with `force`.
   * @returns the planned deletion date (epoch ms).
   */
  delete(
    id: string,
    opts: { force?: boolean; recoveryWindowInDays?: number } = {},
  ): { secret: StoredSecret; deletionDate: number } {
    const secret = this.require(id);
    const now = Date.now();
    if (opts.force) {
      this.secrets.delete(secret.name);
      return { secret, deletionDate: now };
    }
    if (secret.deletedDate === undefined) {
      secret.deletedDate = now + (opts.recoveryWindowInDays ?? 30) * 86_400_000;
      secret.lastChangedDate = now;
    }
    return { secret, deletionDate: secret.deletedDate };
  }

  /** Cancels a scheduled deletion. */
  restore(id: string): StoredSecret {
    const secret = this.require(id);
    if (secret.deletedDate !== undefined) {
      delete secret.deletedDate;
      secret.lastChangedDate = Date.now();
    }
    return secret;
  }

  /** `{ versionId: stages[] }` for versions that carry at least one label. */
  versionIdsToStages(secret: StoredSecret): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const v of secret.versions.values()) {
      if (v.stages.size > 0) out[v.versionId] = [...v.stages];
    }
    return out;
  }

  /** Removes every secret. */
  clear(): void {
    this.secrets.clear();
  }

  private versionWithStage(secret: StoredSecret, stage: string): StoredVersion | undefined {
    for (const v of secret.versions.values()) {
      if (v.stages.has(stage)) return v;
    }
    return undefined;
  }

  private attachStage(secret: StoredSecret, stage: string, versionId: string): void {
    const target = secret.versions.get(versionId);
    if (!target) return;
    const holder = this.versionWithStage(secret, stage);
    if (holder === target) return;
    holder?.stages.delete(stage);
    target.stages.add(stage);
    if (stage === AWSCURRENT && holder) {
      this.versionWithStage(secret, AWSPREVIOUS)?.stages.delete(AWSPREVIOUS);
      holder.stages.add(AWSPREVIOUS);
    }
  }
}
