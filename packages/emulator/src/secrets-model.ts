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
  /** Unset on both while the version is a placeholder RotateSecret made (AWSPENDING, no value yet). */
  secretString?: string;
  secretBinary?: Buffer;
  /** Epoch milliseconds. */
  createdDate: number;
  readonly stages: Set<string>;
}

/** `RotationRules` as RotateSecret takes them. */
export interface RotationRules {
  AutomaticallyAfterDays?: number;
  Duration?: string;
  ScheduleExpression?: string;
}

/** One replica Region (`ReplicationStatus` in DescribeSecret). */
export interface StoredReplica {
  readonly Region: string;
  readonly KmsKeyId?: string;
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
  kmsKeyId?: string;
  replicas: StoredReplica[];
  /** Set once RotateSecret configured rotation; false after CancelRotateSecret. */
  rotationEnabled?: boolean;
  rotationLambdaArn?: string;
  rotationRules?: RotationRules;
  /** Epoch milliseconds. */
  lastRotatedDate?: number;
  /** Epoch milliseconds; computed from {@link rotationRules}. */
  nextRotationDate?: number;
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

const ARN_PATTERN = /^arn:(aws[a-z-]*):secretsmanager:([^:]*):([^:]*):secret:(.+)$/;
/** Characters AWS allows in a secret name (CreateSecret `Name` documentation). */
const NAME_PATTERN = /^[A-Za-z0-9/_+=.@-]+$/;
/** AWS's message for a name with other characters. */
export const INVALID_NAME =
  'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!';
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
  /** Names of force-deleted secrets that AWS is still deleting in the background: name -> epoch ms when free. */
  private readonly purging = new Map<string, number>();
  /** Earliest scheduled deletion or purge end, so lookups only scan when something is due. */
  private nextExpiry = Infinity;

  constructor(
    readonly region: string,
    readonly accountId: string,
    /** The emulator's clock (epoch ms); a time scale or an advanced clock moves it. */
    readonly now: () => number = Date.now,
    /** How long a force-deleted name stays taken, in ms of {@link now}. */
    readonly purgeDelayMs = 0,
  ) {}

  /**
   * Finds a secret by name, full ARN or partial ARN (no random suffix); `undefined` if absent.
   * An ARN of another Region, account or partition finds nothing, as on AWS.
   */
  find(id: string): StoredSecret | undefined {
    this.purgeExpired();
    const byName = this.secrets.get(id);
    if (byName) return byName;
    const arn = ARN_PATTERN.exec(id);
    if (!arn || arn[1] !== 'aws' || arn[2] !== this.region || arn[3] !== this.accountId) return undefined;
    for (const secret of this.secrets.values()) {
      if (secret.arn === id) return secret;
    }
    return this.secrets.get(arn[4]!);
  }

  /** Whether `id` has the shape of a Secrets Manager ARN (of any Region or account). */
  static isArn(id: string): boolean {
    return ARN_PATTERN.test(id);
  }

  /** Whether `name` only has the characters AWS allows in a secret name. */
  static isValidName(name: string): boolean {
    return NAME_PATTERN.test(name);
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
    this.purgeExpired();
    return [...this.secrets.values()];
  }

  /** Creates an empty secret (no versions). Throws ResourceExistsException if the name is taken. */
  create(
    name: string,
    opts: {
      description?: string;
      tags?: Array<{ Key?: string; Value?: string }>;
      kmsKeyId?: string;
      replicas?: StoredReplica[];
      /** Programmatic control (putSecret, seed) may reuse a name that is still being purged. */
      ignorePurge?: boolean;
    } = {},
  ): StoredSecret {
    if (!NAME_PATTERN.test(name)) throw new ServiceError('ValidationException', INVALID_NAME);
    if (name.length > 512) {
      throw new ServiceError(
        'ValidationException',
        "1 validation error detected: Value at 'name' failed to satisfy constraint: Member must have length less than or equal to 512",
      );
    }
    const existing = this.find(name);
    if (!existing && this.purging.has(name) && !opts.ignorePurge) {
      throw new ServiceError(
        'InvalidRequestException',
        "You can't create this secret because a secret with this name is already scheduled for deletion.",
      );
    }
    this.purging.delete(name);
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
    const now = this.now();
    const secret: StoredSecret = {
      name,
      arn: `arn:aws:secretsmanager:${this.region}:${this.accountId}:secret:${name}-${randomSuffix()}`,
      tags: opts.tags ?? [],
      createdDate: now,
      lastChangedDate: now,
      versions: new Map(),
      replicas: opts.replicas ?? [],
    };
    if (opts.description !== undefined) secret.description = opts.description;
    if (opts.kmsKeyId !== undefined) secret.kmsKeyId = opts.kmsKeyId;
    this.secrets.set(name, secret);
    return secret;
  }

