import { SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { ConfiguredRetryStrategy } from '@smithy/util-retry';

import type { Emulator } from '@hush/emulator';

/** Fast, bounded SDK settings for tests: 3 attempts 10 ms apart, 500 ms request / 300 ms connect timeouts. */
export const FAST_SDK = {
  maxAttempts: 3,
  retryDelayMs: 10,
  requestTimeout: 500,
  connectionTimeout: 300,
} as const;

const clients = new Set<SecretsManagerClient>();

/** A real SDK v3 client for the emulator, with fast retries and request/connection timeouts that throw. */
export function emulatorClient(emu: Emulator, extra: SecretsManagerClientConfig = {}): SecretsManagerClient {
  const client = new SecretsManagerClient({
    ...emu.clientConfig(),
    retryStrategy: new ConfiguredRetryStrategy(FAST_SDK.maxAttempts, () => FAST_SDK.retryDelayMs),
    // Without throwOnRequestTimeout the SDK only warns when requestTimeout passes.
    requestHandler: {
      requestTimeout: FAST_SDK.requestTimeout,
      connectionTimeout: FAST_SDK.connectionTimeout,
      throwOnRequestTimeout: true,
    },
    ...extra,
  });
  clients.add(client);
  return client;
}

/** Destroys every client made by {@link emulatorClient}. */
export function destroyClients(): void {
  for (const c of clients) c.destroy();
  clients.clear();
}

export { recordingLogger, sleep, waitFor } from '../support';

// Unhandled rejections: Jest 30 (jest-circus) fails the running test on any unhandledRejection or
// uncaughtException; leak-canary.spec.ts proves it with a child Jest run.

/** Milliseconds taken by `fn` (resolved or rejected), with its outcome. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const started = performance.now();
  try {
    const value = await fn();
    return { ms: performance.now() - started, value };
  } catch (error) {
    return { ms: performance.now() - started, error };
  }
}

/** Text of anything a user might print: JSON.stringify, util.inspect, String(). */
export function allRenderings(value: unknown): string {
  const { inspect } = require('node:util') as typeof import('node:util');
  let json: string;
  try {
    json = JSON.stringify(value) ?? 'undefined';
  } catch (e) {
    json = `JSON failed: ${(e as Error).message}`;
  }
  let str: string;
  try {
    str = String(value);
  } catch (e) {
    str = `String failed: ${(e as Error).message}`;
  }
  return [json, inspect(value, { depth: 10, showHidden: true, getters: false }), str].join('\n');
}
