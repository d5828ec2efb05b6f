import { ServiceError } from './errors';
import type { FaultRegistry } from './faults';
import { compact, type Json } from './http';
import type { SecretValue, SecretsModel, StoredSecret, StoredVersion } from './secrets-model';

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
] as const;

/** One of {@link OPERATIONS}. */
export type Operation = (typeof OPERATIONS)[number];

function seconds(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms) / 1000;
}

function str(input: Json, key: string): string | undefined {
  const v = input[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ServiceError('InvalidParameterException', `${key} must be a string.`);
  return v;
}

/**
 * The Secrets Manager operations over the in-memory model: input checks, AWS output shapes, and
 * BatchGetSecretValue's per-secret faults. Throws {@link ServiceError} with the AWS code.
 */
export class Operations {
  constructor(
    private readonly store: SecretsModel,
    private readonly faults: FaultRegistry,
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
        const id = requireString(input, 'SecretId');
        const { secret, version } = this.store.get(id, {
          versionId: str(input, 'VersionId'),
          versionStage: str(input, 'VersionStage'),
        });
        return valueEntry(secret, version);
      }
      case 'BatchGetSecretValue':
        return this.batchGet(input);
      case 'DescribeSecret': {
        const secret = this.store.require(requireString(input, 'SecretId'));
        return compact({
          ARN: secret.arn,
          Name: secret.name,
          Description: secret.description,
          LastChangedDate: seconds(secret.lastChangedDate),
          LastAccessedDate: seconds(secret.lastAccessedDate),
          DeletedDate: seconds(secret.deletedDate),
          Tags: secret.tags.length > 0 ? secret.tags : undefined,
          VersionIdsToStages: this.store.versionIdsToStages(secret),
          CreatedDate: seconds(secret.createdDate),
        });
      }
      case 'ListSecretVersionIds': {
        const secret = this.store.require(requireString(input, 'SecretId'));
        const includeDeprecated = input.IncludeDeprecated === true;
        const versions = [...secret.versions.values()]
          .filter((v) => includeDeprecated || v.stages.size > 0)
          .map((v) => ({ VersionId: v.versionId, VersionStages: [...v.stages], CreatedDate: seconds(v.createdDate) }));
        const page = paginate(versions, input, 100);
        return compact({ Versions: page.items, NextToken: page.nextToken, ARN: secret.arn, Name: secret.name });
      }
      case 'ListSecrets': {
        const filters = parseFilters(input.Filters);
        const includeDeleted = input.IncludePlannedDeletion === true;
        let secrets = this.store
          .list()
          .filter((s) => (includeDeleted || s.deletedDate === undefined) && matchesFilters(s, filters));
        if (input.SortOrder === 'desc') secrets = secrets.reverse();
        const page = paginate(secrets, input, 100);
        return compact({
          SecretList: page.items.map((s) =>
            compact({
              ARN: s.arn,
              Name: s.name,
              Description: s.description,
              LastChangedDate: seconds(s.lastChangedDate),
              LastAccessedDate: seconds(s.lastAccessedDate),
              DeletedDate: seconds(s.deletedDate),
              Tags: s.tags.length > 0 ? s.tags : undefined,
              SecretVersionsToStages: this.store.versionIdsToStages(s),
              CreatedDate: seconds(s.createdDate),
            }),
          ),
          NextToken: page.nextToken,
        });
      }
      case 'CreateSecret': {
        const name = requireString(input, 'Name');
        const value = inputValue(input);
        const tags = Array.isArray(input.Tags) ? (input.Tags as Array<{ Key?: string; Value?: string }>) : undefined;
        const secret = this.store.create(name, { description: str(input, 'Description'), tags });
        let versionId: string | undefined;
        if (value !== undefined)
          versionId = this.store.put(name, value, { versionId: str(input, 'ClientRequestToken') }).version.versionId;
        return compact({ ARN: secret.arn, Name: secret.name, VersionId: versionId });
      }
      case 'PutSecretValue': {
        const id = requireString(input, 'SecretId');
        const value = inputValue(input);
        if (value === undefined) {
          throw new ServiceError('InvalidParameterException', 'You must provide either SecretString or SecretBinary.');
        }
        this.store.requireActive(id);
        const stages = Array.isArray(input.VersionStages) ? (input.VersionStages as string[]) : undefined;
        const { secret, version } = this.store.put(id, value, { versionId: str(input, 'ClientRequestToken'), stages });
        return { ARN: secret.arn, Name: secret.name, VersionId: version.versionId, VersionStages: [...version.stages] };
      }
      case 'UpdateSecretVersionStage': {
        const secret = this.store.updateStage(
          requireString(input, 'SecretId'),
          requireString(input, 'VersionStage'),
          str(input, 'MoveToVersionId'),
          str(input, 'RemoveFromVersionId'),
        );
        return { ARN: secret.arn, Name: secret.name };
      }
      case 'DeleteSecret': {
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
        const { secret, deletionDate } = this.store.delete(requireString(input, 'SecretId'), {
          force,
          recoveryWindowInDays: window as number | undefined,
        });
        return { ARN: secret.arn, Name: secret.name, DeletionDate: seconds(deletionDate) };
      }
      case 'RestoreSecret': {
        const secret = this.store.restore(requireString(input, 'SecretId'));
        return { ARN: secret.arn, Name: secret.name };
      }
    }
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
          const { secret, version } = this.store.get(id);
          values.push(valueEntry(secret, version));
        } catch (err) {
          if (!(err instanceof ServiceError)) throw err;
          errors.push({ SecretId: id, ErrorCode: err.code, Message: err.message });
        }
      }
      return { SecretValues: values, Errors: errors };
    }
    const filters = parseFilters(input.Filters);
    const matching = this.store.list().filter((s) => s.deletedDate === undefined && matchesFilters(s, filters));
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

