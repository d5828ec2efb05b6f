import { randomInt } from 'node:crypto';
import { ServiceError } from './errors';
import type { FaultRegistry } from './faults';
import { matchesFilters, parseFilters } from './filters';
import { compact, type Json } from './http';
import {
  boundedString,
  checkSecretId,
  rangedInt,
  requireString,
  secretIdParam,
  str,
  tokenParam,
  validationError,
  valueParam,
} from './input';
import type { RotationRunner } from './rotation';
import { nextRotationDate, parseRotationRules } from './schedule';
import {
  AWSCURRENT,
  AWSPENDING,
  type SecretsModel,
  type StoredReplica,
  type StoredSecret,
  type StoredVersion,
} from './secrets-model';

/** Operations the emulator implements (`X-Amz-Target: secretsmanager.<Op>`). */
export const OPERATIONS = [
  'GetSecretValue',
  'BatchGetSecretValue',
  'DescribeSecret',
  'ListSecretVersionIds',
  'ListSecrets',
  'CreateSecret',
  'PutSecretValue',
  'UpdateSecretVersionStage',
  'DeleteSecret',
  'RestoreSecret',
  'RotateSecret',
  'CancelRotateSecret',
  'GetRandomPassword',
] as const;

/** One of {@link OPERATIONS}. */
export type Operation = (typeof OPERATIONS)[number];

function seconds(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms) / 1000;
}

/**
 * The Secrets Manager operations over the in-memory model: input checks, AWS output shapes, and
 * BatchGetSecretValue's per-secret faults. Throws {@link ServiceError} with the AWS code.
 */
export class Operations {
  constructor(
    private readonly store: SecretsModel,
    private readonly faults: FaultRegistry,
    private readonly rotation: RotationRunner,
  ) {}

  /** Whether a request touches `secretId` (by name or ARN). */
  touches(input: Json, secretId: string): boolean {
    const ids: unknown[] = [input.SecretId, ...(Array.isArray(input.SecretIdList) ? input.SecretIdList : [])];
    return ids.some((id) => typeof id === 'string' && this.sameSecret(id, secretId));
  }

  /** Whether two ids (name or ARN) name the same secret. */
  sameSecret(a: string, b: string): boolean {
    if (a === b) return true;
    const sa = this.store.find(a);
    return sa !== undefined && sa === this.store.find(b);
  }

