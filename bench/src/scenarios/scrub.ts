import type { StandardSchemaV1 } from '@standard-schema/spec';
import { SecretStore, SecretValidationError, memorySource } from '@hush/core';
import { met, type Row } from '../report';
import { check, fmt, median, nowMs, type BenchContext } from '../util';

const LEAVES = 1_000;

/**
 * Scenario 8 — the redaction worst case (issue 13): one bad version just under 64 KiB (1,000
 * string leaves of ~60 characters) against a schema that reports 1,000 issues, each quoting its
 * leaf (`must match … (was "…")`, as arktype and valibot do) — and a variant whose every message
 * quotes the whole value. Timed end to end: `store.load()` from the memory source until its
 * SecretsLoadError, i.e. parse + validate + checking every message + building the error. The
 * scrub this replaced was issues × leaves: 22 s for this input (issue 13). Target: milliseconds.
 */
export async function scrubScenario(ctx: BenchContext): Promise<Row[]> {
  const value: Record<string, string> = {};
  for (let i = 0; i < LEAVES; i++) value[`k${i}`] = `pw-${i}-"\\\n-${'x7Q'.repeat(17)}-${i}`.slice(0, 52);
  const raw = JSON.stringify(value);
  check(Buffer.byteLength(raw) < 65_536, `the value is ${Buffer.byteLength(raw)} bytes, over 64 KiB`);

  // The issues are built once, outside the timing: what is measured is Hush's handling of them.
  const quoting = (whole: boolean): StandardSchemaV1 => {
    const wholeText = JSON.stringify(raw);
    const issues = Object.keys(value).map((key) => ({
      path: [key],
      message: `must match /^never$/ (was ${whole ? wholeText : JSON.stringify(value[key])})`,
    }));
    return { '~standard': { version: 1, vendor: 'bench', validate: () => ({ issues }) } };
  };

  const rows: Row[] = [];
  for (const whole of [false, true]) {
    const samples = ctx.quick ? 2 : 7;
    const ms: number[] = [];
    for (let i = 0; i < samples; i++) {
      const store = new SecretStore(
        { bad: { id: 'bench/scrub', format: 'json', schema: quoting(whole) } },
        {
          source: memorySource({ 'bench/scrub': raw }),
          refreshInterval: false,
          bootTimeout: 1_000,
          meterProvider: false,
        },
      );
      const t0 = nowMs();
      const error = await store.load().then(
        () => undefined,
        (e: unknown) => e,
      );
      ms.push(nowMs() - t0);
      await store.close();
      const failure = (error as { failures?: Array<{ message: string }> })?.failures?.[0];
      check(failure !== undefined, 'load() of the bad version did not fail');
      check(!failure.message.includes('x7Qx7Q'), 'a validation message carries a fragment of the value');
      check(error instanceof Error && !(error instanceof SecretValidationError), 'expected a SecretsLoadError');
    }
    const m = median(ms);
    rows.push({
      scenario: '8 Redaction',
      metric: `64 KiB value × ${LEAVES} issues, each message quoting ${whole ? 'the whole value' : 'its leaf'}: load() → error (median of ${samples})`,
      hush: `${fmt(m)} ms`,
      baseline: 'issues × leaves scrub: 22 s (issue 13)',
      ratio: `${fmt(22_000 / m, 0)}× faster`,
      target: '< 100 ms',
      met: ctx.quick ? '—' : met(m < 100, `${fmt(m)} ms`),
      data: { ms },
    });
  }
  return rows;
}
