import { randomBytes } from 'node:crypto';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { SecretStore, memorySource, type SecretDeclarations } from '@hush/core';
import { Fragments, carriesAnyValue } from '@hush/core/internal';
import { met, type Row } from '../report';
import { check, fmt, median, nowMs, type BenchContext } from '../util';

/**
 * Scenario 11 — the store-wide foreign-text check (issue 21 §2). A store holds N = 10,000
 * secrets (8,000 strings of 40 characters, 1,000 JSON credentials through a schema, 1,000
 * 32-byte binary keys), each rotated once so it also holds a previous value. Timed, in one run:
 * - the first check, which builds the index of every value (current and previous, binary as raw
 *   bytes, base64 and hex, object keys);
 * - one check of a typical foreign text: an AWS message of ~100 characters, a 300-character proxy
 *   body with base64 and hex runs (the longest text carried), and a text that quotes a value;
 * - the check right after one more secret rotated (the index catches up with that value only);
 * - side by side, what the check cost before issue 21: the fragments of the failing entry's own
 *   values, built per failure, then checked (`Fragments.of(value, previous).in(text)`).
 * - large values (10,000 × 1 KiB and 1,000 × 64 KiB strings): the index is built as values
 *   arrive, so the load carries the indexing; measured: the load, the longest event-loop block
 *   during it, the index's memory (ArrayBuffer growth), the first check and a typical check.
 *   Before this change the first check built it all at once: 4.7 s / 134 MB and 32 s / 1 GB
 *   (README, measured 2026-12-06; not re-run here: the old index is gone from the code).
 * Run alone (`--only=11`) so no other store's values are in the process.
 */
