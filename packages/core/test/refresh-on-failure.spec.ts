import {
  DescribeSecretCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { SecretStore, SecretsConfigError, awsSecretsManager, defineSecrets, refreshOnFailure } from '@hush/core';
import { startEmulator, type Emulator } from '@hush/emulator';

const secrets = defineSecrets({
  db: { id: 'app/db', format: 'json' },
  dbPending: { id: 'app/db', format: 'json', versionStage: 'AWSPENDING', optional: true },
});
type Db = { password: string };

/** A stand-in for a server that accepts one password at a time and refuses others like PostgreSQL does. */
function server(accepted: string) {
  const state = { accepted, logins: 0 };
  const login = async (c: { value: unknown }) => {
    if ((c.value as Db).password !== state.accepted) throw Object.assign(new Error('refused'), { code: '28P01' });
    state.logins++;
    return (c.value as Db).password;
  };
  return { state, login };
}
const isStale = (e: unknown) => (e as { code?: string }).code === '28P01';

describe('refreshOnFailure', () => {
  let emu: Emulator;
  let store: SecretStore<typeof secrets>;
  beforeEach(async () => {
    emu = await startEmulator({ seed: { 'app/db': JSON.stringify({ password: 'v1' }) } });
    store = new SecretStore(secrets, {
      source: awsSecretsManager({ clientConfig: { ...emu.clientConfig(), maxAttempts: 1 } }),
      refreshInterval: false,
      minRefreshInterval: 0,
    });
    await store.load();
  });
  afterEach(async () => {
    await store.close();
    await emu.close();
  });

  it('retries with the version a forced refresh brings; concurrent failures share one refresh', async () => {
    const db = server('v2');
    emu.putSecret('app/db', JSON.stringify({ password: 'v2' }));
    const creds = refreshOnFailure(store, 'db', { isStale });
    const before = emu.calls().total;
    const results = await Promise.all(Array.from({ length: 10 }, () => creds.run(db.login)));
    expect(results).toEqual(Array(10).fill('v2'));
    expect(emu.calls().total - before).toBe(1);
    expect(creds.stats()).toMatchObject({ refreshes: 1, retries: 10, exhausted: 0 });
  });

  it('tries the fallback (AWSPENDING) when the main version did not change, and prefers it until the main catches up', async () => {
    const db = server('v2');
    const { versionId } = emu.putSecret('app/db', JSON.stringify({ password: 'v2' }), { stages: ['AWSPENDING'] });
    const creds = refreshOnFailure(store, 'db', { isStale, fallback: 'dbPending' });
    await expect(creds.run(db.login)).resolves.toBe('v2');
    expect(creds.current()).toMatchObject({ name: 'dbPending', version: versionId });
    // finishSecret moves AWSCURRENT: once the main name holds that version, it is used again.
    const sm = new SecretsManagerClient({ ...emu.clientConfig(), maxAttempts: 1 });
    const { VersionIdsToStages } = await sm.send(new DescribeSecretCommand({ SecretId: 'app/db' }));
    const old = Object.keys(VersionIdsToStages!).find((v) => VersionIdsToStages![v]!.includes('AWSCURRENT'));
    await sm.send(
      new UpdateSecretVersionStageCommand({
        SecretId: 'app/db',
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: versionId,
        RemoveFromVersionId: old,
      }),
    );
    sm.destroy();
    await store.refresh('db');
    expect(creds.current()).toMatchObject({ name: 'db', version: versionId });
  });

  it('rethrows other errors at once, without a refresh', async () => {
    const creds = refreshOnFailure(store, 'db', { isStale });
    const boom = Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' });
    await expect(creds.run(() => Promise.reject(boom))).rejects.toBe(boom);
    expect(creds.stats().refreshes).toBe(0);
  });

  it('gives up after the budget with the last failure, and later callers fail fast', async () => {
    const db = server('nothing-matches');
    const creds = refreshOnFailure(store, 'db', { isStale, fallback: 'dbPending', budget: 300 });
    const t0 = performance.now();
    await expect(creds.run(db.login)).rejects.toMatchObject({ code: '28P01' });
    const spent = performance.now() - t0;
    expect(spent).toBeGreaterThanOrEqual(290);
    const t1 = performance.now();
    await expect(creds.run(db.login)).rejects.toMatchObject({ code: '28P01' });
    expect(performance.now() - t1).toBeLessThan(spent);
    expect(creds.stats().exhausted).toBe(2);
  });

  it('checks its names', () => {
    expect(() => refreshOnFailure(store, 'nope', { isStale })).toThrow(SecretsConfigError);
    expect(() => refreshOnFailure(store, 'db', { isStale, fallback: 'nope' })).toThrow(/AWSPENDING/);
  });
});
