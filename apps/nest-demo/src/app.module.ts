import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { SecretsHealthIndicator, SecretsModule } from '@hush/nestjs';
import type { Source } from '@hush/core';
import { DbService } from './db.service';
import { demoSecrets } from './demo-secrets';
import { HealthController } from './health.controller';
import { WhoamiController } from './whoami.controller';

/** Options of {@link AppModule.register}. */
export interface AppModuleOptions {
  source: Source;
  /** @default '10s' — short, so a rotation shows up quickly in the demo. */
  refreshInterval?: number | `${number}s`;
}

@Module({})
export class AppModule {
  static register(options: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        TerminusModule,
        SecretsModule.forRoot({
          secrets: demoSecrets,
          source: options.source,
          refreshInterval: options.refreshInterval ?? '10s',
          isGlobal: true,
        }),
      ],
      controllers: [WhoamiController, HealthController],
      providers: [DbService, SecretsHealthIndicator],
    };
  }
}
