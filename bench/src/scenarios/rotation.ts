import { BatchGetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { SecretStore, awsSecretsManager } from '@hush/core';
import { startEmulator } from '@hush/emulator';
import { met, type Row } from '../report';
import { callDelta, check, fmt, median, nowMs, podClient, sleep, type BenchContext } from '../util';

const ID = 'bench/rotation/db';

/**
 * Scenario 7 — rotation latency: from `PutSecretValue` (the emulator's in-process put) to the
 * first `store.get` returning the new value.
 * - Forced: `await store.refresh(name)`, compared with one bare BatchGetSecretValue round trip
 *   on the same client, measured alternately in the same run.
 * - Background: a store refreshing every R (±10% jitter) polled every millisecond after puts at
 *   random moments; the worst case is compared with 1.1 × R.
 */
export async function rotationScenario(ctx: BenchContext): Promise<Row[]> {
  const emu = await startEmulator({ seed: { [ID]: 'pw-CANARY-0' } });
  const client = podClient(emu);
  const rows: Row[] = [];
  let n = 0;
  const put = () => {
    const value = `pw-CANARY-${++n}`;
    emu.putSecret(ID, value);
    return value;
  };
  try {
    // Forced refresh. minRefreshInterval 0 so back-to-back samples are not coalesced (default 1 s).
    const forced = new SecretStore(
      { db: ID },
      { source: awsSecretsManager({ client }), refreshInterval: false, minRefreshInterval: 0 },
    );
    await forced.load();
    const samples = ctx.quick ? 3 : 30;
    const refreshMs: number[] = [];
    const rttMs: number[] = [];
    for (let i = -3; i < samples; i++) {
      const value = put();
      const before = emu.calls() as Record<string, number>;
      const t0 = nowMs();
      await forced.refresh('db');
      const got = forced.get('db');
      const t1 = nowMs();
      check(got === value, 'forced refresh did not return the new value');
      const delta = callDelta(emu, before);
      check(delta['total'] === 1, `store.refresh(name) made ${JSON.stringify(delta)}, expected exactly one call`);
      const r0 = nowMs();
      await client.send(new BatchGetSecretValueCommand({ SecretIdList: [ID] }));
      const r1 = nowMs();
      if (i >= 0) {
        refreshMs.push(t1 - t0);
        rttMs.push(r1 - r0);
      }
    }
    await forced.close();
    const refresh = median(refreshMs);
    const rtt = median(rttMs);
    rows.push({
      scenario: '7 Rotation',
      metric: `store.refresh(name): put → new value read (median of ${samples})`,
      hush: `${fmt(refresh)} ms, 1 API call`,
      baseline: `one bare BatchGetSecretValue round trip ${fmt(rtt)} ms`,
      ratio: `${fmt(refresh / rtt)}× one round trip`,
      target: 'one round trip (1 call)',
      met: met(true),
      data: { refreshMs, rttMs },
    });
    ctx.log(`rotation forced: ${fmt(refresh)} ms vs RTT ${fmt(rtt)} ms`);

    // Background refresh.
    const R = ctx.quick ? 200 : 1_000;
    const rotations = ctx.quick ? 2 : 12;
    const background = new SecretStore({ db: ID }, { source: awsSecretsManager({ client }), refreshInterval: R });
    await background.load();
    const lag: number[] = [];
    for (let i = 0; i < rotations; i++) {
      await sleep(Math.random() * R);
      const value = put();
      const t0 = nowMs();
      while (background.get('db') !== value) {
        check(nowMs() - t0 < 10 * R, 'background refresh never picked up the new value');
        await sleep(1);
      }
      lag.push(nowMs() - t0);
    }
    await background.close();
    const worst = Math.max(...lag);
    rows.push({
      scenario: '7 Rotation',
      metric: `background refresh (R = ${R} ms ±10%): put → new value read, ${rotations} rotations`,
      hush: `median ${fmt(median(lag))} ms, max ${fmt(worst)} ms`,
      baseline: `1.1 × R = ${fmt(1.1 * R)} ms`,
      ratio: `max = ${fmt(worst / R)} × R`,
      target: '≤ 1.1 × refresh interval',
      met: ctx.quick ? '— (quick)' : met(worst <= 1.1 * R, `max ${fmt(worst / R)} × R`),
      data: { R, lag },
    });
    ctx.log(`rotation background: median ${fmt(median(lag))} ms, max ${fmt(worst)} ms (R = ${R})`);
  } finally {
    client.destroy();
    await emu.close();
  }
  return rows;
}
