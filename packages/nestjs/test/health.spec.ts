import 'reflect-metadata';
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { startEmulator, type Emulator } from '@hush/emulator';
import { SecretsHealthIndicator, SecretsModule, defineSecrets } from '@hush/nestjs';
import { captureAllLogs, emulatorSource, pollUntil } from './helpers';

const secrets = defineSecrets({
  db: { id: 'health/db', format: 'json' },
  apiKey: 'health/api-key',
  legacy: { id: 'health/legacy', optional: true },
});

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly secretsHealth: SecretsHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  strict() {
    return this.health.check([() => this.secretsHealth.isHealthy('secrets', { failOnStale: true })]);
  }

  @Get('lenient')
  @HealthCheck()
  lenient() {
    return this.health.check([() => this.secretsHealth.isHealthy()]);
  }
}

let emu: Emulator;
let app: INestApplication;

beforeAll(async () => {
  emu = await startEmulator({
    seed: {
      'health/db': JSON.stringify({ username: 'u', password: 'pw-CANARY-health' }),
      'health/api-key': 'key-CANARY-health',
    },
  });
  @Module({
    imports: [
      TerminusModule,
      SecretsModule.forRoot({
        secrets,
        source: emulatorSource(emu),
        refreshInterval: 100,
        maxStaleness: 400,
        backoff: { initial: 50, max: 100 },
        isGlobal: true,
      }),
    ],
    controllers: [HealthController],
    providers: [SecretsHealthIndicator],
  })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .setLogger(logs)
    .compile();
  app = moduleRef.createNestApplication();
  await app.init();
});

afterAll(async () => {
  await app.close();
  await emu.close();
});
// Declared after the teardown above so the capture (and its canary check) sees app.close() too.
const logs = captureAllLogs();

async function status(path: string): Promise<{ status: number; body: any; text: string }> {
  const res = await request(app.getHttpServer()).get(path);
  return { status: res.status, body: res.body, text: res.text };
}

describe('SecretsHealthIndicator', () => {
  it('is up with per-secret status, version and age, and never a value', async () => {
    const res = await status('/health');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.info.secrets).toEqual({
      status: 'up',
      store: 'up',
      secrets: {
        db: { status: 'fresh', version: expect.stringMatching(/^[\w-]{8}$/), ageSeconds: expect.any(Number) },
        apiKey: { status: 'fresh', version: expect.stringMatching(/^[\w-]{8}$/), ageSeconds: expect.any(Number) },
        legacy: expect.objectContaining({ status: 'missing', optional: true }),
      },
    });
    expect(res.text).not.toContain('CANARY');
  });

  it('turns 503 when the source fails past maxStaleness with failOnStale, and 200 again on recovery', async () => {
    await emu.pause();
    let last = await pollUntil(
      () => status('/health'),
      (r) => r.status === 503,
      4_000,
    );
    expect(last.status).toBe(503);
    expect(last.body.status).toBe('error');
    expect(last.body.error.secrets.status).toBe('down');
    expect(last.body.error.secrets.failing.sort()).toEqual(['apiKey', 'db']);
    expect(last.body.error.secrets.secrets.db).toEqual(
      expect.objectContaining({ status: 'stale', error: expect.any(String) }),
    );
    expect(last.text).not.toContain('CANARY');

    // Without failOnStale, stale secrets are reported but the app stays in rotation.
    const lenient = await status('/health/lenient');
    expect(lenient.status).toBe(200);
    expect(lenient.body.info.secrets.secrets.db.status).toBe('stale');

    await emu.resume();
    last = await pollUntil(
      () => status('/health'),
      (r) => r.status === 200,
      4_000,
    );
    expect(last.status).toBe(200);
    expect(last.body.info.secrets.secrets.db.status).toBe('fresh');
  });
});
