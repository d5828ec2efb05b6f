import type { HealthReport, SecretHealth, StoreStatus } from './health';
import { failingNames } from './health';
import { keysOf } from './validation';

/*
 * The terminus-shaped health body every Hush HTTP adapter answers (@hush/express, @hush/fastify;
 * @hush/nestjs through terminus itself), in one place so they answer byte for byte alike.
 */

/** Overall status, as `@nestjs/terminus`'s `HealthCheckStatus`. */
export type HealthCheckStatus = 'ok' | 'degraded' | 'error' | 'shutting_down';

/** Status of one indicator, as terminus's `HealthIndicatorStatus`. */
export type HealthIndicatorStatus = 'up' | 'down';

/**
 * What the `secrets` indicator reports — the same data as `@hush/nestjs`'s
 * `SecretsHealthIndicator`: per-secret status, version (8 chars) and age. Never a value.
 */
export interface SecretsIndicator {
  status: HealthIndicatorStatus;
  /** The store's own view: `up`, `degraded` (serving stale values) or `down`. */
  store: StoreStatus;
  /** The store's `name` option, when it has one. */
  name?: string;
  secrets: Readonly<Record<string, SecretHealth>>;
  /** Names that made the indicator `down`. */
  failing?: string[];
}

/**
 * The body of `hush.health()` and `hush.readiness()`: terminus's `HealthCheckResult`, so Express
 * and NestJS services look alike to monitoring.
 *
 * @example
 * { "status": "ok",
 *   "info": { "secrets": { "status": "up", "store": "up", "secrets": { "db": { "status": "fresh", "version": "a1b2c3d4", "ageSeconds": 42 } } } },
 *   "error": {},
 *   "details": { "secrets": { "status": "up", "store": "up", "secrets": { "db": { "status": "fresh", "version": "a1b2c3d4", "ageSeconds": 42 } } } } }
 */
export interface HealthCheckResult {
  status: HealthCheckStatus;
  info: Record<string, SecretsIndicator>;
  error: Record<string, SecretsIndicator>;
  details: Record<string, SecretsIndicator>;
}

/** Options of the liveness check (`hush.health()`, Fastify's `healthPath`). */
export interface HealthOptions {
  /**
   * Answer 503 when a required secret is stale past `maxStaleness`. Off by default: a stale
   * secret is still being served, so liveness stays 200 (the body shows `store: 'degraded'`).
   * @default false
   */
  failOnStale?: boolean;
  /**
   * The indicator key in `info` / `error` / `details`.
   * @default 'secrets'
   */
  key?: string;
}

/** Options of the readiness check (`hush.readiness()`, Fastify's `readinessPath`). */
export interface ReadinessOptions {
  /** @default 'secrets' */
  key?: string;
}

export const HEALTH_OPTION_KEYS = keysOf<HealthOptions>({ failOnStale: true, key: true });
export const READINESS_OPTION_KEYS = keysOf<ReadinessOptions>({ key: true });

/**
 * Turns a store health report into a terminus-shaped result. A required secret that is missing
 * (or, with `failOnStale`, stale) makes the indicator `down` and the result `error`; a closed
 * store answers `shutting_down`, as terminus does during shutdown.
 */
export function toHealthCheckResult(
  report: HealthReport,
  options: { key?: string; failOnStale?: boolean; loaded?: boolean; closed?: boolean } = {},
): HealthCheckResult {
  const failing = failingNames(report, options);
  const down = failing.length > 0 || options.loaded === false || options.closed === true;
  const indicator: SecretsIndicator = {
    status: down ? 'down' : 'up',
    store: report.status,
    ...(report.name === undefined ? {} : { name: report.name }),
    secrets: report.secrets,
  };
  if (failing.length > 0) indicator.failing = failing;
  const entry = { [options.key ?? 'secrets']: indicator };
  return {
    status: options.closed ? 'shutting_down' : down ? 'error' : 'ok',
    info: down ? {} : entry,
    error: down ? entry : {},
    details: entry,
  };
}
