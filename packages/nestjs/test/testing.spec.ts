import 'reflect-metadata';
import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  InjectSecret,
  OnSecretRotation,
  Secret,
  SecretStore,
  SecretsConfigError,
  SecretsModule,
  getSecretToken,
  memorySource,
  defineSecrets,
} from '@hush/nestjs';
import { getTestingSource, rotateSecret } from '@hush/nestjs/testing';
import { captureAllLogs } from './helpers';

interface DbCredentials {
  username: string;
  password: string;
}

@Injectable()
class DbService {
  @InjectSecret('apiKey') apiKey!: string;
  readonly reconnects: DbCredentials[] = [];
  constructor(@InjectSecret('db') readonly db: Secret<DbCredentials>) {}

  @OnSecretRotation('db')
  async reconnect(next: DbCredentials): Promise<void> {
    await new Promise((r) => setTimeout(r, 10));
    this.reconnects.push(next);
  }
}

const logs = captureAllLogs();

async function testingApp(
  imports: Parameters<typeof Test.createTestingModule>[0]['imports'],
): Promise<INestApplicationContext> {
  const moduleRef = await Test.createTestingModule({ imports, providers: [DbService] })
    .setLogger(logs)
    .compile();
  return moduleRef.init();
}

describe('SecretsModule.forTesting', () => {
  let app: INestApplicationContext;
  beforeEach(async () => {
    app = await testingApp([
      SecretsModule.forTesting({
        db: { username: 'test_user', password: 'pw-CANARY-test-1' },
        apiKey: 'key-CANARY-test-1',
      }),
    ]);
  });
  afterEach(() => app.close());

  it('injects values from memory, without AWS or the emulator, exactly like forRoot', () => {
    const service = app.get(DbService);
    expect(service.db.value).toEqual({ username: 'test_user', password: 'pw-CANARY-test-1' });
    expect(service.apiKey).toBe('key-CANARY-test-1');
    expect(app.get(SecretStore).names).toEqual(['db', 'apiKey']);
    expect(app.get(SecretStore).stats().source).toBe('memory');
  });

  it('rotateSecret swaps the value for every consumer and awaits the rotation hooks', async () => {
    const service = app.get(DbService);
    const version = await rotateSecret(app, 'db', { username: 'test_user', password: 'pw-CANARY-test-2' });
    expect(service.reconnects).toEqual([{ username: 'test_user', password: 'pw-CANARY-test-2' }]);
    expect(service.db.value.password).toBe('pw-CANARY-test-2');
    expect(service.db.version).toBe(version);

    await rotateSecret(app, 'apiKey', 'key-CANARY-test-2');
    expect(service.apiKey).toBe('key-CANARY-test-2');
    expect(service.reconnects).toHaveLength(1);
  });

  it('rotateSecret names the declared secrets when given an unknown name', async () => {
    await expect(rotateSecret(app, 'dbb', 'x')).rejects.toThrow(
      /"dbb" is not declared\. Declared secrets: "db", "apiKey"/,
    );
  });

  it('getTestingSource injects source failures: values stay, health reports the error', async () => {
    getTestingSource(app).fail('*', 'InternalServiceError');
    await app.get(SecretStore).refresh();
    expect(app.get(DbService).db.value.password).toBe('pw-CANARY-test-1');
    expect(app.get(SecretStore).health().secrets.db).toEqual(
      expect.objectContaining({ status: 'error', error: 'InternalServiceError' }),
    );
  });

  it('lets a test replace one secret with overrideProvider(getSecretToken(name))', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [SecretsModule.forTesting({ db: { username: 'u', password: 'pw-CANARY-test-3' }, apiKey: 'k-CANARY' })],
      providers: [DbService],
    })
      .overrideProvider(getSecretToken('db'))
      .useValue({ value: { username: 'overridden', password: 'pw-CANARY-test-4' } })
      .setLogger(logs)
      .compile();
    expect(moduleRef.get(DbService).db.value.username).toBe('overridden');
    await moduleRef.close();
  });
});

describe('rotateSecret with forRoot and a memorySource', () => {
  it('maps the name to its declared id', async () => {
    const secrets = defineSecrets({ db: { id: 'prod/app/db', format: 'json' }, apiKey: 'prod/app/api-key' });
    const source = memorySource({
      'prod/app/db': { username: 'a', password: 'pw-CANARY-mem-1' },
      'prod/app/api-key': 'key-CANARY-mem-1',
    });
    const app = await testingApp([
      SecretsModule.forRoot({ secrets, source, refreshInterval: false, minRefreshInterval: 0 }),
    ]);
    await rotateSecret(app, 'db', { username: 'b', password: 'pw-CANARY-mem-2' });
    expect(app.get(DbService).reconnects).toEqual([{ username: 'b', password: 'pw-CANARY-mem-2' }]);
    await app.close();
  });

  it('refuses apps that do not read from memory', async () => {
    const app = await testingApp([
      SecretsModule.forRoot({
        secrets: { db: { id: 'x', format: 'json' }, apiKey: 'y' },
        source: {
          kind: 'custom',
          fetch: async () => [
            { ok: true, secret: { versionId: 'v1', string: '{"username":"u","password":"pw-CANARY"}' } },
            { ok: true, secret: { versionId: 'v1', string: 'k' } },
          ],
        },
        refreshInterval: false,
      }),
    ]);
    expect(() => getTestingSource(app)).toThrow(SecretsConfigError);
    await app.close();
  });
});

describe('decorator misuse', () => {
  it('rejects @InjectSecret on a method parameter and on static members, naming the fix', () => {
    expect(() => {
      class A {
        method(@InjectSecret('db') _db: unknown): void {}
      }
      return A;
    }).toThrow(/Nest only injects constructor parameters/);
    expect(() => {
      class B {
        @InjectSecret('db') static db: unknown;
      }
      return B;
    }).toThrow(/static member of B/);
    expect(() => InjectSecret('')).toThrow(/@InjectSecret\('db'\)/);
  });

  it('warns instead of silently ignoring properties on request-scoped providers', async () => {
    const { Scope } = await import('@nestjs/common');
    @Injectable({ scope: Scope.REQUEST })
    class PerRequest {
      @InjectSecret('apiKey') apiKey!: string;
    }
    @Module({
      imports: [SecretsModule.forTesting({ db: { username: 'u', password: 'pw-CANARY' }, apiKey: 'k-CANARY' })],
      providers: [PerRequest],
    })
    class M {}
    const moduleRef = await Test.createTestingModule({ imports: [M] })
      .setLogger(logs)
      .compile();
    await moduleRef.init();
    expect(logs.text()).toMatch(/PerRequest is request-scoped or transient/);
    await moduleRef.close();
  });
});
