import { inspect } from 'node:util';
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import {
  REDACTED,
  SecretStore,
  SecretsConfigError,
  type SecretDeclarations,
  type SecretStoreOptions,
} from '@hush/core';
import { SECRET_STORE_OPTION_KEYS, checkKnownKeys, keysOf, suggest } from '@hush/core/internal';
import type { HushSecrets } from './index';
import { readOnlyError, registeredTwiceError } from './errors';
import { buildView, viewBase, type ViewSpec } from './secrets-view';
import {
  HEALTH_OPTION_KEYS,
  READINESS_OPTION_KEYS,
  sendHealth,
  toHealthCheckResult,
  type HealthHandler,
  type HealthOptions,
  type ReadinessOptions,
} from './health';

/** The names `request.secrets` is typed with (any string until `HushSecrets` is augmented). */
export type SecretNameOf<R> = [keyof R] extends [never] ? string : Extract<keyof R, string>;

/** Options shared by the two ways of giving the plugin its store. */
export interface HushRoutesOptions {
  /**
   * Mounts a liveness route here (`GET`): 200 with terminus's `{ status, info, error, details }`
   * while every required secret has a value, 503 when one is missing or once the app is closing.
   * The same JSON and status codes as `@hush/express`'s `hush.health()`.
   * @example '/healthz'
   */
  healthPath?: string;
  /** Options of the `healthPath` route (`failOnStale`, `key`). */
  healthOptions?: HealthOptions;
  /**
   * Mounts a readiness route here (`GET`): 503 until loaded, when a required secret is missing or
   * stale past `maxStaleness`, and once the app is closing; 200 otherwise.
   * @example '/readyz'
   */
  readinessPath?: string;
  /** Options of the `readinessPath` route (`key`). */
  readinessOptions?: ReadinessOptions;
}

/**
 * `app.register(hushSecrets, { secrets, source, ...storeOptions })`: the plugin creates the store,
 * loads it in `onReady` and closes it in `onClose`.
 */
export interface HushCreateOptions<D extends SecretDeclarations = SecretDeclarations>
  extends SecretStoreOptions, HushRoutesOptions {
  /** The declarations, usually from `defineSecrets({...})`. */
  secrets: D;
  store?: never;
  only?: never;
}

/**
 * `app.register(hushSecrets, { store })`: share a store you created (and close yourself). The
 * plugin loads it in `onReady` if it is not loaded yet, and never closes it.
 */
export interface HushStoreOptions extends HushRoutesOptions {
  /** Any store (its declarations' types are not needed here: `app.secrets` is typed from `HushSecrets`). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- SecretStore<D> is invariant in D
  store: SecretStore<any>;
  secrets?: never;
  only?: never;
}

/**
 * `app.register(hushSecrets, { only })` inside a route plugin (an encapsulated context) of an app
 * that registered the plugin with its store: that plugin's routes, hooks and `app.secrets` see
 * only these names; reading another declared one throws `SecretNotVisibleError`.
 */
export interface HushScopeOptions<K extends string = SecretNameOf<HushSecrets>> {
  /** Every name must be declared (and visible in the enclosing scope). */
  only: readonly K[];
  secrets?: never;
  store?: never;
}

/** The options of {@link hushSecrets}: one of the three forms. */
export type HushSecretsOptions<D extends SecretDeclarations = SecretDeclarations> =
  HushCreateOptions<D> | HushStoreOptions | HushScopeOptions;

/** `app.hush`: the store behind `app.secrets`, health handlers, refresh. */
export interface HushFastify {
  /** The core store: `get`, `handle`, `subscribe`, `onEvent`, `health`, `stats`. */
  readonly store: SecretStore;
  /** Declared names, in declaration order. */
  readonly names: readonly string[];
  /** Whether every required secret has been loaded. */
  readonly loaded: boolean;
  /**
   * A liveness route handler (what `healthPath` mounts), to mount yourself.
   * @example app.get('/healthz', app.hush.health({ failOnStale: true }))
   */
  health(options?: HealthOptions): HealthHandler;
  /**
   * A readiness route handler (what `readinessPath` mounts), to mount yourself.
   * @example app.get('/readyz', app.hush.readiness())
   */
  readiness(options?: ReadinessOptions): HealthHandler;
  /** Forces a refresh of one or every secret. Same as `app.hush.store.refresh(name)`. */
  refresh(name?: SecretNameOf<HushSecrets>): Promise<void>;
}

// Register options Fastify itself reads; they reach the plugin too.
const FASTIFY_KEYS = ['prefix', 'logLevel', 'logSerializers'];
const ROUTE_KEYS = keysOf<HushRoutesOptions>({
  healthPath: true,
  healthOptions: true,
  readinessPath: true,
  readinessOptions: true,
});
const CREATE_KEYS: readonly string[] = ['secrets', ...ROUTE_KEYS, ...SECRET_STORE_OPTION_KEYS, ...FASTIFY_KEYS];
const STORE_KEYS: readonly string[] = ['store', ...ROUTE_KEYS, ...FASTIFY_KEYS];
const SCOPE_KEYS: readonly string[] = ['only', ...FASTIFY_KEYS];

/** The options as received (any of the three forms, unchecked). */
interface LooseOptions extends HushRoutesOptions {
  secrets?: SecretDeclarations;
  store?: unknown;
  only?: unknown;
  [key: string]: unknown;
}

/** Where a request keeps the view (one generation, one scope) it was pinned to. */
const kView = Symbol('hush.view');
type Pinned = { [kView]: object | null };

/** A set of visible names and the views of it, one per generation. */
class Scope {
  readonly #views = new WeakMap<object, object>();
  readonly #base: object;
  constructor(
    readonly spec: ViewSpec,
    readonly registration: Registration,
  ) {
    this.#base = viewBase(spec);
  }

