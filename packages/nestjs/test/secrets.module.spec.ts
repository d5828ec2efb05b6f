import { inspect } from 'node:util';
import 'reflect-metadata';
import { Controller, Get, Injectable, Module, type INestApplication, type ModuleMetadata } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { startEmulator, type Emulator } from '@hush/emulator';
import {
  InjectSecret,
  OnSecretRotation,
  Secret,
  SecretStore,
  SecretsLoadError,
  SecretsModule,
  SecretsService,
  UndeclaredSecretError,
  defineSecrets,
  getSecretToken,
  type SecretsModuleFactoryOptions,
} from '@hush/nestjs';
import { SecretsStoreClosedError } from '@hush/core';
import { captureAllLogs, emulatorSource, sleep } from './helpers';

interface DbCredentials {
  username: string;
  password: string;
}

const DB = { username: 'app_user', password: 'pw-CANARY-module-1' };
const API_KEY = 'key-CANARY-module-1';

const secrets = defineSecrets({
  db: { id: 'app/db', format: 'json' },
  dbUser: { id: 'app/db', key: 'username' },
  apiKey: 'app/api-key',
});

let emu: Emulator;
const logs = captureAllLogs();

@Injectable()
class DbService {
  @InjectSecret('apiKey') apiKey!: string;
  @InjectSecret('dbUser') user!: string;
  /** Read in the constructor: proves every secret is loaded before dependents are constructed. */
  readonly userAtConstruction: string;

  constructor(
    @InjectSecret('db') readonly db: Secret<DbCredentials>,
    readonly store: SecretStore,
    readonly service: SecretsService,
  ) {
    this.userAtConstruction = db.value.username;
  }
}

@Controller()
class WhoamiController {
  constructor(private readonly dbService: DbService) {}
  @Get('whoami')
  whoami() {
    return {
      user: this.dbService.db.value.username,
      version: this.dbService.db.version,
      apiKeyLength: this.dbService.apiKey.length,
    };
  }
}

/** Same shape as DbService, never registered: shows what the compiler emits for a decorated field. */
class PlainFields {
  @InjectSecret('apiKey') apiKey!: string;
}

async function boot(metadata: ModuleMetadata): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule(metadata).setLogger(logs).compile();
  const app = moduleRef.createNestApplication();
  await app.init();
  return app;
}

beforeAll(async () => {
  emu = await startEmulator({ seed: { 'app/db': JSON.stringify(DB), 'app/api-key': API_KEY } });
});
afterAll(async () => {
  await emu.close();
});

