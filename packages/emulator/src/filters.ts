import { ServiceError } from './errors';
import { validationError } from './input';
import type { StoredSecret } from './secrets-model';

/** One ListSecrets / BatchGetSecretValue filter. */
export interface Filter {
  readonly Key: string;
  readonly Values: string[];
}

const KEYS = ['name', 'description', 'tag-key', 'tag-value', 'primary-region', 'owning-service', 'all'];
const VALUE_PATTERN = /^!?[a-zA-Z0-9 :_@/+=.\-!]*$/;

/**
 * Parses `Filters` with the model's limits: at most 10 filters, 1–10 values each, values up to 512
 * characters of the allowed set, and at most 10 values across all filters together.
 */
export function parseFilters(raw: unknown): Filter[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new ServiceError('InvalidParameterException', 'Filters must be a list.');
  if (raw.length > 10) throw validationError('Filters', 'have length less than or equal to 10');
  const filters = raw.map((f: { Key?: unknown; Values?: unknown }, i) => {
    if (typeof f?.Key !== 'string' || !Array.isArray(f.Values)) {
      throw new ServiceError('InvalidParameterException', 'Each filter needs a Key and a list of Values.');
    }
    if (!KEYS.includes(f.Key)) {
      throw validationError(`filters.${i + 1}.member.key`, `satisfy enum value set: [${KEYS.join(', ')}]`);
    }
    if (f.Values.length > 10) {
      throw validationError(`filters.${i + 1}.member.values`, 'have length less than or equal to 10');
    }
    if (f.Values.length === 0) {
      throw validationError(`filters.${i + 1}.member.values`, 'have length greater than or equal to 1');
    }
    const values = f.Values.map(String);
    for (const v of values) {
      if (v.length > 512 || !VALUE_PATTERN.test(v)) {
        throw validationError(
          `filters.${i + 1}.member.values`,
          'satisfy constraint: [Member must have length less than or equal to 512, Member must satisfy regular expression pattern: ^\\!?[a-zA-Z0-9 :_@\\/\\+\\=\\.\\-\\!]*$]',
        );
      }
    }
    return { Key: f.Key, Values: values };
  });
  if (filters.reduce((n, f) => n + f.Values.length, 0) > 10) {
    throw new ServiceError('InvalidParameterException', 'The filter list has too many filters.');
  }
  return filters;
}

/** Splits an attribute or an `all` search string into words. */
function words(text: string): string[] {
  return text.split(/[\s/_+=.@:-]+/).filter((w) => w.length > 0);
}

/**
 * Whether a secret passes every filter (filters AND, values OR). Values are prefixes; a leading
 * `!` negates. `name`, `tag-key`, `tag-value`, `primary-region` are case-sensitive; `description`
 * is not; `all` splits the value into words and needs each word to prefix a word (or the whole) of
 * the name, description, tag keys or values, case-insensitively.
 */
export function matchesFilters(secret: StoredSecret, filters: Filter[], region: string): boolean {
  return filters.every((filter) => {
    const candidates = ((): string[] => {
      switch (filter.Key) {
        case 'name':
          return [secret.name];
        case 'description':
          return secret.description ? [secret.description.toLowerCase()] : [];
        case 'tag-key':
          return secret.tags.map((t) => t.Key ?? '');
        case 'tag-value':
          return secret.tags.map((t) => t.Value ?? '');
        case 'primary-region':
          return [region];
        case 'owning-service':
          return [];
        default: {
          const all = [
            secret.name,
            secret.description ?? '',
            ...secret.tags.flatMap((t) => [t.Key ?? '', t.Value ?? '']),
          ];
          return [...all, ...all.flatMap(words)].map((c) => c.toLowerCase());
        }
      }
    })();
    return filter.Values.some((value) => {
      const negate = value.startsWith('!');
      const raw = negate ? value.slice(1) : value;
      const hit =
        filter.Key === 'all'
          ? words(raw.toLowerCase()).every((w) => candidates.some((c) => c.startsWith(w)))
          : candidates.some((c) => c.startsWith(filter.Key === 'description' ? raw.toLowerCase() : raw));
      return negate ? !hit : hit;
    });
  });
}
