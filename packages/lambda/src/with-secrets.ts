import { SecretsConfigError } from '@hush/core';
import {
  createInvokeGate,
  type LambdaContextLike,
  type LambdaSecretStore,
  type LambdaSecretsOptions,
} from './invoke-gate';

/** An async (or synchronous) Lambda handler. Callback-style handlers are not supported (Node 24 dropped them). */
export type LambdaHandler<E = unknown, R = unknown, C extends LambdaContextLike = LambdaContextLike> = (
  event: E,
  context: C,
) => R | Promise<R>;

/**
 * Wraps a Lambda handler so each invoke serves the right secret values, even the first after a
 * freeze: it loads the store if INIT did not (a CommonJS handler, an INIT that timed out), then,
 * when a refresh is due, fetches it before the handler runs — at most `refreshTimeout` (default
 * 1 s), after which the handler gets the last good value. A timer that fires on thaw and the
 * invoke share one fetch. An invoke with nothing due costs a property read.
 *
 * @example
 * const store = new SecretStore(secrets, { source: sourceFromEnv(), refreshInterval: '5m' });
 * await store.load(); // ESM: at INIT (top-level await); CommonJS: the first invoke loads
 * export const handler = withSecrets(store, async (event) => {
 *   const { password } = store.get('db');
 *   return { statusCode: 200 };
 * });
 * @throws SecretsConfigError for a missing store or handler, or an invalid option.
 */
export function withSecrets<E, R, C extends LambdaContextLike>(
  store: LambdaSecretStore,
  handler: LambdaHandler<E, R, C>,
  options?: LambdaSecretsOptions,
): (event: E, context: C) => R | Promise<R> {
  const gate = createInvokeGate(store, options, 'withSecrets');
  if (typeof handler !== 'function') {
    throw new SecretsConfigError(
      'withSecrets',
      'expected a handler function as the second argument: withSecrets(store, handler).',
    );
  }
  return function secretsHandler(event: E, context: C): R | Promise<R> {
    const ready = gate.before();
    if (ready === undefined) return handler(event, context);
    return run(ready, event, context);
  };

  async function run(ready: Promise<void> | undefined, event: E, context: C): Promise<R> {
    if (ready !== undefined) await ready;
    try {
      return await handler(event, context);
    } finally {
      const settle = gate.after(context);
      if (settle !== undefined) await settle;
    }
  }
}
