import { defineSecrets, memorySource, SecretStore } from '@hush/core';
import { SourceCounters } from '@hush/core/internal';

/**
 * A source's call counters take codes from foreign text (an SDK error's name, a batch entry's
 * ErrorCode); `stats().outcomes` and the `error.type` metric attribute show them. Found by the
 * simulation (test/sim): a per-id ErrorCode echoing a value in hex reached `hush.source.calls`.
 */
describe('SourceCounters: recorded codes carry no value', () => {
  it('keeps identifiers, and replaces a code that echoes any value of an open store (or is not a name)', async () => {
    const value = 'k3y-Zq9!\\"ünï\ncode';
    const store = new SecretStore(defineSecrets({ key: 'app/key' }), { source: memorySource({ 'app/key': value }) });
    await store.load();
    try {
      const counters = new SourceCounters();
      const hex = Buffer.from(value).toString('hex').slice(4, 20);
      const b64 = Buffer.from(value).toString('base64').slice(0, 12);
      counters.record('GetSecretValue', 1, 'ResourceNotFoundException');
      counters.record('GetSecretValue', 1, `X${hex}`);
      counters.record('GetSecretValue', 1, `Err${b64}`);
      counters.record('GetSecretValue', 1, 'Bad\ncode with spaces');
      counters.record('GetSecretValue', 1, 'throttled');
      expect(counters.snapshot().outcomes).toEqual({
        GetSecretValue: { ResourceNotFoundException: 1, UnknownError: 3, throttled: 1 },
      });
      expect(counters.snapshot().failures).toBe(5); // throttled is a failure too
    } finally {
      await store.close();
    }
  });
});
