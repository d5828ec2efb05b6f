/**
 * The logger Hush writes to. Any object with these methods works (console, Nest's Logger through
 * `@hush/nestjs`, pino, winston). Hush never passes a secret value to it.
 */
export interface LoggerLike {
  debug?(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

type Level = 'debug' | 'info' | 'warn' | 'error';

/** A logger that discards everything. */
export const silentLogger: LoggerLike = Object.freeze({ debug() {}, info() {}, warn() {}, error() {} });

/**
 * Adapts a user logger. pino-style loggers (which take the fields object first) are detected by
 * their `bindings()` method and called as `logger.warn(fields, message)`.
 */
export function toLogger(logger: unknown): LoggerLike {
  if (logger === false || logger === undefined || logger === null) return silentLogger;
  const target = logger as Record<string, unknown>;
  const pinoLike = typeof target['bindings'] === 'function';
  const call = (level: Level) => (message: string, fields?: Record<string, unknown>) => {
    const fn = (target[level] ?? (level === 'debug' ? undefined : target['log'])) as
      ((...args: unknown[]) => void) | undefined;
    if (typeof fn !== 'function') return;
    try {
      if (pinoLike) fn.call(logger, { component: 'hush', ...fields }, message);
      else if (fields) fn.call(logger, message, fields);
      else fn.call(logger, message);
    } catch {
      // A broken logger must never break secret loading.
    }
  };
  return { debug: call('debug'), info: call('info'), warn: call('warn'), error: call('error') };
}