describe('SecretsModule', () => {
  describe('forRoot', () => {
    let app: INestApplication;
    beforeAll(async () => {
      emu.resetCalls();
      app = await boot({
        imports: [SecretsModule.forRoot({ secrets, source: emulatorSource(emu), refreshInterval: false })],
        providers: [DbService],
        controllers: [WhoamiController],
      });
    });
    afterAll(() => app.close());

    it('loads every declared secret in one batched call before constructing dependents', () => {
      const service = app.get(DbService);
      expect(service.userAtConstruction).toBe('app_user');
      expect(service.db.value).toEqual(DB);
      expect(emu.calls().BatchGetSecretValue).toBe(1);
      expect(emu.calls().GetSecretValue).toBe(0);
    });

    it('provides the core SecretStore under its class token, for app.get and constructor injection', () => {
      const store = app.get(SecretStore);
      expect(store).toBeInstanceOf(SecretStore);
      expect(app.get(DbService).store).toBe(store);
      expect(store.loaded).toBe(true);
      expect(store.names).toEqual(['db', 'dbUser', 'apiKey']);
      expect(app.get(SecretsService).get('apiKey')).toBe(API_KEY);
    });

    it('provides each name under getSecretToken(name) as the live handle', () => {
      const handle = app.get<Secret<DbCredentials>>(getSecretToken('db'));
      expect(handle).toBe(app.get(SecretStore).handle('db'));
      expect(getSecretToken('db')).toBe('SECRETS:SECRET(db)');
      expect(String(handle)).toBe('[redacted]');
    });

    it('injects properties as read-only accessors that no print-out calls, even with [[Define]] class fields', () => {
      // The compiler under test emits real class fields: a plain instance owns an `apiKey` data property.
      const plain = new PlainFields();
      expect(Object.getOwnPropertyDescriptor(plain, 'apiKey')).toEqual(
        expect.objectContaining({ value: undefined, writable: true }),
      );

      const service = app.get(DbService);
      // No own property: printing the instance, with any inspect options, never calls the accessor.
      expect(Object.getOwnPropertyDescriptor(service, 'apiKey')).toBeUndefined();
      expect(service).toBeInstanceOf(DbService);
      expect(Object.getOwnPropertyDescriptor(DbService.prototype, 'apiKey')).toBeUndefined();
      expect(Object.keys(service)).not.toContain('apiKey');
      expect(service.apiKey).toBe(API_KEY);
      for (const options of [{}, { customInspect: false }, { getters: true, showHidden: true, depth: 10 }]) {
        expect(inspect(service, options)).not.toContain('CANARY');
      }
      expect(service.user).toBe('app_user');
      expect(() => {
        service.apiKey = 'x';
      }).toThrow(/read-only/);
      expect(JSON.stringify(service)).not.toContain('CANARY');
    });

    it('serves requests from memory without calling the source', async () => {
      const before = emu.calls().total;
      const res = await request(app.getHttpServer()).get('/whoami').expect(200);
      expect(res.body).toEqual({ user: 'app_user', version: expect.any(String), apiKeyLength: API_KEY.length });
      expect(emu.calls().total).toBe(before);
    });
  });

  describe('forRootAsync', () => {
    @Injectable()
    class SecretsConfig {
      createSecretsOptions(): SecretsModuleFactoryOptions {
        return { secrets, source: emulatorSource(emu), refreshInterval: false };
      }
    }
    @Module({ providers: [SecretsConfig], exports: [SecretsConfig] })
    class SecretsConfigModule {}

    const forms: Array<[string, () => ReturnType<typeof SecretsModule.forRootAsync>]> = [
      [
        'useFactory with imports and inject (ConfigService)',
        () =>
          SecretsModule.forRootAsync({
            imports: [ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ SECRETS_REFRESH: 'false' })] })],
            inject: [ConfigService],
            useFactory: (config: ConfigService) => ({
              secrets,
              source: emulatorSource(emu),
              refreshInterval: config.getOrThrow<string>('SECRETS_REFRESH') === 'false' ? false : '5m',
            }),
          }),
      ],
      ['useClass', () => SecretsModule.forRootAsync({ useClass: SecretsConfig })],
      ['useExisting', () => SecretsModule.forRootAsync({ imports: [SecretsConfigModule], useExisting: SecretsConfig })],
      [
        'static secrets next to an async useFactory',
        () =>
          SecretsModule.forRootAsync({
            secrets,
            useFactory: async () => {
              await sleep(5);
              return { source: emulatorSource(emu), refreshInterval: false as const };
            },
          }),
      ],
    ];

    it.each(forms)('%s: loads and injects like forRoot', async (_form, module) => {
      const app = await boot({ imports: [module()], providers: [DbService] });
      try {
        const service = app.get(DbService);
        expect(service.userAtConstruction).toBe('app_user');
        expect(service.db.value.password).toBe(DB.password);
        expect(service.apiKey).toBe(API_KEY);
        expect(app.get(SecretStore).names).toEqual(['db', 'dbUser', 'apiKey']);
      } finally {
        await app.close();
      }
    });

    it('rejects a factory that declares nothing, naming the option', async () => {
      const module = SecretsModule.forRootAsync({ useFactory: () => ({ source: emulatorSource(emu) }) });
      await expect(
        Test.createTestingModule({ imports: [module] })
          .setLogger(logs)
          .compile(),
      ).rejects.toThrow(/SecretsModule\.secrets.*no secrets declared/s);
    });
  });

  describe('isGlobal', () => {
    @Injectable()
    class FeatureService {
      constructor(@InjectSecret('apiKey') readonly apiKey: Secret<string>) {}
    }
    @Module({ providers: [FeatureService] })
    class FeatureModule {}

    it('lets modules that do not import SecretsModule inject secrets when true', async () => {
      const app = await boot({
        imports: [
          SecretsModule.forRoot({ secrets, source: emulatorSource(emu), refreshInterval: false, isGlobal: true }),
          FeatureModule,
        ],
      });
      expect(app.get(FeatureService).apiKey.value).toBe(API_KEY);
      await app.close();
    });

    it('is opt-in: without it a feature module cannot resolve the secret token', async () => {
      await expect(
        Test.createTestingModule({
          imports: [
            SecretsModule.forRoot({ secrets, source: emulatorSource(emu), refreshInterval: false }),
            FeatureModule,
          ],
        })
          .setLogger(logs)
          .compile(),
      ).rejects.toThrow(/SECRETS:SECRET\(apiKey\)/);
    });
  });

  describe('bootstrap failures', () => {
    const withMissing = defineSecrets({
      db: { id: 'app/db', format: 'json' },
      legacy: 'app/missing-legacy',
      stripe: 'app/missing-stripe',
    });

    it('NestFactory.create rejects with the aggregate SecretsLoadError listing every missing secret', async () => {
      @Injectable()
      class UsesDb {
        constructor(@InjectSecret('db') readonly db: Secret<DbCredentials>) {}
      }
      @Module({
        imports: [SecretsModule.forRoot({ secrets: withMissing, source: emulatorSource(emu), bootTimeout: '2s' })],
        providers: [UsesDb],
      })
      class AppModule {}

      const error: unknown = await NestFactory.create(AppModule, { abortOnError: false, logger: logs }).then(
        () => new Error('expected bootstrap to fail'),
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(SecretsLoadError);
      const loadError = error as SecretsLoadError;
      expect(loadError.failures.map((f) => f.name).sort()).toEqual(['legacy', 'stripe']);
      expect(loadError.message).toContain('legacy');
      expect(loadError.message).toContain('stripe');
      expect(loadError.failures.every((f) => f.code === 'ResourceNotFoundException')).toBe(true);
    });

    it('names the provider, the undeclared name and the declared names before calling the source', async () => {
      @Injectable()
      class BadService {
        @InjectSecret('nope') nope!: string;
        constructor(@InjectSecret('dbb') readonly db: Secret<unknown>) {}
        @OnSecretRotation('gone')
        onGone(): void {}
      }
      emu.resetCalls();
      const error: unknown = await Test.createTestingModule({
        imports: [SecretsModule.forRoot({ secrets, source: emulatorSource(emu) })],
        providers: [BadService],
      })
        .setLogger(logs)
        .compile()
        .then(
          () => new Error('expected bootstrap to fail'),
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(UndeclaredSecretError);
      const message = (error as Error).message;
      expect(message).toContain('BadService (constructor parameter #0) asks for "dbb" — did you mean "db"?');
      expect(message).toContain('BadService (property nope) asks for "nope"');
      expect(message).toContain('BadService (@OnSecretRotation method onGone()) asks for "gone"');
      expect(message).toContain('Declared secrets: "db", "dbUser", "apiKey"');
      expect((error as UndeclaredSecretError).problems).toHaveLength(3);
      expect(emu.calls().total).toBe(0);
    });

    it('rejects unknown options with a did-you-mean hint', async () => {
      const module = SecretsModule.forRoot({ secrets, source: emulatorSource(emu), refreshIntervl: '5m' } as never);
      await expect(
        Test.createTestingModule({ imports: [module] })
          .setLogger(logs)
          .compile(),
      ).rejects.toThrow(/Did you mean `refreshInterval`/);
    });
  });

  describe('shutdown', () => {
    it('app.close() closes the store and stops the refresh loop', async () => {
      const app = await boot({
        imports: [
          SecretsModule.forRoot({ secrets, source: emulatorSource(emu), refreshInterval: 50, refreshJitter: 0 }),
        ],
        providers: [DbService],
      });
      const store = app.get(SecretStore);
      await sleep(150);
      expect(store.stats().refreshes.ok).toBeGreaterThan(0);
      await app.close();
      // A request that close() aborted may still be in transit to the emulator: let it land, then
      // count. A refresh loop still running (every 50 ms) would add calls during the next 200 ms.
      await sleep(50);
      const calls = emu.calls().total;
      await sleep(200);
      expect(emu.calls().total).toBe(calls);
      await expect(store.refresh()).rejects.toBeInstanceOf(SecretsStoreClosedError);
    });
  });

  describe('logging', () => {
    it('logs lifecycle lines through Nest Logger with context Secrets', () => {
      expect(logs.text()).toMatch(/^log Loaded 3 secrets in \d+ ms Secrets$/m);
    });
  });
});