  /**
   * Adds a version to a secret, creating the secret if it does not exist. The labels in
   * `opts.stages` (default AWSCURRENT) move to the new version; if AWSCURRENT moves, the
   * version that had it becomes AWSPREVIOUS.
   *
   * Idempotent on `versionId`: the same id with the same value returns the existing version;
   * with a different value it throws ResourceExistsException, like AWS. A placeholder version
   * (made by RotateSecret, no value yet) takes the value.
   */
  put(id: string, value: SecretValue, opts: PutOptions = {}): ResolvedValue {
    const secret = this.find(id) ?? this.create(id, { description: opts.description, ignorePurge: true });
    if (secret.deletedDate !== undefined) throw new ServiceError('InvalidRequestException', MARKED_FOR_DELETION);
    const stored = toStored(value);
    const versionId = opts.versionId ?? randomUUID();
    const existing = secret.versions.get(versionId);
    if (existing && isPlaceholder(existing)) {
      if (stored.secretString !== undefined) existing.secretString = stored.secretString;
      if (stored.secretBinary !== undefined) existing.secretBinary = stored.secretBinary;
      existing.createdDate = this.now();
      for (const stage of opts.stages ?? [AWSCURRENT]) this.attachStage(secret, stage, versionId);
      secret.lastChangedDate = this.now();
      return { secret, version: existing };
    }
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
    const version: StoredVersion = { versionId, ...stored, createdDate: this.now(), stages: new Set() };
    secret.versions.set(versionId, version);
    const stages = opts.stages ?? [AWSCURRENT];
    for (const stage of stages) this.attachStage(secret, stage, versionId);
    secret.lastChangedDate = this.now();
    return { secret, version };
  }

  /**
   * Adds a version without a value carrying `stages` (RotateSecret's AWSPENDING placeholder, which
   * the rotation function's createSecret step fills with PutSecretValue), or moves the stages to
   * the version if it exists.
   */
  addPlaceholder(secret: StoredSecret, versionId: string, stages: string[]): StoredVersion {
    let version = secret.versions.get(versionId);
    if (!version) {
      version = { versionId, createdDate: this.now(), stages: new Set() };
      secret.versions.set(versionId, version);
    }
    for (const stage of stages) this.attachStage(secret, stage, versionId);
    return version;
  }

  /** Removes a version that has no value and no labels (what is left of a rotation test). */
  dropPlaceholder(secret: StoredSecret, versionId: string): void {
    const version = secret.versions.get(versionId);
    if (version && isPlaceholder(version) && version.stages.size === 0) secret.versions.delete(versionId);
  }

  /** Removes `stage` from whichever version has it (not AWSCURRENT). */
  removeStage(secret: StoredSecret, stage: string): void {
    if (stage === AWSCURRENT) return;
    this.versionWithStage(secret, stage)?.stages.delete(stage);
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
    secret.lastChangedDate = this.now();
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
      if (isPlaceholder(version)) {
        throw new ServiceError(
          'ResourceNotFoundException',
          `Secrets Manager can't find the specified secret value for VersionId: ${opts.versionId}`,
        );
      }
    } else {
      const stage = opts.versionStage ?? AWSCURRENT;
      version = this.versionWithStage(secret, stage);
      if (!version || isPlaceholder(version)) {
        throw new ServiceError(
          'ResourceNotFoundException',
          `Secrets Manager can't find the specified secret value for staging label: ${stage}`,
        );
      }
    }
    secret.lastAccessedDate = this.now();
    return { secret, version };
  }

  /**
   * Schedules a secret for deletion, or removes it at once with `force` (its name stays taken
   * for {@link purgeDelayMs}, as AWS deletes in the background).
   * @returns the planned deletion date (epoch ms).
   */
  delete(
    id: string,
    opts: { force?: boolean; recoveryWindowInDays?: number } = {},
  ): { secret: StoredSecret; deletionDate: number } {
    const secret = this.require(id);
    const now = this.now();
    if (opts.force) {
      this.secrets.delete(secret.name);
      if (this.purgeDelayMs > 0) {
        this.purging.set(secret.name, now + this.purgeDelayMs);
        this.nextExpiry = Math.min(this.nextExpiry, now + this.purgeDelayMs);
      }
      return { secret, deletionDate: now };
    }
    if (secret.deletedDate === undefined) {
      secret.deletedDate = now + (opts.recoveryWindowInDays ?? 30) * 86_400_000;
      this.nextExpiry = Math.min(this.nextExpiry, secret.deletedDate);
      secret.lastChangedDate = now;
    }
    return { secret, deletionDate: secret.deletedDate };
  }

  /** Cancels a scheduled deletion. */
  restore(id: string): StoredSecret {
    const secret = this.require(id);
    if (secret.deletedDate !== undefined) {
      delete secret.deletedDate;
      secret.lastChangedDate = this.now();
    }
    return secret;
  }

  /** Ends scheduled deletions whose recovery window is over, and frees purged names. */
  private purgeExpired(): void {
    const now = this.now();
    if (now < this.nextExpiry) return;
    this.nextExpiry = Infinity;
    for (const secret of this.secrets.values()) {
      if (secret.deletedDate === undefined) continue;
      if (secret.deletedDate <= now) {
        this.secrets.delete(secret.name);
        if (this.purgeDelayMs > 0) this.purging.set(secret.name, secret.deletedDate + this.purgeDelayMs);
      } else {
        this.nextExpiry = Math.min(this.nextExpiry, secret.deletedDate);
      }
    }
    for (const [name, at] of this.purging) {
      if (at <= now) this.purging.delete(name);
      else this.nextExpiry = Math.min(this.nextExpiry, at);
    }
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

  /** The version that carries `stage`, if any. */
  versionWithStage(secret: StoredSecret, stage: string): StoredVersion | undefined {
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

/** Whether a version is a RotateSecret placeholder without a value. */
export function isPlaceholder(version: StoredVersion): boolean {
  return version.secretString === undefined && version.secretBinary === undefined;
}
