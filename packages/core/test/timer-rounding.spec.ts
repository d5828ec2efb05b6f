/**
 * The store's one timer is set for the earliest due time, which jitter makes a fraction of a
 * millisecond. A timer rounds its delay down: it fired just before that time, found nothing due
 * (a round starts only when an id is due now), and set itself again for the remaining fraction,
 * which rounds to 0 — a spin at one instant (forever under a fake clock that runs timer by timer:
 * bench scenario 9 hung at 100 % CPU). Each timer must move the clock forward.
 */
import FakeTimers from '@sinonjs/fake-timers';
import { SecretStore, defineSecrets, memorySource } from '@hush/core';

it('never sets a timer that fires before anything is due (no spin at a fractional due time)', async () => {
  const clock = FakeTimers.install({
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'],
    now: Date.UTC(2026, 0, 1),
  });
  const store = new SecretStore(defineSecrets({ a: 'app/a', b: { id: 'app/b', refreshInterval: '7s' } }), {
    source: memorySource({ 'app/a': 'one', 'app/b': 'two' }),
    refreshInterval: '10s',
  });
  try {
    await store.load();
    const start = clock.now;
    // Timer by timer, as a fake-clock simulation runs the store: 300 timers cover minutes of
    // refreshes (about one a second at most); a spin runs them all at one instant.
    for (let i = 0; i < 300 && clock.countTimers() > 0; i++) await clock.nextAsync();
    expect(clock.now - start).toBeGreaterThan(60_000);
    expect(store.health().status).toBe('up');
  } finally {
    await store.close();
    clock.uninstall();
  }
});
