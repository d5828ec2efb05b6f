import type { IncomingMessage } from 'node:http';

/** Express's `next`. */
export type NextFunction = (err?: unknown) => void;

/**
 * Whether the arguments look like an Express call `(req, res, next)`: the sign that a factory
 * (`hush.middleware`, `hush.health`, `hush.readiness`) was passed to Express without being called.
 */
export function looksLikeHandlerCall(first: unknown, third: unknown): first is IncomingMessage {
  return (
    typeof first === 'object' &&
    first !== null &&
    typeof (first as { method?: unknown }).method === 'string' &&
    typeof (first as { headers?: unknown }).headers === 'object' &&
    (typeof third === 'function' || typeof (first as { url?: unknown }).url === 'string')
  );
}
