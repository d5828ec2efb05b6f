import type { IncomingMessage, ServerResponse } from 'node:http';
import { SecretsConfigError, checkKnownKeys, suggest, type SecretStore } from '@hush/core';
import { buildView, type ViewSpec } from './secrets-view';
import type { NextFunction } from './misuse';

/** Options of `hush.middleware()`. */
export interface MiddlewareOptions<K extends string = string> {
  /**
   * The only names this router may read; reading any other declared name throws
   * `SecretNotVisibleError`. Every name must be declared.
   * @default every declared secret
   * @example app.use('/admin', hush.middleware({ only: ['adminToken'] }))
   */
  only?: readonly K[];
}

export const MIDDLEWARE_OPTION_KEYS = ['only'] as const;

/**
 * An Express (4 or 5) middleware that sets `req.secrets`. Typed structurally on `node:http`
 * so it fits `app.use` of both Express versions without depending on their types.
 */
export type SecretsMiddleware = (req: IncomingMessage, res: ServerResponse, next: NextFunction) => void;

/** Views handed out by one `hush` instance, mapped to the snapshot (generation) they show. */
export type ViewRegistry = WeakMap<object, Readonly<Record<string, unknown>>>;

/**
 * Creates the middleware. All validation happens here, once; the returned function does a
 * snapshot identity check, one property definition and `next()` — no I/O, no await.
 */
export function createMiddleware(
  store: SecretStore<any>,
  registry: ViewRegistry,
  options: MiddlewareOptions | undefined,
): SecretsMiddleware {
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
    throw new SecretsConfigError('middleware', 'options must be an object, e.g. hush.middleware({ only: ["db"] }).');
  }
  checkKnownKeys(options ?? {}, MIDDLEWARE_OPTION_KEYS, 'middleware');
  const declared = store.names as readonly string[];
  const only = options?.only;
  if (only !== undefined) {
    if (!Array.isArray(only) || only.length === 0 || only.some((n) => typeof n !== 'string')) {
      throw new SecretsConfigError(
        'middleware.only',
        `expected a non-empty array of declared secret names, e.g. { only: ['${declared[0]}'] }.`,
      );
    }
    for (const name of only) {
      if (!declared.includes(name)) {
        const hint = suggest(name, declared);
        throw new SecretsConfigError(
          'middleware.only',
          `"${name}" is not a declared secret.${hint ? ` Did you mean '${hint}'?` : ''} ` +
            `Declared secrets: ${declared.map((n) => `'${n}'`).join(', ')}.`,
        );
      }
    }
  }
  const optional = new Set<string>();
  for (const [name, health] of Object.entries(store.health().secrets)) if (health.optional) optional.add(name);
  const spec: ViewSpec = {
    declared,
    visible: only ? declared.filter((n) => only.includes(n)) : declared,
    restricted: only !== undefined,
    optional,
  };

  // One view per generation (snapshot object). The last one is kept for the fast path; older
  // ones stay reachable while a request still holds them.
  const views = new WeakMap<object, object>();
  let lastSnapshot: object | undefined;
  let lastDescriptor: PropertyDescriptor = { value: undefined };
  const descriptorFor = (snapshot: Readonly<Record<string, unknown>>): PropertyDescriptor => {
    let view = views.get(snapshot);
    if (view === undefined) {
      view = buildView(snapshot, spec);
      views.set(snapshot, view);
      registry.set(view, snapshot);
    }
    return { value: view, enumerable: false, configurable: true, writable: false };
  };

  return function secretsMiddleware(req: IncomingMessage, _res: ServerResponse, next: NextFunction): void {
    // A request that already holds a view of this store (app-level middleware, then a router's
    // `only`) keeps its generation, so it never mixes values of two generations.
    const held = registry.get((req as { secrets?: object }).secrets as object);
    let descriptor: PropertyDescriptor;
    if (held !== undefined) {
      descriptor = descriptorFor(held);
    } else {
      const snapshot = store.snapshot() as Readonly<Record<string, unknown>>;
      if (snapshot !== lastSnapshot) {
        lastDescriptor = descriptorFor(snapshot);
        lastSnapshot = snapshot;
      }
      descriptor = lastDescriptor;
    }
    Object.defineProperty(req, 'secrets', descriptor);
    next();
  };
}
