import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { SecretsHealthIndicator, SecretsModule } from '@hush/nestjs';
import type { MeterProviderLike, Source } from '@hush/core';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { DbService } from './db.service';
import { demoSecrets } from './demo-secrets';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';
import { WhoamiController } from './whoami.controller';

/** Options of {@link AppModule.register}. */
export interface AppModuleOptions {
  source: Source;
  /** @default '10s' — short, so a rotation shows up quickly in the demo. */
  refreshInterval?: number | `${number}s`;
  /**
   * Serve `GET /metrics` from `exporter`, a reader of `meterProvider`, on which Hush records its metrics.
   * Without it, Hush uses the global OpenTelemetry MeterProvider (a no-op unless one is registered).
   */
  metrics?: { exporter: PrometheusExporter; meterProvider: MeterProviderLike };
}

@Module({})
export class AppModule {
  static register(options: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        TerminusModule,
        SecretsModule.forRoot({
          // Its log lines ([Secrets:nest-demo]), metrics and health say which app they are about.
          name: 'nest-demo',
          secrets: demoSecrets,
          source: options.source,
          refreshInterval: options.refreshInterval ?? '10s',
          ...(options.metrics ? { meterProvider: options.metrics.meterProvider } : {}),
          isGlobal: true,
        }),
      ],
      controllers: [WhoamiController, HealthController, ...(options.metrics ? [MetricsController] : [])],
      providers: [
        DbService,
        SecretsHealthIndicator,
        ...(options.metrics ? [{ provide: PrometheusExporter, useValue: options.metrics.exporter }] : []),
      ],
    };
  }
}
