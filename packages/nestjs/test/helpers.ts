import { ConsoleLogger, Logger, type LoggerService } from '@nestjs/common';
import { awsSecretsManager } from '@hush/core';
import type { Emulator } from '@hush/emulator';

/** A Nest logger that records every line (message and extra params) for canary scans. */
export class CaptureLogger implements LoggerService {
  readonly lines: string[] = [];
  #push(level: string, message: unknown, params: unknown[]): void {
    this.lines.push(`${level} ${[message, ...params].map((p) => (typeof p === 'string' ? p : safeJson(p))).join(' ')}`);
  }
  log(message: unknown, ...params: unknown[]): void {
    this.#push('log', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.#push('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.#push('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.#push('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.#push('verbose', message, params);
  }
  text(): string {
    return this.lines.join('\n');
  }
}

function safeJson(value: unknown): string {
  try {
    return value instanceof Error ? `${value.name}: ${value.message}\n${value.stack ?? ''}` : JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/**
 * Routes Nest's static Logger and console/stdout/stderr into one capture for the whole spec file,
 * so afterAll can prove no canary value was ever written.
 */
export function captureAllLogs(): CaptureLogger {
  const capture = new CaptureLogger();
  const restore: Array<() => void> = [];
  beforeAll(() => {
    Logger.overrideLogger(capture);
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      const spy = jest
        .spyOn(console, method)
        .mockImplementation((...args: unknown[]) =>
          capture.lines.push(`console.${method} ${args.map(String).join(' ')}`),
        );
      restore.push(() => spy.mockRestore());
    }
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write.bind(stream);
      stream.write = ((chunk: unknown, ...rest: unknown[]) => {
        capture.lines.push(`stream ${String(chunk)}`);
        return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof stream.write;
      restore.push(() => void (stream.write = original));
    }
  });
  afterAll(() => {
    for (const r of restore.splice(0)) r();
    Logger.overrideLogger(new ConsoleLogger());
    expect(capture.text()).not.toContain('CANARY');
  });
  return capture;
}

/** A real SDK client (built by the source, destroyed when the store closes) pointed at the emulator. */
export function emulatorSource(emu: Emulator) {
  const { region, endpoint, credentials } = emu.clientConfig();
  return awsSecretsManager({ region, endpoint, clientConfig: { credentials, maxAttempts: 1 } });
}

export { sleep, until as pollUntil, waitFor } from '../../../test/support';
