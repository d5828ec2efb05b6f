import { Agent } from 'node:http';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretStore, awsSecretsManager, DEFAULT_CONNECTION_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS } from '@hush/core';
import { declarationsFor } from '../util';

export type PodKind = 'hush' | 'hush-batch-only' | 'hush-adaptive-retry' | 'powertools' | 'naive';

/** Where a pod finds the emulator (plain data, so it crosses a process boundary). */
export interface PodTarget {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
}

export interface PodResult {
  readonly ok: boolean;
  /** Time from this pod's start to ready (or to giving up). */
  readonly ms: number;
  readonly error?: string;
}

/** Hush's boot deadline in the fleet runs (default is 30 s; fleets under quota need longer). */
export const FLEET_BOOT_TIMEOUT_MS = 120_000;
/** Sockets per pod: keeps 1,000 in-process pods within the file-descriptor limit. */
const MAX_SOCKETS = 10;
/** Requests queue for sockets by design here; the SDK's queueing warning would flood stderr. */
const SOCKET_WARNING_MS = 600_000;

/**
 * Boots one pod: a brand-new SDK client and the library under test, reading all `ids`.
 * Hush builds its client the way `awsSecretsManager({ region })` does (standard retry mode,
 * request timeouts); the baselines get a default SDK client, as their users would. Every kind
 * gives up at FLEET_BOOT_TIMEOUT_MS (Hush through bootTimeout, the baselines through a race).
 */
export async function bootPod(kind: PodKind, target: PodTarget, ids: readonly string[]): Promise<PodResult> {
  const t0 = performance.now();
  const httpAgent = new Agent({ keepAlive: true, maxSockets: MAX_SOCKETS });
  const baseConfig = { region: target.region, endpoint: target.endpoint, credentials: target.credentials };
  try {
    if (kind === 'hush' || kind === 'hush-batch-only' || kind === 'hush-adaptive-retry') {
      const source = awsSecretsManager({
        region: target.region,
        endpoint: target.endpoint,
        spillover: kind !== 'hush-batch-only',
        clientConfig: {
          credentials: target.credentials,
          // Diagnostic variant: the SDK's 'adaptive' retry mode (Hush's default until this benchmark showed its cost).
          ...(kind === 'hush-adaptive-retry' ? { retryMode: 'adaptive' } : {}),
          requestHandler: {
            socketAcquisitionWarningTimeout: SOCKET_WARNING_MS,
            httpAgent,
            requestTimeout: DEFAULT_REQUEST_TIMEOUT_MS,
            connectionTimeout: DEFAULT_CONNECTION_TIMEOUT_MS,
            throwOnRequestTimeout: true,
          },
        },
      });
      const store = new SecretStore(declarationsFor(ids), { source, bootTimeout: FLEET_BOOT_TIMEOUT_MS });
      try {
        await store.load();
        return { ok: true, ms: performance.now() - t0 };
      } finally {
        await store.close();
      }
    }
    const client = new SecretsManagerClient({
      ...baseConfig,
      requestHandler: { httpAgent, socketAcquisitionWarningTimeout: SOCKET_WARNING_MS },
    });
    try {
      const boot = async (): Promise<void> => {
        if (kind === 'powertools') {
          const provider = new SecretsProvider({ awsSdkV3Client: client });
          await Promise.all(ids.map((id) => provider.get(id)));
        } else {
          const cache = new Map<string, string | undefined>();
          await Promise.all(
            ids.map(async (id) =>
              cache.set(id, (await client.send(new GetSecretValueCommand({ SecretId: id }))).SecretString),
            ),
          );
        }
      };
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(Object.assign(new Error('deadline'), { code: 'Deadline' })),
          FLEET_BOOT_TIMEOUT_MS,
        );
      });
      try {
        await Promise.race([boot(), deadline]);
      } finally {
        clearTimeout(timer);
      }
      return { ok: true, ms: performance.now() - t0 };
    } finally {
      client.destroy();
    }
  } catch (error) {
    return {
      ok: false,
      ms: performance.now() - t0,
      error: error instanceof Error ? ((error as { code?: string }).code ?? error.name) : String(error),
    };
  } finally {
    httpAgent.destroy();
  }
}
