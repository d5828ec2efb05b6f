import { randomBytes } from 'node:crypto';
import { ServiceError } from './errors';

/** The three Parameter Store types. */
export const PARAMETER_TYPES = ['String', 'StringList', 'SecureString'] as const;

/** One of {@link PARAMETER_TYPES}. */
export type ParameterType = (typeof PARAMETER_TYPES)[number];

/** One version of a parameter, as kept in memory. */
export interface StoredParameterVersion {
  readonly version: number;
  readonly value: string;
  readonly type: ParameterType;
  readonly dataType: string;
  readonly description?: string;
  /** Epoch milliseconds. */
  readonly lastModifiedDate: number;
  /** What GetParameter shows for a SecureString read without decryption: opaque bytes, never derived from the value. */
  readonly ciphertext: string;
  readonly labels: Set<string>;
}

/** A parameter with all its versions, as kept in memory. */
export interface StoredParameter {
  readonly name: string;
  readonly arn: string;
  /** Versions, oldest first (version numbers 1, 2, 3, …). */
  readonly versions: StoredParameterVersion[];
}

/** Options of {@link ParametersModel.put}. */
export interface PutParameterOptions {
  /** Required when the parameter is created; kept from the latest version when omitted on overwrite. */
  type?: ParameterType;
  /** Replace an existing parameter (a new version); without it an existing name is ParameterAlreadyExists. @default false */
  overwrite?: boolean;
  /** @default 'text' */
  dataType?: string;
  description?: string;
}

/** A parsed `name`, `name:version` or `name:label`. */
export interface ParameterSelector {
  readonly name: string;
  /** `:3` or `:label` as AWS echoes it in `Selector`; undefined without one. */
  readonly selector?: string;
  readonly version?: number;
  readonly label?: string;
}

/**
 * `raw` as a {@link ParameterType}, else AWS's ValidationException for the `type` member (the
 * type is not secret, so it is quoted like AWS does).
 */
export function parameterType(raw: unknown): ParameterType {
  if (typeof raw === 'string' && (PARAMETER_TYPES as readonly string[]).includes(raw)) return raw as ParameterType;
  throw new ServiceError(
    'ValidationException',
    `1 validation error detected: Value '${String(raw)}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]`,
  );
}

/** AWS's text for a name that breaks the naming rules (PutParameter, GetParameter…). */
export const INVALID_PARAMETER_NAME =
  'Parameter name: can\'t be prefixed with "ssm" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_';

/** AWS's text for a malformed `name:selector`. (Two spaces before `<name>`, as AWS prints it.) */
export const INVALID_SELECTOR =
  'Invalid parameter name. Please use correct syntax for referencing a version/label  <name>:<version/label>';

const NAME_PATTERN = /^[A-Za-z0-9_.\-/]+$/;
const RESERVED_PREFIX = /^\/?(aws|ssm)/i;
const LABEL_PATTERN = /^[A-Za-z0-9_.-]{1,100}$/;
const MAX_NAME_LENGTH = 2048;
/** Versions Parameter Store keeps per parameter. */
const MAX_VERSIONS = 100;
/** The prefix that reads Secrets Manager secrets through Parameter Store. */
export const SECRETS_MANAGER_REFERENCE = '/aws/reference/secretsmanager/';

/**
 * In-memory model of Parameter Store parameters, versions and labels. Methods throw
 * {@link ServiceError} with the SSM code; no message ever quotes a parameter value.
 */
export class ParametersModel {
  private readonly parameters = new Map<string, StoredParameter>();

  constructor(
    readonly region: string,
    readonly accountId: string,
    readonly now: () => number = Date.now,
  ) {}

  /**
   * Throws ValidationException unless `name` follows Parameter Store's naming rules. Reads may
   * name the reserved `aws`/`ssm` prefixes (AWS's public parameters live there); writes may not.
   */
  static checkName(name: string, write = false): void {
    if (
      name.length === 0 ||
      name.length > MAX_NAME_LENGTH ||
      !NAME_PATTERN.test(name) ||
      (write && RESERVED_PREFIX.test(name))
    ) {
      throw new ServiceError('ValidationException', INVALID_PARAMETER_NAME);
    }
  }

  /** Whether `label` may be attached to a version (letters, digits, `.-_`; not a number first; not aws/ssm first). */
  static isValidLabel(label: string): boolean {
    return LABEL_PATTERN.test(label) && !/^[0-9]/.test(label) && !/^(aws|ssm)/i.test(label);
  }

  /**
   * Splits `name[:version|:label]`. More than one `:` or an empty or malformed selector is a
   * ValidationException with AWS's text.
   */
  static parseSelector(raw: string): ParameterSelector {
    const colon = raw.indexOf(':');
    if (colon < 0) return { name: raw };
    const name = raw.slice(0, colon);
    const sel = raw.slice(colon + 1);
    if (sel === '' || sel.includes(':')) throw new ServiceError('ValidationException', INVALID_SELECTOR);
    if (/^[0-9]+$/.test(sel)) {
      const version = Number(sel);
      if (!Number.isSafeInteger(version) || version < 1)
        throw new ServiceError('ValidationException', INVALID_SELECTOR);
      return { name, selector: `:${sel}`, version };
    }
    if (!ParametersModel.isValidLabel(sel)) throw new ServiceError('ValidationException', INVALID_SELECTOR);
    return { name, selector: `:${sel}`, label: sel };
  }

  /** The parameter ARN: `arn:aws:ssm:<region>:<account>:parameter/<name without leading slash>`. */
  arnOf(name: string): string {
    return `arn:aws:ssm:${this.region}:${this.accountId}:parameter/${name.replace(/^\//, '')}`;
  }

