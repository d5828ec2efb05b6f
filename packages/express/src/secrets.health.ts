import type { IncomingMessage, ServerResponse } from 'node:http';

export {
  HEALTH_OPTION_KEYS,
  READINESS_OPTION_KEYS,
  toHealthCheckResult,
  type HealthCheckStatus,
  type HealthIndicatorStatus,
  type SecretsIndicator,
  type HealthCheckResult,
  type HealthOptions,
  type ReadinessOptions,
} from '@hush/core/internal';
import type { HealthCheckResult } from '@hush/core/internal';

/** An Express (4 or 5) route handler; also a plain `node:http` listener. */
export type HealthHandler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

/** Writes a health result: 503 for `error` and `shutting_down` (as terminus), 200 otherwise. */
export function sendHealth(res: ServerResponse, result: HealthCheckResult): void {
  const body = JSON.stringify(result);
  res.statusCode = result.status === 'error' || result.status === 'shutting_down' ? 503 : 200;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}