  /** Runs one operation; returns the response body. */
  execute(op: Operation, input: Json): Json {
    switch (op) {
      case 'GetSecretValue': {
        const { secret, version } = this.store.get(secretIdParam(input), {
          versionId: str(input, 'VersionId'),
          versionStage: str(input, 'VersionStage'),
        });
        return valueEntry(secret, version);
      }
      case 'BatchGetSecretValue':
        return this.batchGet(input);
      case 'DescribeSecret':
        return this.describe(this.store.require(secretIdParam(input)), 'VersionIdsToStages');
      case 'ListSecretVersionIds': {
        const secret = this.store.require(secretIdParam(input));
        const includeDeprecated = input.IncludeDeprecated === true;
        rangedInt(input, 'MaxResults', 1, 100);
        const versions = [...secret.versions.values()]
          .filter((v) => includeDeprecated || v.stages.size > 0)
          .map((v) =>
            // A deprecated version has no VersionStages member at all on AWS (not an empty list).
            compact({
              VersionId: v.versionId,
              VersionStages: v.stages.size > 0 ? [...v.stages] : undefined,
              CreatedDate: seconds(v.createdDate),
            }),
          );
        const page = paginate(versions, input, 100);
        return compact({ Versions: page.items, NextToken: page.nextToken, ARN: secret.arn, Name: secret.name });
      }
      case 'ListSecrets': {
        const filters = parseFilters(input.Filters);
        rangedInt(input, 'MaxResults', 1, 100);
        const includeDeleted = input.IncludePlannedDeletion === true;
        let secrets = this.store
          .list()
          .filter(
            (s) => (includeDeleted || s.deletedDate === undefined) && matchesFilters(s, filters, this.store.region),
          );
        if (input.SortOrder === 'desc') secrets = secrets.reverse();
        const page = paginate(secrets, input, 100);
        return compact({
          SecretList: page.items.map((s) => this.describe(s, 'SecretVersionsToStages')),
          NextToken: page.nextToken,
        });
      }
      case 'CreateSecret':
        return this.create(input);
      case 'PutSecretValue': {
        const id = secretIdParam(input);
        const value = valueParam(input);
        if (value === undefined) {
          throw new ServiceError('InvalidParameterException', 'You must provide either SecretString or SecretBinary.');
        }
        const token = tokenParam(input, true);
        const secret = this.store.requireActive(id);
        const stages = Array.isArray(input.VersionStages) ? (input.VersionStages as string[]) : undefined;
        const { version } = this.store.put(secret.arn, value, { versionId: token, stages });
        // "Manually updating the secret value by calling PutSecretValue ... is considered a valid rotation."
        if (version.stages.has(AWSCURRENT) && secret.rotationEnabled && secret.rotationRules?.AutomaticallyAfterDays) {
          secret.lastRotatedDate = this.store.now();
          secret.nextRotationDate = nextRotationDate(secret.rotationRules, secret.lastRotatedDate);
        }
        return { ARN: secret.arn, Name: secret.name, VersionId: version.versionId, VersionStages: [...version.stages] };
      }
      case 'UpdateSecretVersionStage': {
        const secret = this.store.updateStage(
          secretIdParam(input),
          requireString(input, 'VersionStage'),
          str(input, 'MoveToVersionId'),
          str(input, 'RemoveFromVersionId'),
        );
        return { ARN: secret.arn, Name: secret.name };
      }
      case 'DeleteSecret':
        return this.delete(input);
      case 'RestoreSecret': {
        const secret = this.store.restore(secretIdParam(input));
        return { ARN: secret.arn, Name: secret.name };
      }
      case 'RotateSecret':
        return this.rotate(input);
      case 'CancelRotateSecret': {
        const secret = this.store.requireActive(secretIdParam(input));
        if (!secret.rotationEnabled && !this.rotation.running(secret.arn)) {
          throw new ServiceError('InvalidRequestException', 'Secret rotation is not enabled for this secret.');
        }
        secret.rotationEnabled = false;
        delete secret.nextRotationDate;
        const run = this.rotation.cancel(secret.arn);
        const pending = this.store.versionWithStage(secret, AWSPENDING);
        const inFlight = run?.token ?? (pending && !pending.stages.has(AWSCURRENT) ? pending.versionId : undefined);
        return compact({ ARN: secret.arn, Name: secret.name, VersionId: inFlight });
      }
      case 'GetRandomPassword':
        return { RandomPassword: randomPassword(input) };
    }
  }

  private create(input: Json): Json {
    const name = requireString(input, 'Name');
    const value = valueParam(input);
    const token = tokenParam(input, value !== undefined);
    const description = boundedString(input, 'Description', 2048);
    const kmsKeyId = boundedString(input, 'KmsKeyId', 2048);
    const replicas = parseReplicas(input.AddReplicaRegions, this.store.region);
    const tags = Array.isArray(input.Tags) ? (input.Tags as Array<{ Key?: string; Value?: string }>) : undefined;
    const existing = this.store.find(name);
    // A retried CreateSecret with the same token and value is idempotent on AWS.
    if (existing && token !== undefined && value !== undefined && existing.versions.has(token)) {
      const { version } = this.store.put(existing.name, value, { versionId: token });
      return { ARN: existing.arn, Name: existing.name, VersionId: version.versionId };
    }
    const secret = this.store.create(name, { description, tags, kmsKeyId, replicas });
    let versionId: string | undefined;
    if (value !== undefined) versionId = this.store.put(secret.name, value, { versionId: token }).version.versionId;
    return compact({
      ARN: secret.arn,
      Name: secret.name,
      VersionId: versionId,
      ReplicationStatus: replicationStatus(secret),
    });
  }