export async function valueIndexScenario(ctx: BenchContext): Promise<Row[]> {
  const n = ctx.quick ? 500 : 10_000;
  const strings = Math.round(n * 0.8);
  const jsons = Math.round(n * 0.1);
  const seed: Record<string, string | Uint8Array> = {};
  const decls: Record<string, unknown> = {};
  // A schema whose output is a new object (as a transform gives): the index walks schema outputs.
  const Creds: StandardSchemaV1 = {
    '~standard': { version: 1, vendor: 'bench', validate: (v) => ({ value: { ...(v as object), checked: true } }) },
  };
  const value = (i: number, v: number): string | Uint8Array => {
    if (i < strings) return `${randomBytes(15).toString('base64')}-${i}-v${v}`.padEnd(40, 'x');
    if (i < strings + jsons)
      return JSON.stringify({
        username: `user_${i}`,
        password: randomBytes(18).toString('base64url'),
        host: `db-${i}.internal.example`,
        port: 5432,
      });
    return randomBytes(32);
  };
  for (let i = 0; i < n; i++) {
    seed[`bench/v${i}`] = value(i, 1);
    decls[`s${i}`] =
      i < strings
        ? `bench/v${i}`
        : i < strings + jsons
          ? { id: `bench/v${i}`, format: 'json', schema: Creds }
          : { id: `bench/v${i}`, format: 'binary' };
  }
  const source = memorySource(seed);
  const store = new SecretStore(decls as SecretDeclarations, {
    source,
    refreshInterval: false,
    minRefreshInterval: 0,
    meterProvider: false,
    logger: false,
  });
  await store.load();
  for (let i = 0; i < n; i++) source.set(`bench/v${i}`, value(i, 2));
  await store.refresh();

  const typical =
    "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT (Service: SecretsManager)";
  const body =
    `upstream 502: <html><body>Bad Gateway ${randomBytes(60).toString('base64')} trace=${randomBytes(40).toString('hex')}</body></html>`.slice(
      0,
      300,
    );
  const someValue = store.get(`s${Math.floor(strings / 2)}`) as string;
  const quoting = `the proxy echoed: ${JSON.stringify(someValue)}`;

  // First check: builds the index.
  const t0 = nowMs();
  check(!carriesAnyValue(typical), 'a typical AWS message was taken for a value');
  const buildMs = nowMs() - t0;
  check(!carriesAnyValue(body), 'a proxy body was taken for a value');
  check(carriesAnyValue(quoting), 'a text quoting a value was not caught');
  const binary = store.get(`s${n - 1}`) as unknown as { toBuffer(): Buffer };
  check(
    carriesAnyValue(`key ${binary.toBuffer().toString('base64')}`),
    'a base64 echo of a binary value was not caught',
  );

  const perCheck = (text: string, reps: number): number => {
    const rounds: number[] = [];
    for (let r = 0; r < 7; r++) {
      const t = nowMs();
      for (let i = 0; i < reps; i++) ctx.sink += carriesAnyValue(text) ? 1 : 0;
      rounds.push(((nowMs() - t) * 1000) / reps);
    }
    return median(rounds);
  };
  const reps = ctx.quick ? 50 : 2_000;
  const typicalUs = perCheck(typical, reps);
  const bodyUs = perCheck(body, reps);
  const quotingUs = perCheck(quoting, reps);

  // One more rotation: the next check adds that value only (and walks the slots once).
  const afterRotation: number[] = [];
  for (let r = 0; r < (ctx.quick ? 2 : 7); r++) {
    const i = strings + r;
    source.set(`bench/v${i}`, value(i, 3 + r));
    await store.refresh(`s${i}`);
    const t = nowMs();
    ctx.sink += carriesAnyValue(typical) ? 1 : 0;
    afterRotation.push((nowMs() - t) * 1000);
  }
  const rotationUs = median(afterRotation);

  // Before issue 21: the failing entry's own values only, their fragments built on each failure.
  const entryValue = store.get(`s${strings + jsons - 1}`);
  const perEntry = (text: string): number => {
    const rounds: number[] = [];
    for (let r = 0; r < 7; r++) {
      const t = nowMs();
      for (let i = 0; i < reps; i++) ctx.sink += Fragments.of(entryValue, entryValue).in(text) ? 1 : 0;
      rounds.push(((nowMs() - t) * 1000) / reps);
    }
    return median(rounds);
  };
  const oldUs = perEntry(typical);
  const oldBodyUs = perEntry(body);
  await store.close();

  const heapMiB = process.memoryUsage().heapUsed / 2 ** 20;
  const data = { n, buildMs, typicalUs, bodyUs, quotingUs, rotationUs, oldUs, oldBodyUs, heapMiB };
  ctx.log(`value index: ${JSON.stringify(data)}`);
  const row = (what: string, us: number, old: number): Row => ({
    scenario: '11 Store-wide redaction',
    metric: `one check of ${what} against every value of ${n.toLocaleString('en-US')} secrets (current + previous) (median of 7 × ${reps})`,
    hush: `${fmt(us)} µs`,
    baseline: `before issue 21, the failing secret's own values only: ${fmt(old)} µs`,
    ratio: `${fmt(us / old)}× the per-secret check`,
    target: '≤ 1.5× the per-secret check',
    met: ctx.quick ? '—' : met(us <= old * 1.5, `${fmt(us / old)}×`),
    data,
  });
  const large = [
    await largeValues(ctx, ctx.quick ? 500 : 10_000, 1024),
    await largeValues(ctx, ctx.quick ? 20 : 1_000, 64 * 1024),
  ];
  return [
    ...large,
    row('a ~100-char AWS message', typicalUs, oldUs),
    row('a 300-char proxy body with base64 and hex runs', bodyUs, oldBodyUs),
    {
      scenario: '11 Store-wide redaction',
      metric: `index upkeep: first check (${n.toLocaleString('en-US')} × 2 values, indexed as they arrived: the check builds nothing); first check after one rotation; a text quoting a value`,
      hush: `${fmt(buildMs)} ms; ${fmt(rotationUs)} µs; ${fmt(quotingUs)} µs`,
      baseline: '—',
      ratio: '—',
      target: '— (reported)',
      met: '—',
      data,
    },
  ];
}

/**
 * A store of `n` string values of `size` characters: what the index costs when values are large.
 * The index is built as each value arrives (during `load()`), never by a check.
 */
