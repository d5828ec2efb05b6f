import { SecretStore, defineSecrets, ssmParameterStore } from '@hush/core';
import { startEmulator } from '@hush/emulator';
import { met, type Row } from '../report';
import { check, fmt, percentile, sleep, type BenchContext } from '../util';

/** Parameter Store's default throughput quota, shared by GetParameter, GetParameters and GetParametersByPath (#25). */
const SSM_TPS = 40;
/** Pods start at a uniformly random moment within this window (as scenario 4). */
const START_WINDOW_MS = 1_000;
const BOOT_TIMEOUT_MS = 120_000;

/**
 * Scenario 15 — fleet boot from Parameter Store: P pods, each its own store and SSM client, read S
 * parameters (10 names a GetParameters call) against the emulator throttling the shared get bucket
 * at AWS's default 40 TPS (not scaled: the fleet's floor is a few seconds). The floor is
 * `calls ÷ quota` with `calls = P · ceil(S / 10)`: no client can boot the fleet faster.
 */
export async function fleetSsmScenario(ctx: BenchContext): Promise<Row[]> {
  const P = ctx.quick ? 4 : 40;
  const S = ctx.quick ? 10 : 50;
  const names = Array.from({ length: S }, (_, i) => `/bench/fleet/p${i}`);
  const parameters = Object.fromEntries(
    names.map((n, i) => [n, { value: `v-${i}-${'x'.repeat(48)}`, type: 'SecureString' as const }]),
  );
  const emu = await startEmulator({ parameters });
  const declarations = defineSecrets(Object.fromEntries(names.map((n, i) => [`p${i}`, n])));
  const floorCalls = P * Math.ceil(S / 10);
  const floorSeconds = floorCalls / SSM_TPS;
  let results: { ok: boolean; ms: number; error?: string }[];
  let calls: number;
  let throttled: number;
  try {
    emu.setThrottle('ssm:get', { ratePerSecond: SSM_TPS, burst: SSM_TPS });
    emu.resetCalls();
    results = await Promise.all(
      Array.from({ length: P }, async () => {
        await sleep(Math.random() * START_WINDOW_MS);
        const store = new SecretStore(declarations, {
          source: ssmParameterStore({ clientConfig: emu.clientConfig() }),
          bootTimeout: BOOT_TIMEOUT_MS,
          refreshInterval: false,
        });
        const t0 = performance.now();
        try {
          await store.load();
          check(store.get(`p${S - 1}`) === parameters[names[S - 1]!]!.value, 'fleet ssm: wrong value');
          return { ok: true, ms: performance.now() - t0 };
        } catch (error) {
          return { ok: false, ms: performance.now() - t0, error: (error as Error).name };
        } finally {
          await store.close();
        }
      }),
    );
    calls = emu.calls().GetParameters ?? 0;
    throttled = emu.throttled();
  } finally {
    await emu.close();
  }
  const booted = results.filter((r) => r.ok);
  const times = booted.map((r) => r.ms / 1000);
  const p50 = percentile(times, 50);
  const p99 = percentile(times, 99);
  const allBooted = booted.length === P;
  if (ctx.quick) check(allBooted, `fleet ssm quick: ${P - booted.length} pods failed`);
  ctx.log(
    `fleet ssm P=${P} S=${S}: ${booted.length}/${P} ready, p99 ${fmt(p99)} s, ${calls} calls, ${throttled} throttled`,
  );
  return [
    {
      scenario: '14 Fleet, Parameter Store',
      metric: `P=${P} pods × S=${S} parameters at ${SSM_TPS} TPS (GetParameters, 10 names a call)`,
      hush: `${booted.length}/${P} ready; p50 ${fmt(p50)} s, p99 ${fmt(p99)} s; ${calls} GetParameters requests (${throttled} throttled; ${floorCalls} answered)`,
      baseline: `floor calls ÷ quota = ${floorCalls} ÷ ${SSM_TPS} = ${fmt(floorSeconds)} s`,
      ratio: `p99/floor = ${fmt(p99 / floorSeconds)}`,
      target: '100% ready; p99 ≤ 1.5 × floor',
      met: ctx.quick
        ? allBooted
          ? '— (quick)'
          : met(false, 'pods failed')
        : met(
            allBooted && p99 <= 1.5 * floorSeconds,
            allBooted ? `p99 = ${fmt(p99 / floorSeconds)} × floor` : `${P - booted.length} pods failed`,
          ),
      data: {
        P,
        S,
        tps: SSM_TPS,
        booted: booted.length,
        p50Seconds: p50,
        p99Seconds: p99,
        floorSeconds,
        calls,
        throttled,
      },
    },
  ];
}
