/**
 * Settles with `promise`, or rejects with the signal's reason once it aborts. With `settleMs`, a
 * promise that settles within that time after the abort still wins: a source that honours the
 * signal then returns what it already has (answers that arrived before the cut) with the rest
 * failed, instead of losing all of it. A timer holds the process for that time (a load awaits it).
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, settleMs = 0): Promise<T> {
  if (signal.aborted && settleMs <= 0) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    let settle: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      if (settleMs <= 0) return reject(signal.reason as Error);
      settle = setTimeout(() => reject(signal.reason as Error), settleMs);
    };
    const done = (): void => {
      signal.removeEventListener('abort', onAbort);
      clearTimeout(settle);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        done();
        resolve(value);
      },
      (error: unknown) => {
        done();
        reject(error as Error);
      },
    );
  });
}

/** Waits `ms` (keeping the process alive: a load awaits it), or until `signal` aborts. */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
