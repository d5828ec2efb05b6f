/**
 * Per-file part of the leak canary scan (setupFilesAfterEnv): wraps this file's console, and fails
 * the file in afterAll when anything it wrote so far contained a canary. Leaks after that point
 * (late afterAll hooks) are still caught by the global teardown through the report file.
 */
import { LeakRecorder, RECORDER_KEY, describeHits, wrapConsole } from './leak-scanner';

const g = globalThis as Record<string, unknown>;
const recorder =
  (g[RECORDER_KEY] as LeakRecorder | undefined) ?? new LeakRecorder(expect.getState().testPath ?? 'unknown');
g[RECORDER_KEY] = recorder;
wrapConsole(console, recorder);

afterAll(() => {
  if (recorder.hits.length > 0) {
    throw new Error(
      `Leak canary found in test output (secret values must never be printed):\n${describeHits(recorder.hits)}`,
    );
  }
});
