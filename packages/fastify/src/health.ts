import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HealthReport, SecretHealth, StoreStatus } from '@hush/core';
import { failingNames, keysOf } from '@hush/core/internal';

/** Overall status, as `@nestjs/terminus`'s `HealthCheckStatus`. */
export type HealthCheckStatus = 'ok' | 'degraded' | 'error' | 'shutting_down';

/** Status of one indicator, as terminus's `HealthIndicatorStatus`. */
export type HealthIndicatorStatus = 'up' | 'down';

/**
 * What the `secrets` indicator reports — the same data as `@hush/express` and `@hush/nestjs`:
 * per-secret status, version (8 chars) and age. Never a value.
 */
export interface SecretsIndicator {
  status: HealthIndicatorStatus;
  /** The store's own view: `up`, `degraded` (serving stale values) or `down`. */
  store: StoreStatus;
  secrets: Readonly<Record<string, SecretHealth>>;
  /** Names that made the indicator `down`. */
  failing?: string[];
}

/**
 * The body of the health and readiness routes: terminus's `HealthCheckResult`, byte for byte what
 * `@hush/express`'s `hush.health()` / `hush.readiness()` answer, so every Hush service looks alike
 * to monitoring.
 */
export interface HealthCheckResult {
  status: HealthCheckStatus;
  info: Record<string, SecretsIndicator>;
  error: Record<string, SecretsIndicator>;
  details: Record<string, SecretsIndicator>;
}

/** Options of the liveness route (`healthPath`, `app.hush.health()`). */
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

/** Options of the readiness route (`readinessPath`, `app.hush.readiness()`). */
export interface ReadinessOptions {
  /** @default 'secrets' */
  key?: string;
}

export const HEALTH_OPTION_KEYS = keysOf<HealthOptions>({ failOnStale: true, key: true });
export const READINESS_OPTION_KEYS = keysOf<ReadinessOptions>({ key: true });

/** A Fastify route handler answering health or readiness. */
export type HealthHandler = (request: FastifyRequest, reply: FastifyReply) => FastifyReply;

/**
 * Turns a store health report into a terminus-shaped result. A required secret that is missing
 * (or, with `failOnStale`, stale) makes the indicator `down` and the result `error`; a closed
 * store answers `shutting_down`, as terminus does during shutdown. The same function as
 * `@hush/express`'s `toHealthCheckResult` (a spec checks both give the same bytes).
 */
export function toHealthCheckResult(
  report: HealthReport,
  options: { key?: string; failOnStale?: boolean; loaded?: boolean; closed?: boolean } = {},
): HealthCheckResult {
  const failing = failingNames(report, options);
  const down = failing.length > 0 || options.loaded === false || options.closed === true;
  const indicator: SecretsIndicator = { status: down ? 'down' : 'up', store: report.status, secrets: report.secrets };
  if (failing.length > 0) indicator.failing = failing;
  const entry = { [options.key ?? 'secrets']: indicator };
  return {
    status: options.closed ? 'shutting_down' : down ? 'error' : 'ok',
    info: down ? {} : entry,
    error: down ? entry : {},
    details: entry,
  };
}

/** Sends a health result: 503 for `error` and `shutting_down` (as terminus), 200 otherwise. */
export function sendHealth(reply: FastifyReply, result: HealthCheckResult): FastifyReply {
  return reply
    .code(result.status === 'error' || result.status === 'shutting_down' ? 503 : 200)
    .header('content-type', 'application/json; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(JSON.stringify(result));
}
