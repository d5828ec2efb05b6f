import type { IncomingMessage, ServerResponse } from 'node:http';
import { inspect } from 'node:util';
import {
  REDACTED,
  SecretStore,
  SecretsConfigError,
  type SecretDeclarations,
  type SecretName,
  type SecretStoreOptions,
  type SecretValueOf,
} from '@hush/core';
import { SECRET_STORE_OPTION_KEYS, checkKnownKeys, keysOf } from '@hush/core/internal';
import { looksLikeHandlerCall, type NextFunction } from './misuse';
import { factoryMisuseError } from './errors';
import {
  createMiddleware,
  type MiddlewareOptions,
  type SecretsMiddleware,
  type ViewRegistry,
} from './secrets.middleware';
import {
  HEALTH_OPTION_KEYS,
  READINESS_OPTION_KEYS,
  sendHealth,
  toHealthCheckResult,
  type HealthHandler,
  type HealthOptions,
  type ReadinessOptions,
} from './secrets.health';

/**
 * Options of {@link createSecrets}: your declarations, a source, and any `SecretStore` option
 * (`refreshInterval`, `maxStaleness`, `bootTimeout`, `logger`…), passed through unchanged.
 */
export interface CreateSecretsOptions<D extends SecretDeclarations> extends SecretStoreOptions {
  /** The declarations, usually from `defineSecrets({...})`. */
  secrets: D;
  /**
   * Load every declared secret before `createSecrets` resolves. With `false`, call
   * `await hush.load()` yourself (readiness answers 503 until it succeeds).
   * @default true
   */
  load?: boolean;
}

// SecretStore options plus ours; checked here so a typo gets a hint that covers every key.
const OPTION_KEYS: readonly string[] = [
  ...keysOf<Omit<CreateSecretsOptions<SecretDeclarations>, keyof SecretStoreOptions>>({ secrets: true, load: true }),
  ...SECRET_STORE_OPTION_KEYS,
];

/**
 * The Express integration returned by {@link createSecrets}. Every method is bound, so it can be
 * passed around (`process.on('SIGTERM', hush.close)`).
 */
export interface Hush<D extends SecretDeclarations = SecretDeclarations> {
  /** The underlying core store: `get`, `handle`, `subscribe`, `onEvent`, `health`, `stats`. */
  readonly store: SecretStore<D>;
  /** Declared names, in declaration order. */
  readonly names: readonly SecretName<D>[];
  /** Whether every required secret has been loaded. */
  readonly loaded: boolean;
  /**
   * Middleware that sets `req.secrets`: the values of one generation, read-only, non-enumerable,
   * printing `[redacted]`. Per request it records the request's generation in a WeakMap, read
   * through an accessor on Express's request prototype (nothing is added to `req`); it never awaits
   * or does I/O.
   *
   * @example
   * app.use(hush.middleware());
   * app.use('/admin', hush.middleware({ only: ['adminToken'] }));
   * @throws SecretsConfigError for an unknown option or an `only` name that is not declared.
   */
  middleware<const K extends SecretName<D> = SecretName<D>>(options?: MiddlewareOptions<K>): SecretsMiddleware;
  /**
   * Liveness handler: 200 with terminus's `{ status, info, error, details }` while every required
   * secret has a value (stale ones are `degraded`), 503 when one is missing or after `close()`.
   * @example app.get('/healthz', hush.health());
   */
  health(options?: HealthOptions): HealthHandler;
  /**
   * Readiness handler: 503 until loaded, when a required secret is missing or stale past
   * `maxStaleness`, and after `close()`; 200 otherwise. Same body shape as {@link health}.
   * @example app.get('/readyz', hush.readiness());
   */
  readiness(options?: ReadinessOptions): HealthHandler;
  /** The current value of one secret, outside a request. Same as `hush.store.get(name)`. */
  get<K extends SecretName<D>>(name: K): SecretValueOf<D[K]>;
  /** Forces a refresh of one or every secret. Same as `hush.store.refresh(name)`. */
  refresh(name?: SecretName<D>): Promise<void>;
  /** Loads every declared secret (only needed with `load: false`). Same as `hush.store.load()`. */
  load(): Promise<void>;
  /** Stops background refresh and closes the source; readiness turns 503. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Creates the store, loads every declared secret (unless `load: false`) and returns the Express
 * integration. Call it before `app.listen`.
 *
 * @example
 * const secrets = defineSecrets({ db: { id: 'prod/app/db', format: 'json', schema: Db }, apiKey: 'prod/app/api-key' });
 * const hush = await createSecrets({ secrets, source: awsSecretsManager({ region: 'eu-west-1' }), refreshInterval: '5m' });
 * app.use(hush.middleware());
 * app.get('/readyz', hush.readiness());
 * process.on('SIGTERM', () => void hush.close());
 * @throws SecretsConfigError for an invalid declaration or option (with a "did you mean" hint).
 * @throws SecretsLoadError listing every required secret that could not be loaded.
 */
export async function createSecrets<const D extends SecretDeclarations>(
  options: CreateSecretsOptions<D>,
): Promise<Hush<D>> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new SecretsConfigError(
      'createSecrets',
      'options are required, e.g. createSecrets({ secrets, source: awsSecretsManager() }).',
    );
  }
  checkKnownKeys(options, OPTION_KEYS, 'createSecrets');
  const { secrets, load = true, ...storeOptions } = options;
  if (secrets === undefined) {
    throw new SecretsConfigError(
      'createSecrets.secrets',
      'declare your secrets, e.g. createSecrets({ secrets: defineSecrets({ db: "prod/app/db" }), source }).',
    );
  }
  if (typeof load !== 'boolean') throw new SecretsConfigError('createSecrets.load', 'load must be true or false.');
  const store = new SecretStore(secrets, storeOptions);
  const hush = createHush(store);
  if (load) {
    try {
      await store.load();
    } catch (error) {
      await store.close();
      throw error;
    }
  }
  return hush;
}

