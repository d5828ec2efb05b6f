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

/** Polls `predicate` every 20 ms until it holds or `timeoutMs` passes. */
export async function waitFor(predicate: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Calls `probe` every 50 ms until `done(result)` holds or `timeoutMs` passes; returns the last result. */
export async function pollUntil<T>(
  probe: () => Promise<T>,
  done: (result: T) => boolean,
  timeoutMs = 5_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let result = await probe();
  while (!done(result) && Date.now() < deadline) {
    await sleep(50);
    result = await probe();
  }
  return result;
}
