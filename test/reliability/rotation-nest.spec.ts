/**
 * Rotation under load, NestJS 12 (platform-express): the same load as the Express test against a
 * controller that reads secrets through @InjectSecret (a constructor handle and property
 * accessors), while both ids rotate every 100 ms on the emulator.
 */
import 'reflect-metadata';
import type { Server } from 'node:http';
import { inspect } from 'node:util';
import { Controller, Get, Header, Injectable, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { awsSecretsManager, defineSecrets, type Secret } from '@hush/core';
import { startEmulator, type Emulator } from '@hush/emulator';
import { InjectSecret, SecretsModule, SecretsService } from '@hush/nestjs';
import { allRenderings, destroyClients, emulatorClient, recordingLogger } from './helpers';
import { IDS, expectRotationUnderLoad, generation, getText, reading } from './load-driver';

const secrets = defineSecrets({
  dbUser: { id: IDS.db, key: 'user' },
  dbPassword: { id: IDS.db, key: 'password' },
  api: IDS.api,
});

@Injectable()
class Credentials {
  @InjectSecret('dbPassword') password!: string;
  constructor(@InjectSecret('dbUser') readonly user: Secret<string>) {}
}

@Controller()
class CheckController {
  @InjectSecret('api') api!: string;
  constructor(
    private readonly creds: Credentials,
    private readonly service: SecretsService,
  ) {}

  @Get('check')
  check(): unknown {
    return reading(this.creds.user.value, this.creds.password, this.api);
  }

  @Get('render')
  @Header('content-type', 'text/plain')
  render(): string {
    return [
      allRenderings(this),
      allRenderings(this.creds),
      allRenderings(this.creds.user),
      allRenderings(this.service),
      inspect(this, { showHidden: true, depth: 5 }),
      allRenderings(this.service.health()),
    ].join('\n');
  }
}

let emu: Emulator;
let app: INestApplication;
const log = recordingLogger();

beforeAll(async () => {
  const g = generation(1);
  emu = await startEmulator({ seed: { [IDS.db]: g.db, [IDS.api]: g.api } });
  const moduleRef = await Test.createTestingModule({
    imports: [
      SecretsModule.forRoot({
        secrets,
        source: awsSecretsManager({ client: emulatorClient(emu) }),
        refreshInterval: 20,
        refreshJitter: 0,
        logger: log,
        meterProvider: false,
      }),
    ],
    controllers: [CheckController],
    providers: [Credentials],
  }).compile();
  app = moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
});

afterAll(async () => {
  await app.close();
  destroyClients();
  await emu.close();
  expect(log.lines.join('\n')).not.toContain('CANARY');
});

it('serves 3,000 requests (32 concurrent) while secrets rotate every 100 ms: no 5xx, no torn read, never backwards', async () => {
  const service = app.get(SecretsService);
  const current = () => Number(/-(\d+)$/.exec(service.get<string>('api'))![1]);
  await expectRotationUnderLoad(emu, app.getHttpServer() as Server, current);
});

it('controllers, providers, injected handles and SecretsService print no value', async () => {
  const body = await getText(app.getHttpServer() as Server, '/render');
  expect(body.length).toBeGreaterThan(500);
  expect(body).toContain('[redacted]');
  expect(body).not.toContain('CANARY');
});
