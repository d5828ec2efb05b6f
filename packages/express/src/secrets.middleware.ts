import { IncomingMessage, type ServerResponse } from 'node:http';
import { SecretsConfigError, type SecretStore } from '@hush/core';
import { checkKnownKeys, keysOf, suggest } from '@hush/core/internal';
import { buildView, type ViewSpec } from './secrets-view';
import { readOnlyError } from './errors';
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

export const MIDDLEWARE_OPTION_KEYS = keysOf<MiddlewareOptions>({ only: true });

/**
 * An Express (4 or 5) middleware that sets `req.secrets`. Typed structurally on `node:http`
 * so it fits `app.use` of both Express versions without depending on their types.
 */
export type SecretsMiddleware = (req: IncomingMessage, res: ServerResponse, next: NextFunction) => void;

/** Views handed out by one `hush` instance, mapped to the snapshot (generation) they show. */
export type ViewRegistry = WeakMap<object, Readonly<Record<string, unknown>>>;

/**
 * Creates the middleware. All validation happens here, once; per request the returned function
 * does a snapshot identity check, records the request's view in a WeakMap (read through an
 * accessor on Express's request prototype, see below) and calls `next()` — no I/O, no await.
 */
export function createMiddleware(
  store: SecretStore,
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
  const optional = new Set<string>(store.optionalNames);
  const spec: ViewSpec = {
    declared,
    visible: only ? declared.filter((n) => only.includes(n)) : declared,
    restricted: only !== undefined,
    optional,
  };

  // One view (and its fallback descriptor) per generation (snapshot object). The latest is kept for
  // the fast path; older ones stay reachable while a request still holds them.
  const views = new WeakMap<object, Pinned>();
  const pinnedFor = (snapshot: Readonly<Record<string, unknown>>): Pinned => {
    let pinned = views.get(snapshot);
    if (pinned === undefined) {
      const view = buildView(snapshot, spec);
      pinned = {
        view,
        descriptor: Object.freeze({ value: view, enumerable: false, configurable: true, writable: false }),
      };
      views.set(snapshot, pinned);
      registry.set(view, snapshot);
    }
    return pinned;
  };
  let lastSnapshot: object | undefined;
  let latest: Pinned | undefined;
  let lastProto: object | null | undefined;
  let lastShared = false;

  return function secretsMiddleware(req: IncomingMessage, _res: ServerResponse, next: NextFunction): void {
    // Express requests read `secrets` through the accessor on Express's shared request prototype;
    // anything else (plain node:http, Connect, mocks) gets an own property, as before.
    const proto = Object.getPrototypeOf(req) as object | null;
    if (proto !== lastProto) {
      lastShared = sharedAccessorUsable(proto);
      lastProto = proto;
    }
    const shared = lastShared && !Object.prototype.hasOwnProperty.call(req, 'secrets');
    // A request that already holds a view of this store (app-level middleware, then a router's
    // `only`) keeps its generation, so it never mixes values of two generations.
    const current = shared ? held.get(req) : (req as { secrets?: object }).secrets;
    const pinnedSnapshot = current === undefined ? undefined : registry.get(current);
    let pinned: Pinned;
    if (pinnedSnapshot !== undefined) {
      pinned = pinnedFor(pinnedSnapshot);
    } else {
      const snapshot = store.snapshot() as Readonly<Record<string, unknown>>;
      if (snapshot !== lastSnapshot) {
        latest = pinnedFor(snapshot);
        lastSnapshot = snapshot;
      }
      pinned = latest!;
    }
    if (shared) held.set(req, pinned.view);
    else Object.defineProperty(req, 'secrets', pinned.descriptor);
    next();
  };
}

interface Pinned {
  readonly view: object;
  /** For requests that get an own property: non-enumerable, read-only, frozen and reused. */
  readonly descriptor: PropertyDescriptor;
}

/*
 * Why an accessor on a prototype instead of an own property per request.
 *
 * Express gives every request its app's prototype (`Object.setPrototypeOf(req, app.request)`).
 * On Node 20 (V8 11.3) that leaves the request on a map V8 will not share, so every property
 * added to it afterwards builds a new hidden class: about 2-4 µs of CPU and garbage per request,
 * which was nearly all of this middleware's cost. A WeakMap entry costs a fraction of that, and
 * defining nothing on `req` keeps the request's shape exactly what Express alone gives it.
 *
 * The accessor lives on Express's own request object (`express.request`, the prototype every
 * `app.request` of that copy of Express derives from), never on `http.IncomingMessage.prototype`:
 * - it is found from every app, mounted sub-app (whose `request` chains to its parent's) and
 *   router, and a request keeps it after leaving a sub-app — the visibility an own property had;
 * - it reads a request's entry in `held`, so other requests (and other apps of the same copy of
 *   Express that never run `hush.middleware()`) read `undefined`, as before;
 * - assigning `req.secrets` throws on a request that holds a view (read-only) and defines an
 *   ordinary own property on any other request, so code that never used Hush is unaffected;
 * - nothing is patched at import: it is installed on the first request, once per copy of Express,
 *   and left alone when that prototype chain already has a `secrets` of someone else's.
 */

/** Request → the view `hush.middleware()` pinned for it (any `hush` of this copy of the package). */
const held = new WeakMap<object, object>();

function getSecrets(this: object): object | undefined {
  return held.get(this);
}

function setSecrets(this: object, value: unknown): void {
  if (held.has(this)) {
    throw readOnlyError();
  }
  // Not a Hush request: behave like an ordinary assignment.
  Object.defineProperty(this, 'secrets', { value, writable: true, enumerable: true, configurable: true });
}

/** Prototype → whether requests with it read `secrets` through our accessor (checked once per prototype). */
const usable = new WeakMap<object, boolean>();

/**
 * Whether `proto` is an Express request prototype whose chain reaches our accessor (installing it
 * on Express's root request object on first use). False for a plain `IncomingMessage` (no Express
 * prototype in between), for objects that are not requests, and when some prototype in the chain
 * already defines a `secrets` that is not ours.
 */
function sharedAccessorUsable(proto: object | null): boolean {
  if (proto === null) return false;
  const known = usable.get(proto);
  if (known !== undefined) return known;
  let result = false;
  for (
    let p: object | null = proto;
    p !== null && p !== IncomingMessage.prototype;
    p = Object.getPrototypeOf(p) as object | null
  ) {
    const own = Object.getOwnPropertyDescriptor(p, 'secrets');
    if (own !== undefined && own.get !== getSecrets) break;
    if (Object.getPrototypeOf(p) === IncomingMessage.prototype) {
      // p is Express's `request` object: install once (configurable, non-enumerable).
      if (own === undefined) {
        Object.defineProperty(p, 'secrets', {
          get: getSecrets,
          set: setSecrets,
          enumerable: false,
          configurable: true,
        });
      }
      result = true;
    }
  }
  usable.set(proto, result);
  return result;
}
