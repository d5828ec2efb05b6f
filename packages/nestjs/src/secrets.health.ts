import { Injectable } from '@nestjs/common';
import { SecretStore, type SecretHealth } from '@hush/core';
import { failingNames } from '@hush/core/internal';

/*
 * `@nestjs/terminus` is an optional peer, and this file never imports it (not even its types, so
 * the published .d.ts compile with skipLibCheck: false where terminus is not installed). Terminus
 * (11, 12) accepts any `{ [key]: { status: 'up' | 'down', ... } }` from a health indicator
 * function: the shape below is what its `HealthIndicatorService.check(key).up()/.down()` build.
 */

/** Options of {@link SecretsHealthIndicator.isHealthy}. */
export interface SecretsHealthOptions {
  /**
   * Also report `down` when a secret is stale (older than `maxStaleness` because refreshes keep
   * failing). Without it, stale secrets are reported but the indicator stays `up`.
   * @default false
   */
  failOnStale?: boolean;
}

/** What the indicator adds under its key: per-secret status, version (8 chars), age. Never a value. */
export interface SecretsHealthData extends Record<string, unknown> {
  /** `up`, `degraded` or `down`, as the store sees it. */
  store: 'up' | 'degraded' | 'down';
  /** The store's `name` option, when it has one. */
  name?: string;
  secrets: Readonly<Record<string, SecretHealth>>;
  /** Names that made the indicator `down`. */
  failing?: string[];
}

/**
 * What {@link SecretsHealthIndicator.isHealthy} returns: terminus' `HealthIndicatorResult<Key>` shape
 * (assignable to it), typed here so `@hush/nestjs` needs no terminus types.
 */
export type SecretsHealthResult<Key extends string = 'secrets'> = {
  [K in Key]: SecretsHealthData & { status: 'up' | 'down' };
};

/**
 * A terminus health indicator for the app's secrets: `up` with per-secret status, version and
 * age; `down` (so `HealthCheckService` answers 503) when a required secret is missing or — with
 * `failOnStale` — stale. `SecretsModule` provides and exports it, like `TerminusModule` does its own
 * indicators: inject it next to `HealthCheckService` wherever the module's exports are visible
 * (`isGlobal`, or a module importing `SecretsModule`). Listing it in `providers` works too.
 *
 * @example
 * @Controller('health')
 * class HealthController {
 *   constructor(private readonly health: HealthCheckService, private readonly secrets: SecretsHealthIndicator) {}
 *   @Get() @HealthCheck()
 *   check() {
 *     return this.health.check([() => this.secrets.isHealthy('secrets', { failOnStale: true })]);
 *   }
 * }
 */
@Injectable()
export class SecretsHealthIndicator {
  constructor(private readonly store: SecretStore) {}

  /**
   * @param key the key of this indicator in the health payload. @default 'secrets'
   */
  isHealthy<const Key extends string = 'secrets'>(
    key: Key = 'secrets' as Key,
    options: SecretsHealthOptions = {},
  ): SecretsHealthResult<Key> {
    const report = this.store.health();
    const failing = failingNames(report, options);
    const data: SecretsHealthData = {
      store: report.status,
      ...(report.name === undefined ? {} : { name: report.name }),
      secrets: report.secrets,
    };
    const detail =
      failing.length > 0 ? { ...data, failing, status: 'down' as const } : { ...data, status: 'up' as const };
    return { [key]: detail } as SecretsHealthResult<Key>;
  }
}