function requireString(input: Json, key: string): string {
  const v = str(input, key);
  if (v === undefined || v === '') throw new ServiceError('InvalidParameterException', `${key} is required.`);
  return v;
}

function inputValue(input: Json): SecretValue | undefined {
  const s = str(input, 'SecretString');
  const b = str(input, 'SecretBinary');
  if (s !== undefined && b !== undefined) {
    throw new ServiceError('InvalidParameterException', 'You can only specify one of SecretString or SecretBinary.');
  }
  if (b !== undefined) return new Uint8Array(Buffer.from(b, 'base64'));
  return s;
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

/** A new value for a rotation without an explicit one: same shape, new password, deterministic. */
type Filter = { Key: string; Values: string[] };

function parseFilters(raw: unknown): Filter[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw) || raw.length > 10)
    throw new ServiceError('InvalidParameterException', 'Filters must be a list of at most 10 filters.');
  return raw.map((f: { Key?: unknown; Values?: unknown }) => {
    if (typeof f?.Key !== 'string' || !Array.isArray(f.Values)) {
      throw new ServiceError('InvalidParameterException', 'Each filter needs a Key and a list of Values.');
    }
    if (!['name', 'description', 'all', 'tag-key', 'tag-value'].includes(f.Key)) {
      throw new ServiceError(
        'InvalidParameterException',
        `Filter key ${f.Key} is not supported by @hush/emulator (name, description, tag-key, tag-value, all).`,
      );
    }
    return { Key: f.Key, Values: f.Values.map(String) };
  });
}

/** AWS filters match by prefix, case-sensitively; a leading `!` negates. Filters AND, values OR. */
function matchesFilters(secret: StoredSecret, filters: Filter[]): boolean {
  return filters.every((filter) => {
    const fields = (key: string): string[] => {
      switch (key) {
        case 'name':
          return [secret.name];
        case 'description':
          return secret.description ? [secret.description] : [];
        case 'tag-key':
          return secret.tags.map((t) => t.Key ?? '');
        case 'tag-value':
          return secret.tags.map((t) => t.Value ?? '');
        default:
          return [secret.name, secret.description ?? '', ...secret.tags.flatMap((t) => [t.Key ?? '', t.Value ?? ''])];
      }
    };
    const candidates = fields(filter.Key);
    return filter.Values.some((value) => {
      const negate = value.startsWith('!');
      const prefix = negate ? value.slice(1) : value;
      const hit = candidates.some((c) => c.startsWith(prefix));
      return negate ? !hit : hit;
    });
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
