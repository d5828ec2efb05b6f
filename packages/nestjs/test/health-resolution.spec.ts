/**
 * SecretsHealthIndicator resolves the way terminus' own indicators do: SecretsModule provides and
 * exports it, so a controller injecting it next to HealthCheckService works without listing it in
 * `providers`, whether SecretsModule is global or imported. Listing it explicitly keeps working.
 */
import 'reflect-metadata';
import { Controller, Get, Module, type INestApplication, type ModuleMetadata } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { SecretsHealthIndicator, SecretsModule, defineSecrets, memorySource } from '@hush/nestjs';
import { captureAllLogs } from './helpers';

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly secrets: SecretsHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.secrets.isHealthy('secrets')]);
  }
}

const logs = captureAllLogs();

async function appWith(health: ModuleMetadata, root: ModuleMetadata = {}): Promise<INestApplication> {
  @Module(health)
  class HealthModule {}
  @Module({ ...root, imports: [...(root.imports ?? []), HealthModule] })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .setLogger(logs)
    .compile();
  const app = moduleRef.createNestApplication();
  await app.init();
  return app;
}

const values = { apiKey: 'key-CANARY-resolution' };

describe.each<[string, () => [ModuleMetadata, ModuleMetadata]]>([
  [
    'global SecretsModule, not listed in providers',
    () => [
      { imports: [TerminusModule], controllers: [HealthController] },
      { imports: [SecretsModule.forTesting(values)] },
    ],
  ],
  [
    'SecretsModule imported next to TerminusModule, not listed in providers',
    () => [
      {
        imports: [TerminusModule, SecretsModule.forTesting(values, { isGlobal: false })],
        controllers: [HealthController],
      },
      {},
    ],
  ],
  [
    'global SecretsModule, listed in providers',
    () => [
      { imports: [TerminusModule], controllers: [HealthController], providers: [SecretsHealthIndicator] },
      { imports: [SecretsModule.forTesting(values)] },
    ],
  ],
])('%s', (_name, metadata) => {
  let app: INestApplication;
  beforeAll(async () => {
    app = await appWith(...metadata());
  });
  afterAll(() => app.close());

  it('answers the terminus health check with the secrets indicator', async () => {
    const res = await request(app.getHttpServer()).get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'ok',
      info: { secrets: expect.objectContaining({ status: 'up', store: 'up' }) },
      error: {},
      details: { secrets: expect.objectContaining({ status: 'up' }) },
    });
    expect(res.body.details.secrets.secrets.apiKey.status).toBe('fresh');
    expect(res.text).not.toContain('CANARY');
  });
});

it('reports an optional missing secret and stays up (200) through terminus', async () => {
  const app = await appWith(
    { imports: [TerminusModule], controllers: [HealthController] },
    {
      imports: [
        SecretsModule.forRoot({
          secrets: defineSecrets({ apiKey: 'r/api-key', extra: { id: 'r/extra', optional: true } }),
          source: memorySource({ 'r/api-key': 'key-CANARY-resolution' }),
          refreshInterval: false,
          isGlobal: true,
        }),
      ],
    },
  );
  try {
    const ok = await request(app.getHttpServer()).get('/health');
    expect(ok.status).toBe(200);
    expect(ok.body.details.secrets.secrets.extra.status).toBe('missing');
  } finally {
    await app.close();
  }
});
