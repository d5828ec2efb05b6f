import { ServiceError } from './errors';
import type { FaultRegistry } from './faults';
import { compact, type Json } from './http';
import { validationError } from './input';
import type { Operations } from './operations';
import {
  INVALID_SELECTOR,
  ParametersModel,
  parameterType,
  SECRETS_MANAGER_REFERENCE,
  type ParameterSelector,
  type StoredParameter,
  type StoredParameterVersion,
} from './parameters-model';
import type { SecretsModel } from './secrets-model';

/** SSM operations the emulator implements (`X-Amz-Target: AmazonSSM.<Op>`). */
export const SSM_OPERATIONS = [
  'GetParameter',
  'GetParameters',
  'GetParametersByPath',
  'PutParameter',
  'DeleteParameter',
  'LabelParameterVersion',
] as const;

/** One of {@link SSM_OPERATIONS}. */
export type SsmOperation = (typeof SSM_OPERATIONS)[number];

/** `X-Amz-Target` prefix of the SSM JSON 1.1 protocol. */
export const SSM_TARGET_PREFIX = 'AmazonSSM.';

/** AWS's text for a Secrets Manager reference read without `WithDecryption: true`. */
export const WITH_DECRYPTION_REQUIRED = 'WithDecryption flag must be True for retrieving a Secret Manager secret.';

/** AWS's text for a name (here a path) that does not begin with a slash or has other characters. */
const INVALID_PATH =
  'The parameter doesn\'t meet the parameter name requirements. The parameter name must begin with a forward slash "/". It can\'t be prefixed with "aws" or "ssm" (case-insensitive). It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). Special characters are not allowed. All sub-paths, if specified, must use the forward slash symbol "/". Valid example: /get/parameters2-/by1./path0_.';

const MAX_NAMES = 10;
const MAX_PAGE = 10;
const STANDARD_MAX_VALUE = 4096;
const ADVANCED_MAX_VALUE = 8192;
const DATA_TYPES = new Set(['text', 'aws:ec2:image', 'aws:ssm:integration']);

function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}

/** `1 validation error detected: Value <shown> at '<member>' failed to satisfy constraint: Member must …` (AWS's Coral text). */
function constraint(member: string, shown: string, rule: string): ServiceError {
  return new ServiceError(
    'ValidationException',
    `1 validation error detected: Value ${shown} at '${member}' failed to satisfy constraint: Member must ${rule}`,
  );
}

function requiredString(input: Json, key: string, member: string): string {
  const v = input[key];
  if (v === undefined || v === null) throw constraint(member, 'null', 'not be null');
  if (typeof v !== 'string') throw new ServiceError('SerializationException', `${key} must be a string.`);
  return v;
}

