import { existsSync, readFileSync, rmSync } from 'node:fs';
import { REPORT_ENV, describeHits, type LeakHit } from './leak-scanner';

/** Fails the whole run when any test process wrote a canary (lists file, channel, masked context). */
export default function globalTeardown(): void {
  const file = process.env[REPORT_ENV];
  if (!file || !existsSync(file)) return;
  const text = readFileSync(file, 'utf8');
  rmSync(file, { force: true });
  const hits = text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LeakHit);
  if (hits.length > 0) {
    throw new Error(`Leak canary scan: ${hits.length} secret value(s) reached test output:\n${describeHits(hits)}`);
  }
}