async function largeValues(ctx: BenchContext, n: number, size: number): Promise<Row> {
  const seed: Record<string, string> = {};
  const decls: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    seed[`big/v${i}`] = randomBytes(Math.ceil((size * 3) / 4))
      .toString('base64')
      .slice(0, size);
    decls[`s${i}`] = `big/v${i}`;
  }
  const storeOf = (values: Record<string, string>) =>
    new SecretStore(decls as SecretDeclarations, {
      source: memorySource(values),
      refreshInterval: false,
      minRefreshInterval: 0,
      meterProvider: false,
      logger: false,
    });
  // The same load with 8-character values (next to nothing to index): what the load costs without the index.
  const tiny = storeOf(Object.fromEntries(Object.keys(seed).map((id, i) => [id, `t${i}`.padEnd(8, '_')])));
  const tt = nowMs();
  await tiny.load();
  const tinyLoadMs = nowMs() - tt;
  await tiny.close();
  const store = storeOf(seed);
  global.gc?.();
  const before = process.memoryUsage();
  // The longest time the event loop did not turn (a 1 ms timer's longest gap) while loading.
  let last = nowMs();
  let maxBlockMs = 0;
  const probe = setInterval(() => {
    const now = nowMs();
    maxBlockMs = Math.max(maxBlockMs, now - last);
    last = now;
  }, 1);
  const t0 = nowMs();
  const cpu0 = process.cpuUsage();
  await store.load();
  const loadMs = nowMs() - t0;
  const cpu = process.cpuUsage(cpu0);
  // CPU time too: on shared cores the wall time of a long load is mostly waiting for a core.
  const loadCpuMs = (cpu.user + cpu.system) / 1000;
  maxBlockMs = Math.max(maxBlockMs, nowMs() - last);
  clearInterval(probe);
  global.gc?.();
  const after = process.memoryUsage();
  const indexMiB = (after.arrayBuffers - before.arrayBuffers) / 2 ** 20;
  const heapMiB = (after.heapUsed - before.heapUsed) / 2 ** 20;
  const typical =
    "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT (Service: SecretsManager)";
  const t1 = nowMs();
  check(!carriesAnyValue(typical), 'a typical AWS message was taken for a value');
  const firstCheckMs = nowMs() - t1;
  const quoting = `echo ${(store.get(`s${n - 1}`) as string).slice(size / 2, size / 2 + 12)}`;
  check(carriesAnyValue(quoting), 'a text quoting a value was not caught');
  const rounds: number[] = [];
  const reps = ctx.quick ? 20 : 500;
  for (let r = 0; r < 7; r++) {
    const t = nowMs();
    for (let i = 0; i < reps; i++) ctx.sink += carriesAnyValue(typical) ? 1 : 0;
    rounds.push(((nowMs() - t) * 1000) / reps);
  }
  const checkUs = median(rounds);
  await store.close();
  const data = { n, size, loadMs, loadCpuMs, tinyLoadMs, maxBlockMs, indexMiB, heapMiB, firstCheckMs, checkUs };
  ctx.log(`value index, large values: ${JSON.stringify(data)}`);
  const label = `${n.toLocaleString('en-US')} × ${size >= 1024 ? `${size / 1024} KiB` : `${size} B`}`;
  return {
    scenario: '11 Store-wide redaction',
    metric: `${label} values: load (indexes each value as it arrives); longest event-loop block in it; index memory; first check; one check (median of 7 × ${reps})`,
    hush: `load ${fmt(loadMs)} ms, CPU ${fmt(loadCpuMs)} ms (${fmt(tinyLoadMs)} ms with 8-char values; longest event-loop block ${fmt(maxBlockMs)} ms); index ${fmt(indexMiB)} MiB; first check ${fmt(firstCheckMs)} ms; check ${fmt(checkUs)} µs`,
    baseline:
      size === 1024
        ? 'before: the first check built it all: 4.7 s, 134 MB (10,000 × 1 KiB)'
        : 'before: the first check built it all: 32 s, 1 GB (1,000 × 64 KiB)',
    ratio: '—',
    target: 'no check builds the index (reported)',
    met: '—',
    data,
  };
}
