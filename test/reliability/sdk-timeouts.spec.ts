/**
 * The SDK has no request timeout by default (and its requestTimeout only warns unless
 * throwOnRequestTimeout is set). A client that awsSecretsManager() builds itself gets
 * DEFAULT_REQUEST_TIMEOUT_MS (5 s, throwing) and DEFAULT_CONNECTION_TIMEOUT_MS (2 s): a hung
 * connection is abandoned after 5 s and the SDK retries, instead of waiting for fetchTimeout.
 */
import {
  awsSecretsManager,
  DEFAULT_CONNECTION_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  defineSecrets,
  SecretStore,
} from '@hush/core';
import { startEmulator } from '@hush/emulator';
import { timed } from './helpers';

it('documents the defaults', () => {
  expect({ DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_CONNECTION_TIMEOUT_MS }).toEqual({
    DEFAULT_REQUEST_TIMEOUT_MS: 5_000,
    DEFAULT_CONNECTION_TIMEOUT_MS: 2_000,
  });
});

it('a Hush-built client abandons a hung request after the default 5 s request timeout and retries', async () => {
  const emu = await startEmulator({ seed: { 'app/api': 'api-CANARY-1' } });
  const source = awsSecretsManager({
    region: emu.region,
    endpoint: emu.url,
    clientConfig: { credentials: emu.clientConfig().credentials, maxAttempts: 2 },
  });
  const store = new SecretStore(defineSecrets({ api: 'app/api' }), {
    source,
    refreshInterval: false,
    bootTimeout: 20_000,
    fetchTimeout: 20_000,
  });
  try {
    emu.injectFault({ hang: true, times: 1 });
    const { ms, error } = await timed(() => store.load());
    expect(error).toBeUndefined();
    expect(store.get('api')).toBe('api-CANARY-1');
    expect(ms).toBeGreaterThanOrEqual(DEFAULT_REQUEST_TIMEOUT_MS - 100);
    expect(ms).toBeLessThan(DEFAULT_REQUEST_TIMEOUT_MS + 2_000);
    expect(emu.calls().total).toBe(2);
  } finally {
    await store.close();
    await emu.close();
  }
}, 15_000);
