import { Console } from 'node:console';

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
 * Whether `logger` is a `console` (the global one or a `new Console(...)`): a logger without
 * levels, which prints every call, and prints a fields object over several lines.
 */
function isConsole(logger: object): boolean {
  return logger === globalThis.console || logger instanceof Console;
}

/**
 * Adapts a user logger. pino-style loggers (which take the fields object first) are detected by
 * their `bindings()` method and called as `logger.warn(fields, message)`. A `console` gets info and
 * above, one line per call: the message alone (it already names the secret, version and code),
 * prefixed with `[store]` when the store has a name. Every other logger gets the fields, with
 * `store` among them when the store has a name.
 */
export function toLogger(logger: unknown, store?: string): LoggerLike {
  if (logger === false || logger === undefined || logger === null) return silentLogger;
  const target = logger as Record<string, unknown>;
  const pinoLike = typeof target['bindings'] === 'function';
  const plain = isConsole(target);
  const prefix = store === undefined ? '' : `[${store}] `;
  const call = (level: Level) => (message: string, fields?: Record<string, unknown>) => {
    if (plain && level === 'debug') return;
    const fn = (target[level] ?? (level === 'debug' ? undefined : target['log'])) as
      ((...args: unknown[]) => void) | undefined;
    if (typeof fn !== 'function') return;
    const all = store === undefined ? fields : { store, ...fields };
    try {
      if (plain) fn.call(logger, `${prefix}${message}`);
      else if (pinoLike) fn.call(logger, { component: 'hush', ...all }, message);
      else if (all) fn.call(logger, message, all);
      else fn.call(logger, message);
    } catch {
      // A broken logger must never break secret loading.
    }
  };
  return { debug: call('debug'), info: call('info'), warn: call('warn'), error: call('error') };
}
