// The real module object (a namespace import would be a copy), so sonic-boom/pino writes are seen.
import fs from 'node:fs';
import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';
import type { Circus } from '@jest/types';
import NodeEnvironment from 'jest-environment-node';
import { LeakRecorder, RECORDER_KEY, installStreamScanners } from './leak-scanner';

/**
 * The node environment plus the leak canary scanner: from setup until every hook of the file has
 * run, whatever the test process writes to stdout/stderr (or fds 1/2) is scanned for `CANARY`.
 * Scanning stops at `run_finish`, before Jest's own reporter prints results (in-band runs), so
 * assertion diffs quoting test values are not mistaken for leaks.
 */
export default class LeakScanEnvironment extends NodeEnvironment {
  private readonly recorder: LeakRecorder;
  private uninstall: (() => void) | undefined;

  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    super(config, context);
    this.recorder = new LeakRecorder(context.testPath);
  }

  override async setup(): Promise<void> {
    await super.setup();
    (this.global as Record<string, unknown>)[RECORDER_KEY] = this.recorder;
    this.uninstall = installStreamScanners(
      this.recorder,
      fs as unknown as { writeSync: (...a: any[]) => any; write: (...a: any[]) => any },
    );
  }

  handleTestEvent(event: Circus.Event): void {
    if (event.name === 'run_finish') this.stop();
  }

  override async teardown(): Promise<void> {
    this.stop();
    await super.teardown();
  }

  private stop(): void {
    this.uninstall?.();
    this.uninstall = undefined;
  }
}
