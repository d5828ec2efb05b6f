/**
 * Scenario 6 worker, run with `--expose-gc` in its own process so the emulator's copy of the
 * values (in the parent) is not on this heap. Measures `heapUsed` after full GCs, before and after
 * loading `ids`, with the SDK client already warm (one call made) in both measurements.
 */
import { BatchGetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretStore, awsSecretsManager } from '@hush/core';
import { declarationsFor } from './util';

export interface MemoryJob {
  readonly kind: 'hush' | 'map';
  readonly config: { region: string; endpoint: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  readonly ids: readonly string[];
}

export interface MemoryResult {
  readonly before: number;
  readonly after: number;
  readonly count: number;
}

function heap(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('memory-child needs --expose-gc');
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
}

async function run(job: MemoryJob): Promise<MemoryResult> {
  const client = new SecretsManagerClient(job.config);
  await client.send(new BatchGetSecretValueCommand({ SecretIdList: [job.ids[0]!] }));
  const load = async (ids: readonly string[]): Promise<unknown> => {
    if (job.kind === 'hush') {
      const store = new SecretStore(declarationsFor(ids), {
        source: awsSecretsManager({ client }),
        refreshInterval: false,
        bootTimeout: '120s',
      });
      await store.load();
      return store;
    }
    const map = new Map<string, string>();
    for (let i = 0; i < ids.length; i += 20) {
      const out = await client.send(new BatchGetSecretValueCommand({ SecretIdList: ids.slice(i, i + 20) }));
      for (const v of out.SecretValues ?? []) map.set(v.Name!, v.SecretString!);
    }
    return map;
  };
  // Warm-up: the same code path on 100 secrets first, so compiled code and lazily loaded modules
  // are on the heap before the baseline measurement, not counted as per-secret overhead.
  const warm = await load(job.ids.slice(0, 100));
  if (warm instanceof SecretStore) await warm.close();
  const before = heap();
  const keep = await load(job.ids);
  const after = heap();
  const count = keep instanceof Map ? keep.size : (keep as SecretStore).names.length;
  return { before, after, count };
}

process.once('message', (job: MemoryJob) => {
  void run(job).then(
    (result) => process.send!(result, () => process.exit(0)),
    (error: unknown) => process.send!({ error: String(error) }, () => process.exit(1)),
  );
});
