import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretStore, awsSecretsManager } from '@hush/core';
import { startEmulator } from '@hush/emulator';
import { met, type Row } from '../report';
import {
  callDelta,
  check,
  declarationsFor,
  fmt,
  median,
  nowMs,
  podClient,
  secretIds,
  secretValue,
  type BenchContext,
} from '../util';

type Contender = 'hush' | 'hush-pinned' | 'powertools' | 'naive';

/**
 * Scenario 1 — boot cost: API calls and wall time of one pod's boot with S secrets.
 * Every rep builds a fresh SDK client (a booting pod has no warm connection), contenders in a
 * rotated order per rep, medians reported.
 */
export async function bootScenario(ctx: BenchContext): Promise<Row[]> {
  const sizes = [1, 20, 45, 200];
  const reps = ctx.quick ? 2 : 9;
  const maxS = Math.max(...sizes);
  const ids = secretIds('boot', maxS);
  // Each secret has an older version too, so the pinned (AWSPREVIOUS) variant can be loaded.
  const seed = {
    secrets: Object.fromEntries(
      ids.map((id, i) => [id, { value: secretValue(i), versions: [{ value: `old-CANARY-${i}` }] }]),
    ),
  };
  const emu = await startEmulator({ seed });
  const rows: Row[] = [];
  try {
    for (const S of sizes) {
      const names = ids.slice(0, S);
      const order: Contender[] = ['hush', 'powertools', 'naive', 'hush-pinned'];
      const times: Record<Contender, number[]> = { hush: [], 'hush-pinned': [], powertools: [], naive: [] };
      const calls: Partial<Record<Contender, Record<string, number>>> = {};
      for (let rep = -1; rep < reps; rep++) {
        const rotated = order.map((_, i) => order[(i + Math.max(0, rep)) % order.length]!);
        for (const who of rotated) {
          const before = emu.calls() as Record<string, number>;
          const ms = await bootOnce(who, emu, names);
          const delta = callDelta(emu, before);
          if (rep < 0) continue; // warm-up (JIT, module loading)
          times[who].push(ms);
          const prev = calls[who];
          check(
            prev === undefined || JSON.stringify(prev) === JSON.stringify(delta),
            `${who} S=${S}: call count changed between reps`,
          );
          calls[who] = delta;
        }
      }
      const expectBatch = Math.ceil(S / 20);
      const hushCalls = calls.hush!;
      check(
        hushCalls['BatchGetSecretValue'] === expectBatch && hushCalls['total'] === expectBatch,
        `Hush S=${S}: expected exactly ${expectBatch} BatchGetSecretValue calls, got ${JSON.stringify(hushCalls)}`,
      );
      check(
        calls['hush-pinned']!['GetSecretValue'] === S && calls['hush-pinned']!['total'] === S,
        `Hush pinned S=${S}: expected ${S} GetSecretValue calls`,
      );
      check(
        calls.powertools!['total'] === S && calls.naive!['total'] === S,
        `baselines S=${S}: expected ${S} calls each`,
      );
      const h = median(times.hush);
      const p = median(times.powertools);
      const n = median(times.naive);
      rows.push({
        scenario: '1 Boot',
        metric: `S=${S}: API calls`,
        hush: `${hushCalls['total']} (pinned stage: ${calls['hush-pinned']!['total']})`,
        baseline: `Powertools ${calls.powertools!['total']}; naive ${calls.naive!['total']}`,
        ratio: `${fmt(hushCalls['total']! / S, 3)}× of baseline calls`,
        target: `⌈S/20⌉ = ${expectBatch} (S for pinned)`,
        met: met(hushCalls['total'] === expectBatch && calls['hush-pinned']!['total'] === S),
        data: { S, calls },
      });
      rows.push({
        scenario: '1 Boot',
        metric: `S=${S}: wall time (median of ${reps})`,
        hush: `${fmt(h)} ms (pinned ${fmt(median(times['hush-pinned']))} ms)`,
        baseline: `Powertools ${fmt(p)} ms; naive ${fmt(n)} ms`,
        ratio: `${fmt(h / p)}× Powertools; ${fmt(h / n)}× naive`,
        target: '—',
        met: '—',
        data: { S, times },
      });
      ctx.log(`boot S=${S}: hush ${fmt(h)} ms / powertools ${fmt(p)} ms / naive ${fmt(n)} ms`);
    }
  } finally {
    await emu.close();
  }
  return rows;
}

async function bootOnce(
  who: Contender,
  emu: Awaited<ReturnType<typeof startEmulator>>,
  names: readonly string[],
): Promise<number> {
  const client = podClient(emu);
  const t0 = nowMs();
  try {
    if (who === 'hush' || who === 'hush-pinned') {
      const decls = declarationsFor(names, who === 'hush-pinned' ? { versionStage: 'AWSPREVIOUS' } : {});
      const store = new SecretStore(decls, { source: awsSecretsManager({ client }), refreshInterval: false });
      await store.load();
      const ms = nowMs() - t0;
      check(
        (store.get('s0') as string).startsWith(who === 'hush' ? 'pw-CANARY-0' : 'old-CANARY-0'),
        'wrong value loaded',
      );
      await store.close();
      return ms;
    }
    if (who === 'powertools') {
      const provider = new SecretsProvider({ awsSdkV3Client: client });
      const values = await Promise.all(names.map((n) => provider.get(n)));
      const ms = nowMs() - t0;
      check(
        values.every((v) => typeof v === 'string'),
        'Powertools returned a non-string',
      );
      return ms;
    }
    // Naive: one GetSecretValue per secret at boot, all in parallel, cached forever in a Map.
    const cache = new Map<string, string>();
    await Promise.all(
      names.map(async (n) => {
        const out = await client.send(new GetSecretValueCommand({ SecretId: n }));
        cache.set(n, out.SecretString!);
      }),
    );
    const ms = nowMs() - t0;
    check(cache.size === names.length, 'naive cache incomplete');
    return ms;
  } finally {
    client.destroy();
  }
}