  private delete(input: Json): Json {
    const force = input.ForceDeleteWithoutRecovery === true;
    const window = input.RecoveryWindowInDays;
    if (force && window !== undefined) {
      throw new ServiceError(
        'InvalidParameterException',
        "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
      );
    }
    if (window !== undefined && (typeof window !== 'number' || window < 7 || window > 30)) {
      throw new ServiceError(
        'InvalidParameterException',
        'The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).',
      );
    }
    const id = secretIdParam(input);
    if (force && !this.store.find(id)) {
      // AWS answers a forced delete of a missing secret as if it had deleted it.
      const name = nameOfId(id);
      return {
        ARN: `arn:aws:secretsmanager:${this.store.region}:${this.store.accountId}:secret:${name}`,
        Name: name,
        DeletionDate: seconds(this.store.now()),
      };
    }
    const { secret, deletionDate } = this.store.delete(id, {
      force,
      recoveryWindowInDays: window as number | undefined,
    });
    if (force) this.rotation.cancel(secret.arn);
    return { ARN: secret.arn, Name: secret.name, DeletionDate: seconds(deletionDate) };
  }

  private rotate(input: Json): Json {
    const secret = this.store.requireActive(secretIdParam(input));
    const token = tokenParam(input, true)!;
    const lambdaArn = boundedString(input, 'RotationLambdaARN', 2048);
    const rules = parseRotationRules(input.RotationRules);
    const immediately = input.RotateImmediately !== false;
    const fn = lambdaArn ?? secret.rotationLambdaArn;
    if (!fn) {
      throw new ServiceError(
        'InvalidRequestException',
        'No Lambda rotation function ARN is associated with this secret. Pass RotationLambdaARN.',
      );
    }
    if (!this.rotation.has(fn)) {
      throw new ServiceError(
        'AccessDeniedException',
        `Secrets Manager cannot invoke the specified Lambda function ${fn}. (@hush/emulator: register it in startEmulator({ rotationFunctions }) or with --rotation-module.)`,
      );
    }
    const result = { ARN: secret.arn, Name: secret.name, VersionId: token };
    const running = this.rotation.running(secret.arn);
    if (running?.token === token) return result; // a retried request for the run in progress
    const pending = this.store.versionWithStage(secret, AWSPENDING);
    if (running || (pending && !pending.stages.has(AWSCURRENT) && pending.versionId !== token)) {
      if (!running && pending && secret.rotationLambdaArn) {
        this.rotation.start(secret, pending.versionId, secret.rotationLambdaArn, 'rotation', 'reattempt');
      }
      throw new ServiceError(
        'InvalidRequestException',
        "A previous rotation isn't complete. That rotation will be reattempted.",
      );
    }
    secret.rotationEnabled = true;
    secret.rotationLambdaArn = fn;
    if (rules) {
      secret.rotationRules = rules;
      secret.nextRotationDate = nextRotationDate(rules, secret.lastRotatedDate ?? this.store.now());
    }
    if (secret.versions.get(token)?.stages.has(AWSCURRENT)) return result; // this rotation already finished
    this.store.addPlaceholder(secret, token, [AWSPENDING]);
    this.rotation.start(secret, token, fn, immediately ? 'rotation' : 'test', 'RotateSecret');
    return result;
  }

  /** The DescribeSecret shape; ListSecrets entries are the same with `SecretVersionsToStages`. */
  private describe(secret: StoredSecret, stagesKey: 'VersionIdsToStages' | 'SecretVersionsToStages'): Json {
    const enabled = secret.rotationEnabled === true;
    return compact({
      ARN: secret.arn,
      Name: secret.name,
      Description: secret.description,
      KmsKeyId: secret.kmsKeyId,
      RotationEnabled: secret.rotationEnabled,
      RotationLambdaARN: secret.rotationLambdaArn,
      RotationRules: secret.rotationRules,
      LastRotatedDate: enabled ? seconds(secret.lastRotatedDate) : undefined,
      LastChangedDate: seconds(secret.lastChangedDate),
      LastAccessedDate: seconds(secret.lastAccessedDate),
      DeletedDate: seconds(secret.deletedDate),
      NextRotationDate: enabled ? seconds(secret.nextRotationDate) : undefined,
      Tags: secret.tags.length > 0 ? secret.tags : undefined,
      [stagesKey]: this.store.versionIdsToStages(secret),
      PrimaryRegion: secret.replicas.length > 0 ? this.store.region : undefined,
      ReplicationStatus: replicationStatus(secret),
      CreatedDate: seconds(secret.createdDate),
    });
  }

