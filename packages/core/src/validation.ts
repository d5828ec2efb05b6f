import { SecretsConfigError } from './errors';

/**
 * A duration in milliseconds, or a string such as `'500ms'`, `'30s'`, `'5m'`, `'1h'`, `'1d'`; a
 * unitless `'0'` (as read from an environment variable) is zero wherever zero is allowed.
 */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}` | '0';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;

/**
 * Parses a duration option to milliseconds.
 * @throws SecretsConfigError naming the option for NaN, negative, infinite or malformed values.
 */
export function parseDuration(value: unknown, option: string, opts: { allowZero?: boolean } = {}): number {
  let ms: number;
  if (typeof value === 'number') {
    ms = value;
  } else if (typeof value === 'string') {
    const text = value.trim();
    const match = DURATION_PATTERN.exec(text);
    if (match) {
      ms = Number(match[1]) * UNITS[match[2]!]!;
    } else if (/^0+(?:\.0+)?$/.test(text)) {
      ms = 0; // zero needs no unit
    } else {
      const unitless = /^\d+(?:\.\d+)?$/.test(text);
      throw new SecretsConfigError(
        option,
        `cannot parse duration ${JSON.stringify(value)}.` +
          (unitless
            ? ` Add a unit: "${text}ms" or "${text}s".`
            : ' Use milliseconds or a string like "30s", "5m", "1h".'),
      );
    }
  } else {
    throw new SecretsConfigError(option, `expected a duration (milliseconds or "5m"), got ${typeof value}.`);
  }
  if (!Number.isFinite(ms))
    throw new SecretsConfigError(option, `duration must be a finite number of milliseconds, got ${String(ms)}.`);
  if (ms < 0) throw new SecretsConfigError(option, `duration must not be negative, got ${ms}.`);
  if (ms === 0 && !opts.allowZero) throw new SecretsConfigError(option, 'duration must be greater than 0.');
  if (ms > 2_147_483_647)
    throw new SecretsConfigError(option, 'duration is longer than the maximum timer delay (~24.8 days).');
  return Math.round(ms);
}

/** Damerau-free Levenshtein distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(
        row[j]! + 1,
        row[j - 1]! + 1,
        prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1),
      );
      prev = tmp;
    }
  }
  return row[b.length]!;
}

/** The closest known word to `word`, if it is close enough to be a likely typo. */
export function suggest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = distance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

/**
 * The keys of an options type as a list, checked by the compiler both ways: leaving an option out
 * of `keys`, or listing one the type does not have, fails to compile (express-rate-limit's
 * `KeysEnum` pattern). Feed the result to {@link checkKnownKeys}.
 *
 * @example
 * const KEYS = keysOf<MiddlewareOptions>({ only: true });
 */
export function keysOf<T extends object>(keys: { readonly [K in keyof Required<T>]: true }): readonly (keyof T &
  string)[] {
  return Object.freeze(Object.keys(keys)) as (keyof T & string)[];
}

/**
 * Throws a SecretsConfigError for the first unknown key of `options`, with a "did you mean" hint.
 * @param where the option path for messages, e.g. `SecretStore options`.
 */
export function checkKnownKeys(options: object, known: readonly string[], where: string): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const hint = suggest(key, known);
    throw new SecretsConfigError(
      `${where}.${key}`,
      `unknown option "${key}".${hint ? ` Did you mean \`${hint}\`?` : ''} Known options: ${known.join(', ')}.`,
    );
  }
}
