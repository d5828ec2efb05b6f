import { defineSecrets, memorySource, SecretStore, type SecretsEvent } from '@hush/core';
import { recordingLogger } from '../../../test/support';

/**
 * Another store in the process whose next refresh fails with `message` (a source's text): its
 * events, log lines and health once that failure is reported. `track` registers the store for the
 * spec's own cleanup.
 */
export async function otherStoreFailing(message: string, track: <S extends { close(): Promise<void> }>(store: S) => S) {
  const source = memorySource({ 'y/other': 'other-Pp0' });
  const logger = recordingLogger();
  const store = track(
    new SecretStore(defineSecrets({ other: 'y/other' }), {
      source,
      refreshInterval: false,
      minRefreshInterval: 0,
      logger,
    }),
  );
  await store.load();
  const events: SecretsEvent[] = [];
  store.onEvent((e) => events.push(e));
  source.fail('y/other', 'InternalServiceError', { message });
  await store.refresh();
  expect(events.some((e) => e.type === 'refresh-failed')).toBe(true);
  return { store, events, logger, records: logger.records, health: store.health() };
}
