import { SecretsConfigError } from '@hush/core';
import {
  createInvokeGate,
  type LambdaContextLike,
  type LambdaSecretStore,
  type LambdaSecretsOptions,
} from './invoke-gate';

/**
 * An async (or synchronous) Lambda handler. A handler typed with a third `callback` parameter (as
 * `Handler` of @types/aws-lambda, or `serverlessExpress(...)`) is accepted, but the callback is
 * never passed: it must return a promise (Node 24 runtimes dropped callback handlers).
 */
export type LambdaHandler<E = never, C = never> = (event: E, context: C, ...callback: never[]) => unknown;

/** The handler `withSecrets` returns for `H`: the same event and context, the same result (maybe as a promise). */
export type SecretsHandler<H> = H extends (event: infer E, context: infer C, ...callback: never[]) => infer R
  ? (event: E, context: C) => R | Promise<Awaited<R>>
  : never;

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
export function withSecrets<H extends LambdaHandler>(
  store: LambdaSecretStore,
  handler: H,
  options?: LambdaSecretsOptions,
): SecretsHandler<H> {
  const gate = createInvokeGate(store, options, 'withSecrets');
  if (typeof handler !== 'function') {
    throw new SecretsConfigError(
      'withSecrets',
      'expected a handler function as the second argument: withSecrets(store, handler).',
    );
  }
  const call = handler as unknown as (event: unknown, context: unknown) => unknown;
  function secretsHandler(event: unknown, context: unknown): unknown {
    const ready = gate.before(context as LambdaContextLike | undefined);
    if (ready === undefined) {
      const result = call(event, context);
      // An async handler gives the store's timer time to start a round: `after` lands it before
      // the response (a synchronous one gives it none).
      return gate.mode === 'before-invoke' && isPromiseLike(result) ? settle(result, context) : result;
    }
    return run(ready, event, context);
  }
  return secretsHandler as SecretsHandler<H>;

  async function settle(result: PromiseLike<unknown>, context: unknown): Promise<unknown> {
    try {
      return await result;
    } finally {
      const after = gate.after(context as LambdaContextLike | undefined);
      if (after !== undefined) await after;
    }
  }

  async function run(ready: Promise<void>, event: unknown, context: unknown): Promise<unknown> {
    await ready;
    try {
      return await call(event, context);
    } finally {
      const settle = gate.after(context as LambdaContextLike | undefined);
      if (settle !== undefined) await settle;
    }
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
