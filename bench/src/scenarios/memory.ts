import { fork } from 'node:child_process';
import { join } from 'node:path';
import { startEmulator } from '@hush/emulator';
import type { MemoryJob, MemoryResult } from '../memory-child';
import { met, type Row } from '../report';
import { check, fmt, median, secretIds, seedFor, type BenchContext } from '../util';

const VALUE_BYTES = 1024;

/**
 * Scenario 6 — memory: heap growth of a process that loads N secrets of 1 KiB (values are
 * one-byte strings, so 1 KiB of heap each at the least), for Hush and for a bare Map filled from
 * the same BatchGetSecretValue responses. Each measurement is a fresh process; repeated, median.
 */
export async function memoryScenario(ctx: BenchContext): Promise<Row[]> {
  const N = ctx.quick ? 500 : 10_000;
  const reps = ctx.quick ? 1 : 3;
  const ids = secretIds('mem', N);
  const emu = await startEmulator({ seed: seedFor(ids, VALUE_BYTES) });
  const raw = N * VALUE_BYTES;
  const growth: Record<MemoryJob['kind'], number[]> = { hush: [], map: [] };
  try {
    for (let rep = 0; rep < reps; rep++) {
      for (const kind of rep % 2 === 0 ? (['hush', 'map'] as const) : (['map', 'hush'] as const)) {
        const r = await measure({ kind, config: emu.clientConfig(), ids });
        check(r.count === N, `${kind} held ${r.count} secrets, expected ${N}`);
        growth[kind].push(r.after - r.before);
      }
    }
  } finally {
    await emu.close();
  }
  const hush = median(growth.hush);
  const map = median(growth.map);
  const perSecret = (hush - raw) / N;
  ctx.log(`memory N=${N}: hush +${fmt(hush / 1024)} KiB, map +${fmt(map / 1024)} KiB, raw ${fmt(raw / 1024)} KiB`);
  return [
    {
      scenario: '6 Memory',
      metric: `heap growth after loading ${N.toLocaleString('en-US')} × 1 KiB secrets`,
      hush: `${fmt(hush / 1048576)} MiB (${fmt(perSecret, 0)} B/secret over raw)`,
      baseline: `raw bytes ${fmt(raw / 1048576)} MiB; Map<string,string> ${fmt(map / 1048576)} MiB (${fmt((map - raw) / N, 0)} B/secret)`,
      ratio: `${fmt(hush / raw)}× raw; ${fmt(hush / map)}× Map`,
      target: '≤ 1 KiB overhead per secret',
      met: met(perSecret <= 1024, `${fmt(perSecret, 0)} B/secret`),
      data: { N, raw, growth },
    },
  ];
}

function measure(job: MemoryJob): Promise<MemoryResult> {
  return new Promise((resolve, reject) => {
    const child = fork(join(__dirname, '..', 'memory-child.js'), [], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.once('message', (m: MemoryResult | { error: string }) =>
      'error' in m ? reject(new Error(`memory child: ${m.error}`)) : resolve(m),
    );
    child.once('exit', (code) => code !== 0 && reject(new Error(`memory child exited with ${code}`)));
    child.send(job);
  });
}
