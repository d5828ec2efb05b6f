/**
 * Shared by every test suite: a recording logger (to prove no value reaches a log line) and
 * polling helpers (tests wait for conditions instead of racing fixed sleeps).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { LoggerLike } from '@hush/core';

/** One structured log call. */
export interface LogRecord {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

/** A `LoggerLike` that keeps every line, as text (`lines`) and as structured records (`records`). */
export interface RecordingLogger extends Required<LoggerLike> {
  /** `"<level> <message> <fields as JSON>"` per call, in order. */
  readonly lines: string[];
  readonly records: LogRecord[];
  /** Messages logged at `level`. */
  at(level: LogRecord['level']): string[];
  /** Forgets everything recorded so far. */
  clear(): void;
}

export function recordingLogger(): RecordingLogger {
  const lines: string[] = [];
  const records: LogRecord[] = [];
  const at =
    (level: LogRecord['level']) =>
    (message: string, fields?: Record<string, unknown>): void => {
      records.push({ level, message, fields: fields ?? {} });
      lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
    };
  return {
    lines,
    records,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    at: (level) => records.filter((r) => r.level === level).map((r) => r.message),
    clear: () => {
      lines.length = 0;
      records.length = 0;
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `predicate` every `stepMs` until it holds; throws naming `what` after `timeoutMs`.
 * Resolves with the milliseconds it waited.
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
  what = 'condition',
  stepMs = 10,
): Promise<number> {
  const started = performance.now();
  while (!(await predicate())) {
    if (performance.now() - started > timeoutMs) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(stepMs);
  }
  return performance.now() - started;
}

/**
 * Calls `probe` every `stepMs` until `done(value)` holds or `timeoutMs` passes; returns the last
 * value either way (the caller's assertion on it says what was wrong).
 */
export async function until<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 5_000,
  stepMs = 50,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let value = await probe();
  while (!done(value) && performance.now() < deadline) {
    await sleep(stepMs);
    value = await probe();
  }
  return value;
}

/**
 * A self-signed certificate for 127.0.0.1, made by `openssl` (a Debian base package, also used by
 * CI): `<name>.key` and `<name>.crt` in `dir`.
 */
export function selfSignedCert(dir: string, name: string): { keyFile: string; certFile: string } {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1'].concat([
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ]),
    { stdio: 'ignore' },
  );
  return { keyFile, certFile };
}
