import { ServiceError } from './errors';
import type { RotationRules } from './secrets-model';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A duration in milliseconds, or a string such as `'500ms'`, `'30s'`, `'5m'`, `'1h'`, `'30d'`. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: HOUR, d: DAY };

/** Milliseconds of a {@link Duration}; `what` names the option in the error. */
export function toMs(value: Duration | string, what: string): number {
  const match = typeof value === 'number' ? null : /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(value.trim());
  const ms = typeof value === 'number' ? value : match ? Number(match[1]) * UNITS[match[2] ?? 'ms']! : NaN;
  if (!Number.isFinite(ms) || ms < 0) {
    throw new RangeError(`${what} must be a duration such as 500, "2s", "30d"; got ${JSON.stringify(value)}.`);
  }
  return ms;
}

function invalid(message: string): ServiceError {
  return new ServiceError('InvalidParameterException', message);
}

/** Checks RotateSecret's `RotationRules` (model constraints plus the documented rules); returns them cleaned. */
export function parseRotationRules(raw: unknown): RotationRules | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalid('RotationRules must be an object.');
  const r = raw as Record<string, unknown>;
  const rules: RotationRules = {};
  if (r.AutomaticallyAfterDays !== undefined && r.AutomaticallyAfterDays !== null) {
    const days = r.AutomaticallyAfterDays;
    if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > 1000) {
      throw new ServiceError(
        'ValidationException',
        "1 validation error detected: Value at 'rotationRules.automaticallyAfterDays' failed to satisfy constraint: Member must have value between 1 and 1000",
      );
    }
    rules.AutomaticallyAfterDays = days;
  }
  if (typeof r.ScheduleExpression === 'string') rules.ScheduleExpression = r.ScheduleExpression;
  if (typeof r.Duration === 'string') {
    if (!/^[0-9h]{2,3}$/.test(r.Duration) || !/^\d+h$/.test(r.Duration)) {
      throw invalid(`The rotation window Duration must be a number of hours such as 3h; got ${r.Duration}.`);
    }
    rules.Duration = r.Duration;
  }
  if (rules.AutomaticallyAfterDays !== undefined && rules.ScheduleExpression !== undefined) {
    throw invalid('You can set AutomaticallyAfterDays or ScheduleExpression in RotationRules, but not both.');
  }
  if (rules.ScheduleExpression !== undefined) nextRotationDate(rules, Date.now()); // throws when unsupported
  return rules;
}

/**
 * When the next rotation is due after a rotation (or the rotation set-up) at `from`: after
 * `AutomaticallyAfterDays` days, after a `rate()` interval, or at the next `cron()` match (UTC).
 * The emulator rotates at the start of the window; AWS picks a time inside it.
 */
export function nextRotationDate(rules: RotationRules, from: number): number | undefined {
  if (rules.AutomaticallyAfterDays !== undefined) return from + rules.AutomaticallyAfterDays * DAY;
  const expr = rules.ScheduleExpression?.trim();
  if (expr === undefined) return undefined;
  const rate = /^rate\((\d+) (hour|hours|day|days)\)$/.exec(expr);
  if (rate) {
    const n = Number(rate[1]);
    const ms = n * (rate[2]!.startsWith('hour') ? HOUR : DAY);
    if (ms < 4 * HOUR) throw invalid('The rotation schedule must be at least every four hours: rate(4 hours).');
    if (n > 1000 && !rate[2]!.startsWith('hour')) throw invalid('rate() in days must be at most 1000 days.');
    return from + ms;
  }
  const cron = /^cron\((.+)\)$/.exec(expr);
  if (cron) return nextCron(cron[1]!, from);
  throw invalid(`The ScheduleExpression ${expr} is not a rate() or cron() expression.`);
}

const DOW_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

/** One cron field as the set of allowed values; `null` for "any" (`*` or `?`). */
function cronField(field: string, min: number, max: number, names?: string[], offset = 0): Set<number> | null {
  if (field === '*' || field === '?') return null;
  const out = new Set<number>();
  for (const part of field.split(',')) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(part);
    if (!m) throw invalid(`cron field ${field} is not supported by @hush/emulator.`);
    const value = (s: string): number => {
      const named = names?.indexOf(s.toUpperCase()) ?? -1;
      const n = named >= 0 ? named + offset : Number(s);
      if (!Number.isInteger(n) || n < min || n > max) throw invalid(`cron value ${s} is out of range in ${field}.`);
      return n;
    };
    const [lo, hi] = m[1] === '*' ? [min, max] : m[1]!.includes('-') ? m[1]!.split('-').map(value) : [value(m[1]!)];
    const step = m[2] === undefined ? 1 : Number(m[2]);
    const end = hi ?? (m[2] === undefined ? lo! : max);
    for (let v = lo!; v <= end; v += step) out.add(v);
  }
  return out;
}

/**
 * Next match of an AWS cron expression (`minutes hours day-of-month month day-of-week year`, UTC)
 * after `from`. Supports numbers, names, `*`, `?`, lists, ranges and steps; not `L`, `W` or `#`.
 */
function nextCron(body: string, from: number): number {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6) throw invalid(`cron() needs 6 fields (minutes hours day month weekday year): ${body}.`);
  if (fields.some((f) => /[LW#]/.test(f))) throw invalid(`cron() with L, W or # is not supported by @hush/emulator.`);
  const [minutes, hours, dom, month, dow, year] = [
    cronField(fields[0]!, 0, 59),
    cronField(fields[1]!, 0, 23),
    cronField(fields[2]!, 1, 31),
    cronField(fields[3]!, 1, 12, MONTH_NAMES, 1),
    cronField(fields[4]!, 1, 7, DOW_NAMES, 1),
    cronField(fields[5]!, 1970, 2199),
  ];
  const ok = (set: Set<number> | null, v: number) => set === null || set.has(v);
  const start = new Date(Math.floor(from / 60_000) * 60_000 + 60_000);
  for (let day = 0; day < 366 * 5; day++) {
    const d = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate() + day));
    if (!ok(year, d.getUTCFullYear()) || !ok(month, d.getUTCMonth() + 1)) continue;
    if (!ok(dom, d.getUTCDate()) || !ok(dow, d.getUTCDay() + 1)) continue;
    for (let h = 0; h < 24; h++) {
      if (!ok(hours, h)) continue;
      for (let m = 0; m < 60; m++) {
        const t = d.getTime() + h * HOUR + m * 60_000;
        if (t >= start.getTime() && ok(minutes, m)) return t;
      }
    }
  }
  throw invalid(`cron(${body}) never matches in the next five years.`);
}
