import { SecretsManagerClient, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { awsSecretsManager, defineSecrets, SecretStore, type RotationInfo } from '@hush/core';
import { startEmulator, type Emulator } from '@hush/emulator';
import { recordingLogger, sleep } from '../../../test/support';

// Two emulators as two Regions; a real replica keeps the primary's VersionIds, so these do too.
const ID = 'prod/app/api-key';
const V1 = 'a1111111-1111-4111-8111-111111111111';
const V2 = 'b2222222-2222-4222-8222-222222222222';
const secrets = defineSecrets({ apiKey: ID });
const logger = recordingLogger();

let east: Emulator;
let west: Emulator;
let store: SecretStore<typeof secrets>;
let rotations: RotationInfo[];

beforeEach(async () => {
  east = await startEmulator({ region: 'us-east-1' });
  west = await startEmulator({ region: 'us-west-2' });
  logger.clear();
});
afterEach(async () => {
  await store.close();
  await east.close();
  await west.close();
  expect(logger.lines.join('\n')).not.toContain('CANARY');
});

async function start(): Promise<void> {
  store = new SecretStore(secrets, {
    source: awsSecretsManager({
      region: 'us-east-1',
      failoverRegions: ['us-west-2'],
      endpoints: { 'us-east-1': east.url, 'us-west-2': west.url },
      clientConfig: { credentials: east.clientConfig().credentials, maxAttempts: 1 },
    }),
    refreshInterval: false,
    minRefreshInterval: 0,
    logger,
  });
  await store.load();
  rotations = [];
  store.subscribe('apiKey', (_v, info) => void rotations.push(info));
}

describe('failover never serves an older version than already served', () => {
  it('a replica that has not replicated the rotation yet (older CreatedDate) does not roll the value back', async () => {
    east.putSecret(ID, 'key-CANARY-1', { versionId: V1 });
    west.putSecret(ID, 'key-CANARY-1', { versionId: V1 });
    await sleep(5); // v2 is created later than v1 (CreatedDate has millisecond precision)
    east.putSecret(ID, 'key-CANARY-2', { versionId: V2 }); // rotated in the primary, not replicated yet
    await start();
    expect(store.handle('apiKey').version).toBe(V2);

    await east.pause();
    await store.refresh();
    expect(store.get('apiKey')).toBe('key-CANARY-2');
    expect(store.health().secrets.apiKey).toMatchObject({
      status: 'error',
      region: 'us-east-1',
      version: V2.slice(0, 8),
    });
    expect(west.calls().total).toBeGreaterThan(0); // the replica was asked, and its answer refused
    expect(logger.records.some((r) => r.fields.event === 'replica-behind' && r.fields.region === 'us-west-2')).toBe(
      true,
    );

    await east.resume();
    await store.refresh();
    expect(store.get('apiKey')).toBe('key-CANARY-2');
    expect(store.health().secrets.apiKey).toMatchObject({ status: 'fresh', region: 'us-east-1' });
    expect(rotations).toEqual([]); // not v2 → v1 → v2
  });

  it('a version already superseded is refused from a replica, while a rollback in the primary is served', async () => {
    for (const emu of [east, west]) emu.putSecret(ID, 'key-CANARY-1', { versionId: V1 });
    await start();
    await sleep(5);
    for (const emu of [east, west]) emu.putSecret(ID, 'key-CANARY-2', { versionId: V2 });
    await store.refresh();
    expect(store.handle('apiKey').version).toBe(V2);

    // An operator rolls AWSCURRENT back to v1 in the primary: authoritative, served.
    const client = new SecretsManagerClient({ ...east.clientConfig(), maxAttempts: 1 });
    await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: ID,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: V1,
        RemoveFromVersionId: V2,
      }),
    );
    client.destroy();
    await store.refresh();
    expect(store.get('apiKey')).toBe('key-CANARY-1');

    // The replica has not replicated the rollback: it still answers v2 (newer CreatedDate, but superseded).
    await east.pause();
    await store.refresh();
    expect(store.get('apiKey')).toBe('key-CANARY-1');
    expect(store.health().secrets.apiKey).toMatchObject({ status: 'error', region: 'us-east-1' });
    expect(rotations.map((r) => r.version)).toEqual([V2, V1]);
  });

  it('a replica that is current is still served during an outage of the primary', async () => {
    for (const emu of [east, west]) emu.putSecret(ID, 'key-CANARY-1', { versionId: V1 });
    await start();
    await sleep(5);
    for (const emu of [east, west]) emu.putSecret(ID, 'key-CANARY-2', { versionId: V2 });
    await east.pause();
    await store.refresh();
    expect(store.get('apiKey')).toBe('key-CANARY-2');
    expect(store.health().secrets.apiKey).toMatchObject({ status: 'fresh', region: 'us-west-2' });
    expect(rotations.map((r) => r.version)).toEqual([V2]);
  });
});
