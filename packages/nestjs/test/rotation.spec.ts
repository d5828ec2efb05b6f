import 'reflect-metadata';
import { Injectable, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { startEmulator, type Emulator } from '@hush/emulator';
import {
  InjectSecret,
  OnSecretRotation,
  Secret,
  SecretStore,
  SecretsModule,
  SecretsService,
  defineSecrets,
  type SecretRotatedEvent,
} from '@hush/nestjs';
import type { RotationInfo } from '@hush/core';
import { captureAllLogs, emulatorSource, sleep, waitFor } from './helpers';

interface DbCredentials {
  username: string;
  password: string;
}

const secrets = defineSecrets({
  db: { id: 'rot/db', format: 'json' },
  dbPassword: { id: 'rot/db', key: 'password' },
  apiKey: 'rot/api-key',
});

const db = (n: number): DbCredentials => ({ username: 'rotating_user', password: `pw-CANARY-rot-${n}` });

@Injectable()
class DbService {
  @InjectSecret('dbPassword') password!: string;
  readonly reconnects: Array<{ next: DbCredentials; info: RotationInfo }> = [];

  constructor(@InjectSecret('db') readonly db: Secret<DbCredentials>) {}

  @OnSecretRotation('db')
  async reconnect(next: DbCredentials, info: RotationInfo): Promise<void> {
    await sleep(1);
    this.reconnects.push({ next, info });
  }
}

@Injectable()
class BrokenHook {
  @OnSecretRotation('apiKey')
  explode(next: string): void {
    throw new Error(`cannot use api key ${next}`);
  }
}

@Injectable()
class ApiClient {
  @InjectSecret('apiKey') apiKey!: string;
  readonly seen: string[] = [];

  @OnSecretRotation('apiKey')
  onKey(next: string): void {
    this.seen.push(next);
  }
}

let emu: Emulator;
let app: INestApplication;
let service: DbService;
const rotations: SecretRotatedEvent[] = [];

beforeAll(async () => {
  emu = await startEmulator({ seed: { 'rot/db': JSON.stringify(db(1)), 'rot/api-key': 'key-CANARY-rot-1' } });
  const moduleRef = await Test.createTestingModule({
    imports: [SecretsModule.forRoot({ secrets, source: emulatorSource(emu), refreshInterval: 60, refreshJitter: 0 })],
    providers: [BrokenHook, DbService, ApiClient],
  })
    .setLogger(logs)
    .compile();
  app = moduleRef.createNestApplication();
  await app.init();
  service = app.get(DbService);
  app
    .get(SecretsService)
    .rotations$('db')
    .subscribe((e) => rotations.push(e));
});

afterAll(async () => {
  await app.close();
  await emu.close();
});
// Declared after the teardown above so the capture (and its canary check) sees app.close() too.
const logs = captureAllLogs();

async function refreshes(n: number): Promise<void> {
  const target = app.get(SecretStore).stats().refreshes.ok + n;
  await waitFor(() => app.get(SecretStore).stats().refreshes.ok >= target, 3_000, `${n} refreshes`);
}

describe('re-injection after a background refresh', () => {
  it('does not call rotation hooks when refreshes return the same version', async () => {
    await refreshes(6);
    expect(service.reconnects).toHaveLength(0);
    expect(app.get(ApiClient).seen).toHaveLength(0);
  });

  it('constructor handles and properties follow a rotation; the hook fires exactly once with the new value', async () => {
    const before = service.db.version;
    const { versionId } = emu.putSecret('rot/db', JSON.stringify(db(2)));
    await waitFor(() => service.reconnects.length > 0, 3_000, 'the rotation hook');

    expect(service.db.version).toBe(versionId);
    expect(service.db.value).toEqual(db(2));
    expect(service.password).toBe(db(2).password);
    expect(service.reconnects).toHaveLength(1);
    expect(service.reconnects[0]).toEqual({
      next: db(2),
      info: { name: 'db', version: versionId, previousVersion: before },
    });
    expect(rotations.map((r) => r.version)).toEqual([versionId]);

    await refreshes(5);
    expect(service.reconnects).toHaveLength(1);

    emu.putSecret('rot/db', JSON.stringify(db(3)));
    await waitFor(() => service.reconnects.length > 1, 3_000, 'the second rotation hook');
    await refreshes(3);
    expect(service.reconnects.map((r) => r.next.password)).toEqual([db(2).password, db(3).password]);
    expect(service.password).toBe(db(3).password);
  });

  it('a throwing hook is logged without the value and does not stop other hooks or the refresh loop', async () => {
    emu.putSecret('rot/api-key', 'key-CANARY-rot-2');
    const client = app.get(ApiClient);
    await waitFor(() => client.seen.length === 1, 3_000, 'the healthy apiKey hook');
    expect(client.apiKey).toBe('key-CANARY-rot-2');
    await waitFor(() => /BrokenHook\.explode\(\)/.test(logs.text()), 1_000, 'the hook failure log line');

    const line = logs.lines.find((l) => l.includes('BrokenHook.explode()'))!;
    expect(line).toMatch(
      /^error @OnSecretRotation hook BrokenHook\.explode\(\) for secret "apiKey" \(version \w{8}\) failed: Error \(message withheld\)\./,
    );
    expect(line).toMatch(/Secrets$/);

    // The refresh loop carries on and later rotations still reach every hook.
    emu.putSecret('rot/db', JSON.stringify(db(4)));
    await waitFor(() => service.reconnects.length === 3, 3_000, 'a later rotation');
    expect(service.db.value.password).toBe(db(4).password);
  });

  it('logs rotations by name and version only', () => {
    expect(logs.text()).toMatch(/^log Secret "db" rotated to version \w{8} Secrets$/m);
  });
});
