import type { FastifyReply, FastifyRequest } from 'fastify';

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

/** A Fastify route handler answering health or readiness. */
export type HealthHandler = (request: FastifyRequest, reply: FastifyReply) => FastifyReply;

/** Sends a health result: 503 for `error` and `shutting_down` (as terminus), 200 otherwise. */
export function sendHealth(reply: FastifyReply, result: HealthCheckResult): FastifyReply {
  return reply
    .code(result.status === 'error' || result.status === 'shutting_down' ? 503 : 200)
    .header('content-type', 'application/json; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(JSON.stringify(result));
}
