/**
 * Defects found by attacking #25 (several sources, ssmParameterStore) with the real SDK over HTTP
 * against @hush/emulator. Each test failed on the code before its fix.
 */
import { awsSecretsManager, defineSecrets, SecretsLoadError, SecretStore, ssmParameterStore } from '@hush/core';
import { startEmulator, type Emulator } from '@hush/emulator';
import { recordingLogger } from '../../../test/support';

let emu: Emulator;

beforeAll(async () => {
  const parameters: Record<string, unknown> = {
    '/one/a': 'a-value',
    '/one/labelled': { value: 'labelled-v1', type: 'String', labels: ['prod'] },
  };
  // 30 pages of GetParametersByPath (10 a page).
  for (let i = 0; i < 300; i++) parameters[`/big/p${String(i).padStart(3, '0')}`] = `big-${i}`;
  emu = await startEmulator({ seed: { secrets: { 'prod/db': 'db-value' } }, parameters: parameters as never });
});
afterEach(() => {
  emu.clearFaults();
  emu.setThrottle(null);
  emu.resetCalls();
});
afterAll(() => emu.close());

describe('ssmParameterStore() under attack', () => {
  it('a throttled page of a path is asked again where it stopped, not from page 1: 30 pages load', async () => {
    // A quota of 5 pages at once and 10 a second (no SDK retries, so every throttle reaches the
    // source). Restarting from page 1 gets about 6 pages a round: never 30. Going on from the
    // throttled page after its backoff (at least 250 ms: 2.5 new tokens) loads in about 30 + 8 calls.
    emu.setThrottle('GetParametersByPath', { ratePerSecond: 10, burst: 5 });
    const store = new SecretStore(defineSecrets({ big: { id: '/big/', path: true } }), {
      source: ssmParameterStore({ clientConfig: { ...emu.clientConfig(), maxAttempts: 1 } }),
      refreshInterval: false,
      bootTimeout: '20s',
    });
    try {
      await store.load();
      expect(Object.keys(store.get('big'))).toHaveLength(300);
      expect(store.get('big')['p299']).toBe('big-299');
      // No storm: about 38 calls expected.
      expect(emu.calls().GetParametersByPath).toBeLessThan(60);
    } finally {
      await store.close();
    }
  }, 40_000);

  it('the "waiting" line of a load names only the sources of the secrets still missing', async () => {
    emu.injectFault({ operation: 'GetParameters', hang: true });
    const logger = recordingLogger();
    const cc = emu.clientConfig();
    const store = new SecretStore(defineSecrets({ a: { id: '/one/a', source: 'ssm' }, db: 'prod/db' }), {
      source: awsSecretsManager({ clientConfig: cc }),
      sources: { ssm: ssmParameterStore({ clientConfig: cc }) },
      refreshInterval: false,
      bootTimeout: '4s',
      logger,
    });
    try {
      await expect(store.load()).rejects.toBeInstanceOf(SecretsLoadError);
      const waiting = logger.records.filter((r) => r.fields['event'] === 'load-retrying');
      expect(waiting).toHaveLength(1);
      expect(waiting[0]!.message).toContain('"a"');
      expect(waiting[0]!.message).toContain('ssm-parameter-store');
      // "db" (Secrets Manager) was loaded long before: its source is not what the boot waits for.
      expect(waiting[0]!.message).not.toContain('aws-secrets-manager');
    } finally {
      emu.clearFaults();
      await store.close();
    }
  }, 20_000);

  it('invalidate() of a parameter name refreshes a declaration pinned to a label in its id (name:label)', async () => {
    const cc = emu.clientConfig();
    const store = new SecretStore(
      defineSecrets({
        inId: { id: '/one/labelled:prod', source: 'ssm' },
        asStage: { id: '/one/labelled', versionStage: 'prod', source: 'ssm' },
      }),
      {
        source: awsSecretsManager({ clientConfig: cc }),
        sources: { ssm: ssmParameterStore({ clientConfig: cc }) },
        refreshInterval: false,
        minRefreshInterval: 0,
      },
    );
    try {
      await store.load();
      // The label moves to a new version: Parameter Store sends a "Parameter Store Change" event for the name.
      emu.putParameter('/one/labelled', 'labelled-v2', { labels: ['prod'] });
      expect((await store.invalidate(['/one/labelled'])).sort()).toEqual(['asStage', 'inId']);
      expect(store.get('inId')).toBe('labelled-v2');
      expect(store.get('asStage')).toBe('labelled-v2');
    } finally {
      await store.close();
    }
  });
});
