import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { SecretsHealthIndicator } from '@hush/nestjs';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly secrets: SecretsHealthIndicator,
  ) {}

  /** 200 with per-secret status/version/age; 503 when a secret is missing or stale. */
  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.secrets.isHealthy('secrets', { failOnStale: true })]);
  }
}
