/**
 * Pieces shared by the Vault emulator's engines: the error type, Vault's duration parsing and
 * `framework.CalculateTTL`, random ids.
 */
import { randomInt } from 'node:crypto';

/**
 * An error answered the way Vault answers it: `{"errors":[message]}` with `status`
 * (`sdk/logical/response_util.go` `RespondErrorCommon`: ErrPermissionDenied 403, ErrInvalidRequest
 * and error responses 400, unsupported path 404, sealed 503, rate limit quota 429).
 */
export class VaultError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** A full response body instead of `{"errors":[...]}` (KV v2 answers a deleted version with its metadata and 404). */
    readonly body?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'VaultError';
  }
}

export const permissionDenied = (): VaultError => new VaultError(403, 'permission denied');
export const badRequest = (message: string): VaultError => new VaultError(400, message);

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `length` characters of [A-Za-z0-9] (Vault's `base62.Random`). */
export function base62(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += BASE62[randomInt(BASE62.length)];
  return out;
}

const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * Vault's `parseutil.ParseDurationSecond`: a number (or a string of digits) is seconds, otherwise a
 * Go duration such as `"90s"`, `"1h30m"`, plus `"d"` for days. Returns milliseconds.
 */
export function parseVaultDuration(raw: unknown, field: string): number {
  if (raw === undefined || raw === null || raw === '') return 0;
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw) || raw < 0) throw badRequest(`invalid ${field}: must be a non-negative duration`);
    return Math.floor(raw) * 1000;
  }
  if (typeof raw !== 'string') throw badRequest(`invalid ${field}: must be a duration`);
  const s = raw.trim();
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== s.length) throw badRequest(`invalid ${field}: not a duration`);
  return Math.floor(total);
}

/** Inputs of {@link calculateTtl}, in milliseconds (0 = unset), as `framework.CalculateTTL` takes them. */
export interface TtlInputs {
  now: number;
  increment: number;
  backendTtl: number;
  period: number;
  backendMaxTtl: number;
  explicitMaxTtl: number;
  /** The lease's issue time (renewals are capped at issue + max TTL); 0 = now. */
  startTime: number;
  /** The mount's (system's) max and default lease TTL. */
  sysMaxTtl: number;
  sysDefaultTtl: number;
}

/**
 * `sdk/framework/lease.go` `CalculateTTL`, ported: the TTL granted for an issue or a renewal.
 * The increment is a request, not a promise: it is capped so the lease never outlives
 * `startTime + min(sys max, backend max, explicit max)`; past that, renewal fails with
 * "past the max TTL, cannot renew". Times are truncated to the second, like Vault's.
 */
export function calculateTtl(i: TtlInputs): number {
  const now = Math.floor(i.now / 1000) * 1000;
  const start = i.startTime > 0 ? Math.floor(i.startTime / 1000) * 1000 : now;
  let maxTtl = i.sysMaxTtl;
  if (i.backendMaxTtl > 0 && i.backendMaxTtl < maxTtl) maxTtl = i.backendMaxTtl;
  if (i.explicitMaxTtl > 0 && i.explicitMaxTtl < maxTtl) maxTtl = i.explicitMaxTtl;
  if (maxTtl <= 0) throw badRequest('max TTL must be greater than zero');
  let ttl: number;
  let maxValid: number | undefined;
  if (i.period > 0) {
    ttl = Math.min(i.period, maxTtl);
    if (i.explicitMaxTtl > 0) maxValid = start + i.explicitMaxTtl;
  } else {
    ttl = i.increment > 0 ? i.increment : i.backendTtl > 0 ? i.backendTtl : i.sysDefaultTtl;
    maxValid = start + maxTtl;
  }
  if (maxValid !== undefined) {
    const maxValidTtl = maxValid - now;
    if (maxValidTtl <= 0) throw badRequest('past the max TTL, cannot renew');
    if (maxValidTtl < ttl) ttl = maxValidTtl;
  }
  return ttl;
}

/** Whole seconds of a millisecond duration, as Vault reports `lease_duration` and `ttl`. */
export const seconds = (ms: number): number => Math.max(0, Math.floor(ms / 1000));

/** RFC 3339 with nanosecond-style fraction, as Go prints `time.Time` in JSON. */
export const isoTime = (ms: number): string => new Date(ms).toISOString();
