import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPORT_ENV } from './leak-scanner';

/** Creates the run's leak report file; workers inherit its path through the environment. */
export default function globalSetup(): void {
  const file = join(tmpdir(), `hush-leaks-${process.pid}-${Date.now()}.jsonl`);
  writeFileSync(file, '');
  process.env[REPORT_ENV] = file;
}