function optionalBoolean(input: Json, key: string): boolean {
  const v = input[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new ServiceError('SerializationException', `${key} must be a boolean.`);
  return v;
}

/** Whether a name (with or without a selector) reads a Secrets Manager secret. */
function isReference(raw: string): boolean {
  return raw.startsWith(SECRETS_MANAGER_REFERENCE);
}

/** An error of one name in GetParameters that AWS reports in `InvalidParameters` rather than failing the call. */
function perNameMiss(err: unknown, reference: boolean): boolean {
  if (!(err instanceof ServiceError)) return false;
  if (err.code === 'ParameterNotFound' || err.code === 'ParameterVersionNotFound') return true;
  // References: a bad selector, WithDecryption false, a deleted secret.
  return reference && err.code === 'ValidationException';
}

/**
 * The Parameter Store operations over the in-memory model, plus `/aws/reference/secretsmanager/…`
 * reads backed by the Secrets Manager model. Throws {@link ServiceError} with the SSM code.
 */
export class SsmOperations {
  constructor(
    private readonly parameters: ParametersModel,
    private readonly secrets: SecretsModel,
    private readonly secretsOperations: Operations,
    private readonly faults: FaultRegistry,
  ) {}

  /** Whether a request touches the parameter `name` (a fault's `secretId`): by name, in `Names`, or under `Path`. */
  touches(input: Json, name: string): boolean {
    const names: unknown[] = [input.Name, ...(Array.isArray(input.Names) ? input.Names : [])];
    if (names.some((n) => typeof n === 'string' && (n === name || n.split(':')[0] === name))) return true;
    return typeof input.Path === 'string' && name.startsWith(input.Path.endsWith('/') ? input.Path : `${input.Path}/`);
  }

  /** Runs one operation; returns the response body. */
  execute(op: SsmOperation, input: Json): Json {
    switch (op) {
      case 'GetParameter': {
        const raw = requiredString(input, 'Name', 'name');
        return { Parameter: this.read(raw, optionalBoolean(input, 'WithDecryption')) };
      }
      case 'GetParameters':
        return this.getMany(input);
      case 'GetParametersByPath':
        return this.byPath(input);
      case 'PutParameter':
        return this.put(input);
      case 'DeleteParameter': {
        const name = requiredString(input, 'Name', 'name');
        ParametersModel.checkName(name);
        this.parameters.delete(name);
        return {};
      }
      case 'LabelParameterVersion': {
        const name = requiredString(input, 'Name', 'name');
        ParametersModel.checkName(name);
        const labels = input.Labels;
        if (labels === undefined || labels === null) throw constraint('labels', 'null', 'not be null');
        if (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string')) {
          throw new ServiceError('SerializationException', 'Labels must be a list of strings.');
        }
        if (labels.length < 1 || labels.length > 10) {
          throw constraint(
            'labels',
            `'[${labels.join(', ')}]'`,
            labels.length < 1 ? 'have length greater than or equal to 1' : 'have length less than or equal to 10',
          );
        }
        const v = input.ParameterVersion;
        if (v !== undefined && v !== null && (typeof v !== 'number' || !Number.isInteger(v) || v < 1)) {
          throw new ServiceError('ValidationException', 'ParameterVersion must be a positive integer.');
        }
        const result = this.parameters.label(name, labels as string[], v === null ? undefined : (v as number));
        return { InvalidLabels: result.invalid, ParameterVersion: result.version };
      }
    }
  }

  /** One name of GetParameter / GetParameters: a parameter, or a Secrets Manager reference. */
  private read(raw: string, withDecryption: boolean): Json {
    if (isReference(raw)) return this.readReference(raw, withDecryption);
    const sel = ParametersModel.parseSelector(raw);
    ParametersModel.checkName(sel.name);
    const { parameter, version } = this.parameters.get(sel);
    return parameterJson(parameter, version, withDecryption, sel.selector);
  }

  /**
   * `/aws/reference/secretsmanager/<id>[:<VersionId>|:<VersionStage>]`: the selector is a version
   * id when the secret has a version with that id, else a staging label. AWS's order: the selector's
   * syntax, then WithDecryption, then the lookup.
   */
  private readReference(raw: string, withDecryption: boolean): Json {
    const rest = raw.slice(SECRETS_MANAGER_REFERENCE.length);
    const colon = rest.indexOf(':');
    const id = colon < 0 ? rest : rest.slice(0, colon);
    const sel = colon < 0 ? undefined : rest.slice(colon + 1);
    if (id === '' || sel === '' || sel?.includes(':')) throw new ServiceError('ValidationException', INVALID_SELECTOR);
    if (!withDecryption) throw new ServiceError('ValidationException', WITH_DECRYPTION_REQUIRED);
    const notFound = () =>
      new ServiceError(
        'ParameterNotFound',
        `An error occurred (ParameterNotFound) when referencing Secrets Manager: Secret ${raw.slice(1, SECRETS_MANAGER_REFERENCE.length + id.length)}${sel === undefined ? 'null' : `:${sel}`} not found.`,
      );
    const secret = this.secrets.find(id);
    if (!secret) throw notFound();
    if (secret.deletedDate !== undefined) {
      throw new ServiceError('ValidationException', 'Invalid Request to Secrets Manager');
    }
    const byId = sel !== undefined && secret.versions.has(sel);
    const version = (() => {
      try {
        // Rejects RotateSecret's placeholder versions (no value yet) like a missing one.
        return this.secrets.get(secret.arn, byId ? { versionId: sel } : sel ? { versionStage: sel } : {}).version;
      } catch (err) {
        if (err instanceof ServiceError && err.code === 'ResourceNotFoundException') throw notFound();
        throw err;
      }
    })();
    const described = this.secretsOperations.execute('DescribeSecret', { SecretId: secret.arn });
    return compact({
      Name: `${SECRETS_MANAGER_REFERENCE}${id}`,
      Type: 'SecureString',
      Value: version.secretString,
      Version: 0,
      Selector: sel === undefined ? undefined : `:${sel}`,
      SourceResult: JSON.stringify(described),
      LastModifiedDate: seconds(version.createdDate),
      ARN: secret.arn,
    });
  }

  private getMany(input: Json): Json {
    const names = input.Names;
    if (names === undefined || names === null) throw constraint('names', 'null', 'not be null');
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) {
      throw new ServiceError('SerializationException', 'Names must be a list of strings.');
    }
    if (names.length < 1) throw constraint('names', "'[]'", 'have length greater than or equal to 1');
    if (names.length > MAX_NAMES) {
      throw constraint('names', `'[${names.join(', ')}]'`, `have length less than or equal to ${MAX_NAMES}`);
    }
    const withDecryption = optionalBoolean(input, 'WithDecryption');
    const parameters: Json[] = [];
    const invalid: string[] = [];
    for (const raw of new Set(names as string[])) {
      const fault = this.faults.match('GetParameters', (name) => this.touches({ Name: raw }, name), {
        perSecret: true,
      });
      if (fault?.error) {
        invalid.push(raw);
        continue;
      }
      try {
        // A bad name or selector of a plain parameter fails the whole call, as AWS validates them up front.
        if (!isReference(raw)) ParametersModel.checkName(ParametersModel.parseSelector(raw).name);
        parameters.push(this.read(raw, withDecryption));
      } catch (err) {
        if (perNameMiss(err, isReference(raw))) invalid.push(raw);
        else throw err;
      }
    }
    return { Parameters: parameters, InvalidParameters: invalid };
  }

  private byPath(input: Json): Json {
    const path = requiredString(input, 'Path', 'path');
    if (!path.startsWith('/') || (path !== '/' && !/^[A-Za-z0-9_.\-/]+$/.test(path))) {
      throw new ServiceError('ValidationException', INVALID_PATH);
    }
    if (path.startsWith(SECRETS_MANAGER_REFERENCE.slice(0, -1))) {
      throw new ServiceError('ValidationException', 'GetParametersByPath does not support Secrets Manager references.');
    }
    if (input.ParameterFilters !== undefined && input.ParameterFilters !== null) {
      throw new ServiceError('ValidationException', 'ParameterFilters are not supported by @hush/emulator.');
    }
    const max = input.MaxResults;
    if (max !== undefined && max !== null) {
      if (typeof max !== 'number' || !Number.isInteger(max)) {
        throw new ServiceError('SerializationException', 'MaxResults must be an integer.');
      }
      if (max > MAX_PAGE) throw constraint('maxResults', `'${max}'`, `have value less than or equal to ${MAX_PAGE}`);
      if (max < 1) throw constraint('maxResults', `'${max}'`, 'have value greater than or equal to 1');
    }
    const pageSize = typeof max === 'number' ? max : MAX_PAGE;
    const withDecryption = optionalBoolean(input, 'WithDecryption');
    const matching = this.parameters.byPath(path, optionalBoolean(input, 'Recursive'));
    let start = 0;
    if (input.NextToken !== undefined && input.NextToken !== null) {
      const token = input.NextToken;
      const decoded =
        typeof token === 'string' ? /^ssm-page:(\d+):(.*)$/s.exec(Buffer.from(token, 'base64').toString('utf8')) : null;
      if (!decoded || decoded[2] !== path)
        throw new ServiceError('InvalidNextToken', 'The specified token is not valid.');
      start = Number(decoded[1]);
    }
    const page = matching.slice(start, start + pageSize);
    const end = start + pageSize;
    return compact({
      Parameters: page.map((p) => parameterJson(p, this.parameters.latest(p), withDecryption, undefined)),
      NextToken: end < matching.length ? Buffer.from(`ssm-page:${end}:${path}`).toString('base64') : undefined,
    });
  }

  private put(input: Json): Json {
    const name = requiredString(input, 'Name', 'name');
    const value = requiredString(input, 'Value', 'value');
    const type = input.Type === undefined || input.Type === null ? undefined : parameterType(input.Type);
    const tier = input.Tier === undefined || input.Tier === null ? 'Standard' : input.Tier;
    if (tier !== 'Standard' && tier !== 'Advanced' && tier !== 'Intelligent-Tiering') {
      throw constraint(
        'tier',
        `'${String(tier)}'`,
        'satisfy enum value set: [Standard, Advanced, Intelligent-Tiering]',
      );
    }
    if (value.length === 0) throw validationError('Value', 'have length greater than or equal to 1');
    const limit = tier === 'Standard' ? STANDARD_MAX_VALUE : ADVANCED_MAX_VALUE;
    if (value.length > limit) {
      throw new ServiceError(
        'ValidationException',
        tier === 'Standard'
          ? `Standard tier parameters support a maximum parameter value of ${STANDARD_MAX_VALUE} characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier.`
          : `Advanced tier parameters support a maximum parameter value of ${ADVANCED_MAX_VALUE} characters.`,
      );
    }
    const dataType = input.DataType;
    if (dataType !== undefined && dataType !== null && (typeof dataType !== 'string' || !DATA_TYPES.has(dataType))) {
      throw new ServiceError(
        'ValidationException',
        `The following data type is not supported: ${String(dataType)} (Data type names are all lowercase.)`,
      );
    }
    if (typeof input.Description === 'string' && input.Description.length > 1024) {
      throw validationError('Description', 'have length less than or equal to 1024');
    }
    const version = this.parameters.put(name, value, {
      type,
      overwrite: optionalBoolean(input, 'Overwrite'),
      ...(typeof dataType === 'string' ? { dataType } : {}),
      ...(typeof input.Description === 'string' ? { description: input.Description } : {}),
    });
    return { Version: version.version, Tier: tier === 'Intelligent-Tiering' ? 'Standard' : tier };
  }
}

/** The `Parameter` shape of GetParameter, GetParameters and GetParametersByPath. */
export function parameterJson(
  parameter: StoredParameter,
  version: StoredParameterVersion,
  withDecryption: boolean,
  selector: string | undefined,
): Json {
  const encrypted = version.type === 'SecureString' && !withDecryption;
  return compact({
    Name: parameter.name,
    Type: version.type,
    Value: encrypted ? version.ciphertext : version.value,
    Version: version.version,
    Selector: selector,
    LastModifiedDate: seconds(version.lastModifiedDate),
    ARN: parameter.arn,
    DataType: version.dataType,
  });
}

export type { ParameterSelector };
