/**
 * Runs Jest's fake clock timer by timer for `ms` while real I/O (the emulator's sockets) is in
 * flight: after each timer it waits (on real `setImmediate` turns) until `inflight.n` is back to 0,
 * so no deadline timer fires while a reply is on the wire. Use with
 * `jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] })`.
 */
export async function runTimersWithIo(ms: number, inflight: { readonly n: number }): Promise<void> {
  const end = Date.now() + ms;
  const settle = async () => {
    for (let i = 0; inflight.n > 0; i++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (i > 500_000) throw new Error('a call did not finish');
    }
  };
  await settle();
  while (Date.now() < end && jest.getTimerCount() > 0) {
    await jest.advanceTimersToNextTimerAsync();
    await settle();
  }
  if (Date.now() < end) jest.setSystemTime(end);
}
