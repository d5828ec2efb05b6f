import { Logger } from '@nestjs/common';
import { silentLogger, type LoggerLike } from '@hush/core';
import { toLogger } from '@hush/core/internal';
import { LOGGER_CONTEXT } from './secrets.constants';

/**
 * Adapts Nest's `Logger` (context `Secrets`) to core's `LoggerLike`, so Hush lines go through
 * whatever logger the app installed with `app.useLogger()` / `bufferLogs`.
 */
export function createNestLogger(context: string = LOGGER_CONTEXT): LoggerLike {
  const logger = new Logger(context);
  return {
    debug: (message) => logger.debug(message),
    info: (message) => logger.log(message),
    warn: (message) => logger.warn(message),
    error: (message) => logger.error(message),
  };
}

/** `undefined` → Nest's Logger; `false` → silent; anything else through core's `toLogger` (pino-aware). */
export function resolveLogger(option: LoggerLike | false | undefined): LoggerLike {
  if (option === undefined) return createNestLogger();
  if (option === false) return silentLogger;
  return toLogger(option);
}