  find(name: string): StoredParameter | undefined {
    return this.parameters.get(name);
  }

  /** Every parameter, sorted by name. */
  list(): StoredParameter[] {
    return [...this.parameters.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The latest version of a parameter. */
  latest(parameter: StoredParameter): StoredParameterVersion {
    return parameter.versions[parameter.versions.length - 1]!;
  }

  /**
   * Adds a version: version 1 when the name is new, else latest + 1 with `overwrite`
   * (ParameterAlreadyExists without it). Labels stay on the versions they were attached to.
   */
  put(name: string, value: string, opts: PutParameterOptions = {}): StoredParameterVersion {
    ParametersModel.checkName(name, true);
    const existing = this.parameters.get(name);
    if (existing && !opts.overwrite) {
      throw new ServiceError(
        'ParameterAlreadyExists',
        'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
      );
    }
    const previous = existing ? this.latest(existing) : undefined;
    if (opts.type === undefined && previous === undefined) {
      throw new ServiceError('ValidationException', 'A parameter type is required when you create a parameter.');
    }
    const type = opts.type === undefined ? previous!.type : parameterType(opts.type);
    const parameter = existing ?? { name, arn: this.arnOf(name), versions: [] };
    if (parameter.versions.length >= MAX_VERSIONS) {
      // AWS keeps 100 versions: a new one deletes the oldest, unless that one carries a label.
      const oldest = parameter.versions[0]!;
      if (oldest.labels.size > 0) {
        throw new ServiceError(
          'ParameterMaxVersionLimitExceeded',
          `You attempted to create a new version of ${name} by calling the PutParameter API with the overwrite flag. Version ${oldest.version}, the oldest version, can't be deleted because it has a label associated with it. Move the label to another version of the parameter, and try creating a new version again.`,
        );
      }
      parameter.versions.shift();
    }
    const version: StoredParameterVersion = {
      version: (previous?.version ?? 0) + 1,
      value,
      type,
      dataType: opts.dataType ?? previous?.dataType ?? 'text',
      ...((opts.description ?? previous?.description) !== undefined
        ? { description: opts.description ?? previous?.description }
        : {}),
      lastModifiedDate: this.now(),
      ciphertext: randomBytes(48).toString('base64'),
      labels: new Set(),
    };
    parameter.versions.push(version);
    if (!existing) this.parameters.set(name, parameter);
    return version;
  }

  /** Removes a parameter and all its versions (ParameterNotFound if absent). */
  delete(name: string): void {
    if (!this.parameters.delete(name)) throw new ServiceError('ParameterNotFound', '');
  }

  /**
   * The version a selector names: the latest, `:version` or `:label`. ParameterNotFound for an
   * unknown name or label, ParameterVersionNotFound for an unknown version.
   */
  get(sel: ParameterSelector): { parameter: StoredParameter; version: StoredParameterVersion } {
    const parameter = this.parameters.get(sel.name);
    if (!parameter) throw new ServiceError('ParameterNotFound', '');
    if (sel.version !== undefined) {
      const version = parameter.versions.find((v) => v.version === sel.version);
      if (!version) throw versionNotFound(sel.version, sel.name);
      return { parameter, version };
    }
    if (sel.label !== undefined) {
      const version = parameter.versions.find((v) => v.labels.has(sel.label!));
      if (!version) throw new ServiceError('ParameterNotFound', '');
      return { parameter, version };
    }
    return { parameter, version: this.latest(parameter) };
  }

  /**
   * Attaches labels to a version (default the latest), moving each from the version that had
   * it. Invalid labels are returned, not attached. ParameterVersionLabelLimitExceeded past 10
   * labels on one version.
   */
  label(name: string, labels: string[], versionNumber?: number): { invalid: string[]; version: number } {
    const parameter = this.parameters.get(name);
    if (!parameter) throw new ServiceError('ParameterNotFound', '');
    const target =
      versionNumber === undefined
        ? this.latest(parameter)
        : parameter.versions.find((v) => v.version === versionNumber);
    if (!target) throw versionNotFound(versionNumber!, name);
    const invalid = labels.filter((l) => !ParametersModel.isValidLabel(l));
    const valid = [...new Set(labels.filter((l) => ParametersModel.isValidLabel(l)))];
    const added = valid.filter((l) => !target.labels.has(l));
    if (target.labels.size + added.length > 10) {
      throw new ServiceError(
        'ParameterVersionLabelLimitExceeded',
        'A parameter version can have maximum 10 labels.Move one or more labels to another version and try again.',
      );
    }
    for (const label of added) {
      for (const v of parameter.versions) v.labels.delete(label);
      target.labels.add(label);
    }
    return { invalid, version: target.version };
  }

  /** Parameters directly under `path` (or at any depth with `recursive`), sorted by name. */
  byPath(path: string, recursive: boolean): StoredParameter[] {
    const prefix = path.endsWith('/') ? path : `${path}/`;
    return this.list().filter((p) => {
      if (!p.name.startsWith(prefix) || p.name.length === prefix.length) return false;
      return recursive || !p.name.slice(prefix.length).includes('/');
    });
  }

  /** Removes every parameter. */
  clear(): void {
    this.parameters.clear();
  }
}

function versionNotFound(version: number, name: string): ServiceError {
  return new ServiceError(
    'ParameterVersionNotFound',
    `Systems Manager could not find version ${version} of ${name}. Verify the version and try again.`,
  );
}
