import { Inject, Injectable } from '@nestjs/common';
import { SecretStore, type SecretHealth } from '@hush/core';
import { failingNames } from '@hush/core/internal';
import type { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';

/**
 * `@nestjs/terminus` is an optional peer: this file resolves its `HealthIndicatorService` token at
 * load time when it is installed, so importing `@hush/nestjs` never requires terminus.
 */
function terminusToken(): unknown {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('@nestjs/terminus') as typeof import('@nestjs/terminus')).HealthIndicatorService;
  } catch {
    return Symbol('HealthIndicatorService (install @nestjs/terminus to use SecretsHealthIndicator)');
  }
}

const HEALTH_INDICATOR_SERVICE = terminusToken() as typeof HealthIndicatorService;

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
  secrets: Readonly<Record<string, SecretHealth>>;
  /** Names that made the indicator `down`. */
  failing?: string[];
}

/**
 * A terminus health indicator for the app's secrets: `up` with per-secret status, version and
 * age; `down` (so `HealthCheckService` answers 503) when a required secret is missing or — with
 * `failOnStale` — stale. Add it to the providers of the module that imports `TerminusModule`.
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
  constructor(
    private readonly store: SecretStore,
    @Inject(HEALTH_INDICATOR_SERVICE) private readonly indicators: HealthIndicatorService,
  ) {}

  /**
   * @param key the key of this indicator in the health payload. @default 'secrets'
   */
  isHealthy<const Key extends string = 'secrets'>(
    key: Key = 'secrets' as Key,
    options: SecretsHealthOptions = {},
  ): HealthIndicatorResult<Key> {
    const session = this.indicators.check(key);
    const report = this.store.health();
    const failing = failingNames(report, options);
    const data: SecretsHealthData = { store: report.status, secrets: report.secrets };
    if (failing.length > 0) return session.down({ ...data, failing });
    return session.up(data);
  }
}