function factoryMisuse(method: string, next: unknown): void {
  const error = factoryMisuseError(method);
  if (typeof next === 'function') (next as NextFunction)(error);
  else throw error;
}

function createHush<D extends SecretDeclarations>(store: SecretStore<D>): Hush<D> {
  const registry: ViewRegistry = new WeakMap();
  let closing: Promise<void> | undefined;

  const middleware = (options?: MiddlewareOptions, res?: unknown, next?: unknown): SecretsMiddleware => {
    if (looksLikeHandlerCall(options, next)) {
      factoryMisuse('middleware', next);
      return undefined as never;
    }
    return createMiddleware(store, registry, options);
  };

  const healthHandler = (
    method: 'health' | 'readiness',
    options: HealthOptions | ReadinessOptions | undefined,
    known: readonly string[],
  ): HealthHandler => {
    if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
      throw new SecretsConfigError(method, `options must be an object, e.g. hush.${method}({ key: 'secrets' }).`);
    }
    checkKnownKeys(options ?? {}, known, method);
    const key = options?.key ?? 'secrets';
    if (typeof key !== 'string' || key === '')
      throw new SecretsConfigError(`${method}.key`, 'key must be a non-empty string.');
    const failOnStale = method === 'readiness' || (options as HealthOptions | undefined)?.failOnStale === true;
    const readiness = method === 'readiness';
    const handler = (_req: IncomingMessage, res: ServerResponse): void => {
      const loaded = readiness ? store.loaded : undefined;
      sendHealth(res, toHealthCheckResult(store.health(), { key, failOnStale, loaded, closed: closing !== undefined }));
    };
    Object.defineProperty(handler, 'name', { value: method === 'health' ? 'secretsHealth' : 'secretsReadiness' });
    return handler;
  };

  const hush: Hush<D> = {
    store,
    get names() {
      return store.names;
    },
    get loaded() {
      return store.loaded;
    },
    middleware: middleware as Hush<D>['middleware'],
    health(options?: HealthOptions, _res?: unknown, next?: unknown) {
      if (looksLikeHandlerCall(options, next)) return factoryMisuse('health', next) as never;
      return healthHandler('health', options, HEALTH_OPTION_KEYS);
    },
    readiness(options?: ReadinessOptions, _res?: unknown, next?: unknown) {
      if (looksLikeHandlerCall(options, next)) return factoryMisuse('readiness', next) as never;
      return healthHandler('readiness', options, READINESS_OPTION_KEYS);
    },
    get: (name) => store.get(name),
    refresh: (name) => store.refresh(name),
    load: () => store.load(),
    close: () => (closing ??= store.close()),
  };
  // Methods as own, bound properties: `app.get('/readyz', hush.readiness())` and
  // `process.on('SIGTERM', hush.close)` both work without `this`.
  Object.defineProperties(hush, {
    toJSON: { value: () => ({ names: store.names, loaded: store.loaded, values: REDACTED }), enumerable: false },
    [inspect.custom]: {
      value: () => `Hush { names: [${store.names.join(', ')}], values: ${REDACTED} }`,
      enumerable: false,
    },
  });
  return Object.freeze(hush);
}
