import type { IncomingMessage, ServerResponse } from 'node:http';
import { type HealthReport, type SecretHealth, type StoreStatus } from '@hush/core';
import { failingNames, keysOf } from '@hush/core/internal';

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

/** Options of `hush.health()`. */
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

/** Options of `hush.readiness()`. */
export interface ReadinessOptions {
  /** @default 'secrets' */
  key?: string;
}

export const HEALTH_OPTION_KEYS = keysOf<HealthOptions>({ failOnStale: true, key: true });
export const READINESS_OPTION_KEYS = keysOf<ReadinessOptions>({ key: true });

/** An Express (4 or 5) route handler; also a plain `node:http` listener. */
export type HealthHandler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

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

/** Writes a health result: 503 for `error` and `shutting_down` (as terminus), 200 otherwise. */
export function sendHealth(res: ServerResponse, result: HealthCheckResult): void {
  const body = JSON.stringify(result);
  res.statusCode = result.status === 'error' || result.status === 'shutting_down' ? 503 : 200;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}
