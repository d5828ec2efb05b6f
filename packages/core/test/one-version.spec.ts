import { z } from 'zod';
import {
  awsSecretsManager,
  defineSecrets,
  SecretsLoadError,
  SecretStore,
  type RotationInfo,
  type SecretDeclarations,
} from '@hush/core';
import { startEmulator, type Emulator } from '@hush/emulator';
import { recordingLogger } from '../../../test/support';

// The README's pattern: one JSON secret read whole (with a schema) and key by key.
const secrets = defineSecrets({
  db: {
    id: 'prod/app/db',
    format: 'json',
    schema: z.object({ username: z.string(), password: z.string(), host: z.string() }),
  },
  dbUser: { id: 'prod/app/db', key: 'username' },
  dbPassword: { id: 'prod/app/db', key: 'password' },
});
const v1 = { username: 'app-1', password: 'pw-CANARY-"\\\n-1', host: 'db-1.internal' };

const logger = recordingLogger();
let emu: Emulator;

beforeEach(async () => {
  emu = await startEmulator({ seed: { 'prod/app/db': JSON.stringify(v1) } });
});
afterEach(async () => {
  await emu.close();
});
afterAll(() => {
  expect(logger.lines.join('\n')).not.toContain('CANARY');
});

function newStore<D extends SecretDeclarations = typeof secrets>(decls: D = secrets as unknown as D): SecretStore<D> {
  return new SecretStore(decls, {
    source: awsSecretsManager({
      region: 'us-east-1',
      endpoint: emu.url,
      clientConfig: { credentials: emu.clientConfig().credentials },
    }),
    refreshInterval: false,
    minRefreshInterval: 0,
    logger,
  });
}

const served = (store: SecretStore<typeof secrets>) => ({
  db: store.get('db'),
  dbUser: store.get('dbUser'),
  dbPassword: store.get('dbPassword'),
  versions: new Set(store.names.map((n) => store.handle(n).version)).size,
});

describe('one version per secret id (names projecting keys of one id)', () => {
  it('a new version missing one key is taken by none of the names, and health reports it on every one', async () => {
    const store = newStore();
    await store.load();
    const rotations: RotationInfo[] = [];
    for (const name of store.names) store.subscribe(name, (_v, info) => void rotations.push(info));
    // v2 renames the user and drops the password key: dbPassword (and db's schema) reject it.
    emu.putSecret('prod/app/db', JSON.stringify({ username: 'app-2', host: 'db-2.internal' }));
    await store.refresh();

    expect(served(store)).toEqual({ db: v1, dbUser: 'app-1', dbPassword: v1.password, versions: 1 });
    expect(rotations).toEqual([]);
    const health = store.health();
    expect(health.secrets.dbPassword).toMatchObject({ status: 'error', error: 'SECRET_PARSE_FAILED:MISSING_KEY' });
    expect(health.secrets.db).toMatchObject({ status: 'error', error: 'SECRET_VALIDATION_FAILED' });
    // dbUser parsed v2 fine on its own, but reports the version's rejection.
    expect(health.secrets.dbUser).toMatchObject({ status: 'error', error: expect.stringMatching(/^SECRET_/) });

    // A good v3 lands on every name at once, and each listener sees v3 once.
    const { versionId } = emu.putSecret(
      'prod/app/db',
      JSON.stringify({ username: 'app-3', password: 'pw-CANARY-3', host: 'db-3.internal' }),
    );
    await store.refresh();
    expect(served(store)).toMatchObject({ dbUser: 'app-3', dbPassword: 'pw-CANARY-3', versions: 1 });
    expect(rotations.map((r) => [r.name, r.version])).toEqual([
      ['db', versionId],
      ['dbUser', versionId],
      ['dbPassword', versionId],
    ]);
    expect(Object.values(store.health().secrets).map((h) => [h.status, h.error])).toEqual([
      ['fresh', undefined],
      ['fresh', undefined],
      ['fresh', undefined],
    ]);
    await store.close();
  });

  it('a version failing only the schema of the whole-object name is not taken by the key names either', async () => {
    const store = newStore();
    await store.load();
    emu.putSecret('prod/app/db', JSON.stringify({ username: 'app-2', password: 'pw-CANARY-2' })); // no host
    await store.refresh();
    expect(served(store)).toEqual({ db: v1, dbUser: 'app-1', dbPassword: v1.password, versions: 1 });
    expect(new Set(Object.values(store.health().secrets).map((h) => h.error))).toEqual(
      new Set(['SECRET_VALIDATION_FAILED']),
    );
    // The rejected version is not parsed again on the next refresh, and stays reported.
    await store.refresh();
    expect(store.health().secrets.dbUser).toMatchObject({ status: 'error', error: 'SECRET_VALIDATION_FAILED' });
    expect(store.stats().refreshes).toEqual({ ok: 0, failed: 2 });
    await store.close();
  });

  it('an optional key name vetoes a version too: the names of one id never disagree', async () => {
    const withReplica = defineSecrets({
      dbPassword: { id: 'prod/app/db', key: 'password' },
      replicaHost: { id: 'prod/app/db', key: 'replicaHost', optional: true },
    });
    emu.putSecret('prod/app/db', JSON.stringify({ ...v1, replicaHost: 'replica-1.internal' }));
    const store = newStore(withReplica);
    await store.load();
    emu.putSecret('prod/app/db', JSON.stringify({ ...v1, password: 'pw-CANARY-2' })); // no replicaHost
    await store.refresh();
    expect([store.get('dbPassword'), store.get('replicaHost')]).toEqual([v1.password, 'replica-1.internal']);
    expect(store.health().secrets.dbPassword).toMatchObject({
      status: 'error',
      error: 'SECRET_PARSE_FAILED:MISSING_KEY',
    });
    await store.close();
  });

  it('at load, a version one name rejects loads none of them, and the error names the cause', async () => {
    emu.putSecret('prod/app/db', JSON.stringify({ username: 'app-2', host: 'db-2.internal' }));
    const store = newStore();
    const error = (await store.load().catch((e: unknown) => e)) as SecretsLoadError;
    expect(error).toBeInstanceOf(SecretsLoadError);
    expect(error.failures.map((f) => [f.name, f.code])).toEqual([
      ['db', 'SECRET_VALIDATION_FAILED'],
      // dbUser could read v2 alone; it reports the first sibling that rejected the version.
      ['dbUser', 'SECRET_VALIDATION_FAILED'],
      ['dbPassword', 'SECRET_PARSE_FAILED:MISSING_KEY'],
    ]);
    expect(error.failures[1]!.message).toContain('Secret "db"');
    expect(error.message).not.toContain('CANARY');
    await store.close();
  });
});
