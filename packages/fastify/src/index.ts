import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { Duration } from '@hush/core';
import {
  hushSecretsPlugin,
  type HushCreateOptions,
  type HushFastify,
  type HushRoutesOptions,
  type HushScopeOptions,
  type HushSecretsOptions,
  type HushStoreOptions,
  type SecretNameOf,
} from './plugin';
import { SecretNotVisibleError as NotVisible } from './errors';
import {
  toHealthCheckResult as toResult,
  type HealthCheckResult,
  type HealthCheckStatus,
  type HealthHandler,
  type HealthIndicatorStatus,
  type HealthOptions,
  type ReadinessOptions,
  type SecretsIndicator,
} from './health';

/**
 * The Fastify plugin: `app.register(hushSecrets, { secrets, source, ...storeOptions })` (or
 * `{ store }`), then `app.secrets` and `request.secrets` app-wide. Loads in `onReady` (so
 * `await app.ready()` / `app.listen()` reject with the `SecretsLoadError` naming every failing
 * secret) and closes the store in `onClose`. Inside a route plugin,
 * `register(hushSecrets, { only: [...] })` narrows what that plugin sees.
 *
 * Named and default export; `require('@hush/fastify')` is the plugin itself, as for Fastify's own plugins.
 *
 * @example
 * import Fastify from 'fastify';
 * import { hushSecrets } from '@hush/fastify';
 * const app = Fastify({ logger: true });
 * await app.register(hushSecrets, { secrets, source: awsSecretsManager(), healthPath: '/healthz', readinessPath: '/readyz' });
 * app.get('/', (request) => ({ user: request.secrets.db.username }));
 * await app.listen({ port: 3000 });
 */
function hushSecrets(instance: FastifyInstance, options: HushSecretsOptions, done: (error?: Error) => void): void {
  hushSecretsPlugin(instance, options, done);
}
fp(hushSecrets, { fastify: '5.x', name: '@hush/fastify' });

// `export =` with a merged namespace: CommonJS `require` and ESM default imports both get the
// plugin, named imports get everything below, and applications can augment `HushSecrets`.
// eslint-disable-next-line @typescript-eslint/no-namespace -- the shape of a Fastify plugin module (see above)
declare namespace hushSecrets {
  export { hushSecrets as default, hushSecrets };
  /**
   * The registry `app.secrets` and `request.secrets` are typed from. Empty until you augment it
   * with your declarations (declaration merging, as `@hush/express` types `req.secrets`).
   *
   * @example
   * const secrets = defineSecrets({ db: { id: 'prod/app/db', format: 'json', schema: Db }, apiKey: 'prod/app/api-key' });
   * declare module '@hush/fastify' {
   *   interface HushSecrets extends InferSecrets<typeof secrets> {}
   * }
   * app.get('/', (request) => request.secrets.db.username); // typed, no cast
   */
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- empty on purpose: applications augment it
  export interface HushSecrets {}
  export {
    NotVisible as SecretNotVisibleError,
    toResult as toHealthCheckResult,
    type HushCreateOptions,
    type HushFastify,
    type HushRoutesOptions,
    type HushScopeOptions,
    type HushSecretsOptions,
    type HushStoreOptions,
    type SecretNameOf,
    type HealthCheckResult,
    type HealthCheckStatus,
    type HealthHandler,
    type HealthIndicatorStatus,
    type HealthOptions,
    type ReadinessOptions,
    type SecretsIndicator,
    // For options such as `refreshInterval: (process.env.REFRESH ?? '5m') as Duration` (checked at startup).
    type Duration,
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * The current secrets (a new view per generation: read `app.secrets.x` where you need it),
     * typed from `HushSecrets`, narrowed by `only` inside a scoped route plugin. Read-only,
     * prints `[redacted]`.
     */
    readonly secrets: hushSecrets.HushSecrets;
    /** The store behind the secrets, health handlers and refresh (set by `hushSecrets`). */
    readonly hush: HushFastify;
  }
  interface FastifyRequest {
    /**
     * The secrets this request may read, from one generation of values, pinned in `onRequest`
     * and kept until the response even if a rotation lands meanwhile. Read-only, prints `[redacted]`.
     */
    readonly secrets: hushSecrets.HushSecrets;
  }
}

// Plain identifiers, so the lexer below can read every name (it stops at a member expression).
const SecretNotVisibleError = NotVisible;
const toHealthCheckResult = toResult;
Object.assign(hushSecrets, { hushSecrets, SecretNotVisibleError, toHealthCheckResult });
// The names Node's ESM loader sees (cjs-module-lexer reads this assignment, which never runs).
// eslint-disable-next-line @typescript-eslint/no-unused-expressions, no-constant-binary-expression -- read by the lexer, not run
0 && (module.exports = { default: hushSecrets, hushSecrets, SecretNotVisibleError, toHealthCheckResult });
export = hushSecrets;