  viewOf(snapshot: Readonly<Record<string, unknown>>): object {
    let view = this.#views.get(snapshot);
    if (view === undefined) {
      view = buildView(snapshot, this.spec, this.#base);
      this.#views.set(snapshot, view);
      this.registration.snapshotOf.set(view, snapshot);
    }
    return view;
  }
}

/** One registration with a store (one per app). */
interface Registration {
  readonly store: SecretStore;
  readonly root: Scope;
  /** Every view handed out → the snapshot (generation) it shows. */
  readonly snapshotOf: WeakMap<object, Readonly<Record<string, unknown>>>;
  /** The root view of the latest snapshot. */
  current(): object;
}

/** Fastify instance (the registering context) → what was registered there. */
const registrations = new WeakMap<object, Registration>();
const scopes = new WeakMap<object, Scope>();

/** The nearest registration or scope of `instance` or its ancestors (encapsulated contexts inherit from their parent). */
function nearest<T>(map: WeakMap<object, T>, instance: object): T | undefined {
  for (let i: object | null = instance; i !== null; i = Object.getPrototypeOf(i) as object | null) {
    const found = map.get(i);
    if (found !== undefined) return found;
  }
  return undefined;
}

function scopeOf(instance: object): Scope | undefined {
  return nearest(scopes, instance) ?? nearest(registrations, instance)?.root;
}

function checkObject(value: unknown, option: string, example: string): void {
  if (value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) {
    throw new SecretsConfigError(option, `options must be an object, e.g. ${example}.`);
  }
}

/**
 * The Fastify plugin (wrapped with `fastify-plugin`, so its decorations are visible app-wide).
 * All validation and decoration happen at registration; per request it costs one `onRequest` hook
 * that pins the current generation (an identity check and a field write: no I/O, no await).
 */
export function hushSecretsPlugin(
  instance: FastifyInstance,
  options: HushSecretsOptions,
  done: (error?: Error) => void,
): void {
  try {
    checkObject(options, 'hushSecrets', 'app.register(hushSecrets, { secrets, source })');
    const opts = (options ?? {}) as LooseOptions;
    if (opts.only !== undefined) registerScope(instance, opts);
    else registerStore(instance, opts);
    done();
  } catch (error) {
    done(error as Error);
  }
}

function registerStore(instance: FastifyInstance, opts: LooseOptions): void {
  if (nearest(registrations, instance) !== undefined) throw registeredTwiceError();
  for (const [option, path] of [
    ['healthPath', opts.healthPath],
    ['readinessPath', opts.readinessPath],
  ] as const) {
    if (path !== undefined && (typeof path !== 'string' || !path.startsWith('/'))) {
      throw new SecretsConfigError(`hushSecrets.${option}`, `expected a path starting with '/', e.g. '/healthz'.`);
    }
  }
  for (const [option, known] of [
    ['healthOptions', HEALTH_OPTION_KEYS],
    ['readinessOptions', READINESS_OPTION_KEYS],
  ] as const) {
    checkObject(opts[option], `hushSecrets.${option}`, `{ ${option}: { key: 'secrets' } }`);
    checkKnownKeys(opts[option] ?? {}, known, `hushSecrets.${option}`);
  }
  let store: SecretStore;
  let owned: boolean;
  if (opts.store !== undefined) {
    checkKnownKeys(opts, STORE_KEYS, 'hushSecrets');
    if (!(opts.store instanceof SecretStore)) {
      throw new SecretsConfigError('hushSecrets.store', 'store must be a SecretStore from @hush/core.');
    }
    if (opts.secrets !== undefined) {
      throw new SecretsConfigError('hushSecrets', 'give either `store` or `secrets` (with a source), not both.');
    }
    store = opts.store;
    owned = false;
  } else {
    checkKnownKeys(opts, CREATE_KEYS, 'hushSecrets');
    const { secrets, healthPath: _h, healthOptions: _ho, readinessPath: _r, readinessOptions: _ro, ...rest } = opts;
    if (secrets === undefined) {
      throw new SecretsConfigError(
        'hushSecrets.secrets',
        'declare your secrets, e.g. app.register(hushSecrets, { secrets: defineSecrets({ db: "prod/app/db" }), source }), or pass { store }.',
      );
    }
    for (const key of FASTIFY_KEYS) delete (rest as Record<string, unknown>)[key];
    store = new SecretStore(secrets, rest as unknown as SecretStoreOptions);
    owned = true;
  }

  const declared = store.names as readonly string[];
  const snapshotOf = new WeakMap<object, Readonly<Record<string, unknown>>>();
  let lastSnapshot: object | undefined;
  let lastView: object | undefined;
  const registration: Registration = {
    store,
    snapshotOf,
    root: undefined as unknown as Scope,
    current() {
      const snapshot = store.snapshot() as Readonly<Record<string, unknown>>;
      if (snapshot !== lastSnapshot) {
        lastView = registration.root.viewOf(snapshot);
        lastSnapshot = snapshot;
      }
      return lastView!;
    },
  };
  (registration as { root: Scope }).root = new Scope(
    { declared, visible: declared, restricted: false, optional: new Set(store.optionalNames) },
    registration,
  );
  registrations.set(instance, registration);

  let closing = false;
  const healthHandler = (
    method: 'health' | 'readiness',
    options: HealthOptions | ReadinessOptions | undefined,
  ): HealthHandler => {
    checkObject(options, method, `app.hush.${method}({ key: 'secrets' })`);
    checkKnownKeys(options ?? {}, method === 'health' ? HEALTH_OPTION_KEYS : READINESS_OPTION_KEYS, method);
    const key = options?.key ?? 'secrets';
    if (typeof key !== 'string' || key === '')
      throw new SecretsConfigError(`${method}.key`, 'key must be a non-empty string.');
    const readiness = method === 'readiness';
    const failOnStale = readiness || (options as HealthOptions | undefined)?.failOnStale === true;
    const handler: HealthHandler = (_request, reply) =>
      sendHealth(
        reply,
        toHealthCheckResult(store.health(), {
          key,
          failOnStale,
          loaded: readiness ? store.loaded : undefined,
          closed: closing,
        }),
      );
    Object.defineProperty(handler, 'name', { value: readiness ? 'secretsReadiness' : 'secretsHealth' });
    return handler;
  };

  const hush: HushFastify = {
    store,
    get names() {
      return store.names as readonly string[];
    },
    get loaded() {
      return store.loaded;
    },
    health: (options) => healthHandler('health', options),
    readiness: (options) => healthHandler('readiness', options),
    refresh: (name) => store.refresh(name),
  };
  Object.defineProperties(hush, {
    toJSON: { value: () => ({ names: store.names, loaded: store.loaded, values: REDACTED }), enumerable: false },
    [inspect.custom]: {
      value: () => `HushFastify { names: [${store.names.join(', ')}], values: ${REDACTED} }`,
      enumerable: false,
    },
  });
  Object.freeze(hush);

  // Built (and their options checked) at registration.
  const health = healthHandler('health', opts.healthOptions);
  const readiness = healthHandler('readiness', opts.readinessOptions);
  instance.decorate('hush', hush);
  instance.decorate('secrets', {
    getter(this: FastifyInstance) {
      return scopeOf(this)!.viewOf(store.snapshot() as Readonly<Record<string, unknown>>);
    },
    setter() {
      throw readOnlyError();
    },
  });
  instance.decorateRequest(kView, null);
  instance.decorateRequest('secrets', {
    getter(this: FastifyRequest) {
      // Pinned by the onRequest hook; a read before it (an earlier onRequest hook) pins now.
      const pinned = this as unknown as Pinned;
      return pinned[kView] ?? (pinned[kView] = registration.current());
    },
    setter() {
      throw readOnlyError();
    },
  });
  const pin: onRequestHookHandler = function pinSecrets(request, _reply, next) {
    (request as unknown as Pinned)[kView] = registration.current();
    next();
  };
  instance.addHook('onRequest', pin);

  if (opts.healthPath !== undefined) instance.get(opts.healthPath, health);
  if (opts.readinessPath !== undefined) instance.get(opts.readinessPath, readiness);

  instance.addHook('onReady', async () => {
    try {
      await store.load();
    } catch (error) {
      // The app will not start: stop the store's timers so the process can exit.
      if (owned) await store.close();
      throw error;
    }
  });
  instance.addHook('preClose', (next) => {
    closing = true;
    next();
  });
  instance.addHook('onClose', async () => {
    closing = true;
    if (owned) await store.close();
  });
}

function registerScope(instance: FastifyInstance, opts: LooseOptions): void {
  checkKnownKeys(opts, SCOPE_KEYS, 'hushSecrets');
  const registration = nearest(registrations, instance);
  if (registration === undefined) {
    throw new SecretsConfigError(
      'hushSecrets.only',
      '`only` narrows the secrets of a route plugin, but no store is registered above it: first ' +
        'app.register(hushSecrets, { secrets, source }) on the app, then register(hushSecrets, { only }) inside the route plugin.',
    );
  }
  if (registrations.get(instance) === registration) {
    throw new SecretsConfigError(
      'hushSecrets.only',
      '`only` narrows an encapsulated context, but this is the context the store was registered in: ' +
        "use it inside a route plugin, app.register(async (admin) => { await admin.register(hushSecrets, { only: ['name'] }); … }).",
    );
  }
  if (scopes.has(instance)) {
    throw new SecretsConfigError(
      'hushSecrets.only',
      'this route plugin already has an `only` scope; give all its names in one register(hushSecrets, { only }).',
    );
  }
  const declared = registration.store.names as readonly string[];
  const only = opts.only as unknown;
  if (!Array.isArray(only) || only.length === 0 || only.some((n) => typeof n !== 'string')) {
    throw new SecretsConfigError(
      'hushSecrets.only',
      `expected a non-empty array of declared secret names, e.g. { only: ['${declared[0]}'] }.`,
    );
  }
  const enclosing = scopeOf(instance)!;
  for (const name of only as string[]) {
    if (!declared.includes(name)) {
      const hint = suggest(name, declared);
      throw new SecretsConfigError(
        'hushSecrets.only',
        `"${name}" is not a declared secret.${hint ? ` Did you mean '${hint}'?` : ''} ` +
          `Declared secrets: ${declared.map((n) => `'${n}'`).join(', ')}.`,
      );
    }
    if (!enclosing.spec.visible.includes(name)) {
      throw new SecretsConfigError(
        'hushSecrets.only',
        `"${name}" is hidden from the enclosing plugin (its only: [${enclosing.spec.visible.map((n) => `'${n}'`).join(', ')}]); a nested plugin cannot widen it.`,
      );
    }
  }
  const scope = new Scope(
    {
      declared,
      visible: declared.filter((n) => (only as string[]).includes(n)),
      restricted: true,
      optional: registration.root.spec.optional,
    },
    registration,
  );
  scopes.set(instance, scope);
  // Runs after the app's pinning hook (parent hooks first): same generation, narrower view.
  const narrow: onRequestHookHandler = function narrowSecrets(request, _reply, next) {
    const pinned = request as unknown as Pinned;
    pinned[kView] = scope.viewOf(registration.snapshotOf.get(pinned[kView] ?? registration.current())!);
    next();
  };
  instance.addHook('onRequest', narrow);
}
