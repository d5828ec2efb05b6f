/**
 * `@hush/lambda/middy`: the same per-invoke loading and refresh as `withSecrets`, as a Middy
 * middleware. `@middy/core` is an optional peer; this module does not import it.
 *
 * @packageDocumentation
 */
import {
  createInvokeGate,
  type LambdaContextLike,
  type LambdaSecretStore,
  type LambdaSecretsOptions,
} from './invoke-gate';

export type { LambdaSecretStore, LambdaSecretsOptions, RefreshMode } from './invoke-gate';

/** The part of Middy's request object the middleware reads. */
export interface MiddyRequestLike {
  readonly context: LambdaContextLike;
}

/** A Middy middleware object (`before`, `after`, `onError`), as `middy(handler).use(...)` takes it. */
export interface SecretsMiddyMiddleware {
  before: (request: MiddyRequestLike) => Promise<void> | undefined;
  after: (request: MiddyRequestLike) => Promise<void> | undefined;
  onError: (request: MiddyRequestLike) => Promise<void> | undefined;
}

/**
 * A Middy middleware that loads the store if INIT did not and refreshes what is due before the
 * handler runs (bounded by `refreshTimeout`, default 1 s), like `withSecrets`. Put it first, so
 * the middlewares after it read current values too.
 *
 * @example
 * // secretsMiddleware comes from the `@hush/lambda/middy` subpath; middy from `@middy/core`.
 * export const handler = middy(async () => ({ statusCode: 200 })).use(secretsMiddleware(store));
 * @throws SecretsConfigError for a missing store or an invalid option.
 */
export function secretsMiddleware(store: LambdaSecretStore, options?: LambdaSecretsOptions): SecretsMiddyMiddleware {
  const gate = createInvokeGate(store, options, 'secretsMiddleware');
  const after = (request: MiddyRequestLike): Promise<void> | undefined => gate.after(request?.context);
  return {
    // Middy ends the chain early when `before` resolves with a value: these resolve with undefined.
    before: (request) => gate.before(request?.context),
    after,
    onError: after,
  };
}
