import type { LoggerLike } from './logger';

/**
 * Lifecycle events of a store. They carry names, versions and error codes — never a value.
 */
export type SecretsEvent =
  | { readonly type: 'loaded'; readonly names: readonly string[]; readonly durationMs: number }
  | { readonly type: 'refreshed'; readonly name: string; readonly version: string }
  | {
      readonly type: 'rotated';
      readonly name: string;
      readonly version: string;
      readonly previousVersion: string | undefined;
    }
  | {
      readonly type: 'refresh-failed';
      readonly name: string;
      readonly code: string;
      readonly message: string;
      /** Consecutive failures of this secret, 1 for the first of a streak. */
      readonly failures: number;
    }
  | { readonly type: 'became-stale'; readonly name: string; readonly ageSeconds: number; readonly code?: string }
  | { readonly type: 'recovered'; readonly name: string; readonly version: string }
  | { readonly type: 'closed' }
  | {
      /** One call to the source (a batch of ids) finished, during load or refresh. */
      readonly type: 'fetched';
      readonly reason: 'load' | 'refresh';
      readonly names: readonly string[];
      readonly durationMs: number;
      readonly ok: number;
      readonly failed: number;
    };

export type SecretsEventType = SecretsEvent['type'];
export type SecretsEventListener = (event: SecretsEvent) => void;

/** Information passed to `subscribe` listeners with the new value. */
export interface RotationInfo {
  readonly name: string;
  readonly version: string;
  readonly previousVersion: string | undefined;
}

export type SecretListener<T> = (next: T, info: RotationInfo) => void | Promise<void>;

/**
 * Writes the log line of one event (names, versions, codes; never a value). `loaded` tells a
 * failed refresh (serving the last good value) from a failed load attempt, which is not logged here.
 */
export function logEvent(log: LoggerLike, event: SecretsEvent, loaded: boolean): void {
  switch (event.type) {
    case 'loaded':
      log.info(`Loaded ${event.names.length} secrets in ${event.durationMs} ms`, {
        event: event.type,
        secrets: event.names,
        durationMs: event.durationMs,
      });
      break;
    case 'rotated':
      log.info(`Secret "${event.name}" rotated to version ${event.version.slice(0, 8)}`, {
        event: event.type,
        secret: event.name,
        version: event.version,
        previousVersion: event.previousVersion,
      });
      break;
    case 'refresh-failed':
      // Once per failure streak, not once per retry. During load() the store writes one line for
      // the whole boot instead (what it waits for, until when), and for an optional secret that is
      // missing, one line at its end.
      if (loaded && event.failures === 1) {
        log.warn(`Refreshing secret "${event.name}" failed (${event.code}); serving the last good value`, {
          event: event.type,
          secret: event.name,
          code: event.code,
        });
      }
      break;
    case 'recovered':
      log.info(`Secret "${event.name}" recovered`, { event: event.type, secret: event.name, version: event.version });
      break;
    case 'became-stale':
      log.warn(`Secret "${event.name}" is stale (${event.ageSeconds} s since the last good fetch)`, {
        event: event.type,
        secret: event.name,
        ageSeconds: event.ageSeconds,
        code: event.code,
      });
      break;
    case 'fetched':
      log.debug?.(
        `Fetched ${event.ok + event.failed} secret ids (${event.failed} failed) in ${Math.round(event.durationMs)} ms`,
        {
          event: event.type,
          reason: event.reason,
          ok: event.ok,
          failed: event.failed,
        },
      );
      break;
    case 'refreshed':
      log.debug?.(`Secret "${event.name}" refreshed`, {
        event: event.type,
        secret: event.name,
        version: event.version,
      });
      break;
    case 'closed':
      log.debug?.('Secret store closed', { event: event.type });
      break;
  }
}