  private batchGet(input: Json): Json {
    const ids = input.SecretIdList;
    const hasFilters = input.Filters !== undefined && input.Filters !== null;
    if (ids !== undefined && ids !== null && hasFilters) {
      throw new ServiceError(
        'InvalidParameterException',
        'Either Filters or SecretIdList must be specified, but not both.',
      );
    }
    if ((ids === undefined || ids === null) && !hasFilters) {
      throw new ServiceError('InvalidParameterException', 'You must specify either Filters or SecretIdList.');
    }
    if (ids !== undefined && ids !== null) {
      if (!Array.isArray(ids) || ids.length === 0 || ids.some((id) => typeof id !== 'string')) {
        throw new ServiceError('InvalidParameterException', 'SecretIdList must be a non-empty list of secret ids.');
      }
      if (ids.length > 20) {
        throw new ServiceError(
          'InvalidParameterException',
          `SecretIdList can contain at most 20 ids; got ${ids.length}.`,
        );
      }
      if (input.MaxResults !== undefined) {
        throw new ServiceError('InvalidParameterException', 'MaxResults can only be used with Filters.');
      }
      const values: Json[] = [];
      const errors: Json[] = [];
      for (const id of ids as string[]) {
        const fault = this.faults.match('BatchGetSecretValue', (sid) => this.sameSecret(id, sid), { perSecret: true });
        if (fault?.error) {
          errors.push({
            SecretId: id,
            ErrorCode: fault.error.code,
            Message: fault.error.message ?? defaultMessage(fault.error.code),
          });
          continue;
        }
        try {
          const { secret, version } = this.store.get(checkSecretId(id));
          values.push(valueEntry(secret, version));
        } catch (err) {
          if (!(err instanceof ServiceError)) throw err;
          errors.push({ SecretId: id, ErrorCode: err.code, Message: err.message });
        }
      }
      return { SecretValues: values, Errors: errors };
    }
    const filters = parseFilters(input.Filters);
    rangedInt(input, 'MaxResults', 1, 20);
    const matching = this.store
      .list()
      .filter((s) => s.deletedDate === undefined && matchesFilters(s, filters, this.store.region));
    const page = paginate(matching, input, 20);
    const values: Json[] = [];
    const errors: Json[] = [];
    for (const secret of page.items) {
      try {
        const { version } = this.store.get(secret.name);
        values.push(valueEntry(secret, version));
      } catch (err) {
        if (!(err instanceof ServiceError)) throw err;
        errors.push({ SecretId: secret.name, ErrorCode: err.code, Message: err.message });
      }
    }
    return compact({ SecretValues: values, Errors: errors, NextToken: page.nextToken });
  }
}

function defaultMessage(code: string): string {
  return new ServiceError(code).message;
}

/** The name part of a secret id (an ARN's resource part, or the id itself). */
function nameOfId(id: string): string {
  const m = /^arn:[^:]*:secretsmanager:[^:]*:[^:]*:secret:(.+)$/.exec(id);
  return m ? m[1]! : id;
}

function parseReplicas(raw: unknown, primary: string): StoredReplica[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw) || raw.length === 0)
    throw validationError('AddReplicaRegions', 'have length greater than or equal to 1');
  const seen = new Set<string>();
  return raw.map((r: { Region?: unknown; KmsKeyId?: unknown }) => {
    const region = r?.Region;
    if (typeof region !== 'string' || !/^([a-z]+-)+\d+$/.test(region)) {
      throw validationError('AddReplicaRegions.member.region', 'satisfy regular expression pattern: ^([a-z]+-)+\\d+$');
    }
    if (region === primary) {
      throw new ServiceError(
        'InvalidParameterException',
        `You can't replicate a secret to its primary Region ${primary}.`,
      );
    }
    if (seen.has(region)) throw new ServiceError('InvalidParameterException', `The Region ${region} is listed twice.`);
    seen.add(region);
    return typeof r.KmsKeyId === 'string' ? { Region: region, KmsKeyId: r.KmsKeyId } : { Region: region };
  });
}

