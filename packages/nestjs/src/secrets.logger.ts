import { Logger } from '@nestjs/common';
import { silentLogger, type LoggerLike } from '@hush/core';
import { toLogger } from '@hush/core/internal';
import { LOGGER_CONTEXT } from './secrets.constants';

/** Options of {@link createNestLogger}. */
export interface NestLoggerOptions {
  /**
   * Also log the store's routine records at Nest's `debug` level: one line per fetch round and one
   * per refreshed secret, i.e. 1 + N lines every `refreshInterval`. Off by default because Nest's
   * default logger prints every level, so a production app would repeat them forever. Boot,
   * rotations and recoveries (`log`), failures and staleness (`warn`/`error`) are always logged.
   * @default false
   */
  debug?: boolean;
}

/**
 * Adapts Nest's `Logger` (context `Secrets`) to core's `LoggerLike`, so Hush lines go through
 * whatever logger the app installed with `app.useLogger()` / `bufferLogs`.
 *
 * @example
 * SecretsModule.forRoot({ secrets, source, logger: createNestLogger('Secrets', { debug: true }) })
 */
export function createNestLogger(context: string = LOGGER_CONTEXT, options: NestLoggerOptions = {}): LoggerLike {
  const logger = new Logger(context);
  return {
    ...(options.debug === true ? { debug: (message: string) => logger.debug(message) } : {}),
    info: (message) => logger.log(message),
    warn: (message) => logger.warn(message),
    error: (message) => logger.error(message),
  };
}

/**
 * `undefined` → Nest's Logger (context `Secrets`, or `Secrets:<name>` for a named store); `false` →
 * silent; anything else through core's `toLogger` (pino- and console-aware, carrying the name).
 */
export function resolveLogger(option: LoggerLike | false | undefined, name?: unknown): LoggerLike {
  const store = typeof name === 'string' && name !== '' ? name : undefined;
  if (option === undefined)
    return createNestLogger(store === undefined ? LOGGER_CONTEXT : `${LOGGER_CONTEXT}:${store}`);
  if (option === false) return silentLogger;
  return toLogger(option, store);
}