/** Replicas as DescribeSecret shows them. The emulator keeps no copies in other Regions; it reports them in sync. */
function replicationStatus(secret: StoredSecret): Json[] | undefined {
  if (secret.replicas.length === 0) return undefined;
  return secret.replicas.map((r) =>
    compact({ Region: r.Region, KmsKeyId: r.KmsKeyId, Status: 'InSync', StatusMessage: 'Replication succeeded' }),
  );
}

const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

/** GetRandomPassword: the documented character classes, exclusions and RequireEachIncludedType (default true). */
function randomPassword(input: Json): string {
  const length = input.PasswordLength === undefined ? 32 : Number(input.PasswordLength);
  if (!Number.isInteger(length) || length < 1 || length > 4096) {
    throw validationError('PasswordLength', 'have value between 1 and 4096');
  }
  const exclude = new Set(boundedString(input, 'ExcludeCharacters', 4096) ?? '');
  const classes = [
    input.ExcludeLowercase === true ? '' : 'abcdefghijklmnopqrstuvwxyz',
    input.ExcludeUppercase === true ? '' : 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
    input.ExcludeNumbers === true ? '' : '0123456789',
    input.ExcludePunctuation === true ? '' : PUNCTUATION,
    input.IncludeSpace === true ? ' ' : '',
  ]
    .map((chars) => [...chars].filter((c) => !exclude.has(c)).join(''))
    .filter((chars) => chars.length > 0);
  if (classes.length === 0) {
    throw new ServiceError(
      'InvalidParameterException',
      'The password can not contain any characters: every class is excluded.',
    );
  }
  const requireEach = input.RequireEachIncludedType !== false;
  if (requireEach && length < classes.length) {
    throw new ServiceError(
      'InvalidParameterException',
      `PasswordLength ${length} is too short to include one character of each of the ${classes.length} included types.`,
    );
  }
  const all = classes.join('');
  const pick = (chars: string) => chars[randomInt(chars.length)]!;
  const out = Array.from({ length }, () => pick(all));
  if (requireEach) {
    // One of each class at distinct random positions (a partial Fisher-Yates shuffle of the positions).
    const positions = [...out.keys()];
    classes.forEach((chars, i) => {
      const j = i + randomInt(length - i);
      [positions[i], positions[j]] = [positions[j]!, positions[i]!];
      out[positions[i]!] = pick(chars);
    });
  }
  return out.join('');
}

/** The GetSecretValue / SecretValueEntry shape. */
function valueEntry(secret: StoredSecret, version: StoredVersion): Json {
  return compact({
    ARN: secret.arn,
    Name: secret.name,
    VersionId: version.versionId,
    SecretString: version.secretString,
    SecretBinary: version.secretBinary?.toString('base64'),
    VersionStages: [...version.stages],
    CreatedDate: seconds(version.createdDate),
  });
}

function paginate<T>(items: T[], input: Json, defaultMax: number): { items: T[]; nextToken?: string } {
  const max = typeof input.MaxResults === 'number' ? input.MaxResults : defaultMax;
  let start = 0;
  if (typeof input.NextToken === 'string') {
    const decoded = Number(
      Buffer.from(input.NextToken, 'base64')
        .toString('utf8')
        .replace(/^offset:/, ''),
    );
    if (!Number.isInteger(decoded) || decoded < 0)
      throw new ServiceError('InvalidNextTokenException', 'The NextToken value is invalid.');
    start = decoded;
  }
  const page = items.slice(start, start + max);
  const next = start + max < items.length ? Buffer.from(`offset:${start + max}`).toString('base64') : undefined;
  return next === undefined ? { items: page } : { items: page, nextToken: next };
}
