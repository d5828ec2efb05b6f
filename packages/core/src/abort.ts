/**
 * Settles with `promise`, or rejects with the signal's reason once it aborts. With `settle`, a
 * promise that settles within `settle.ms` after the abort still wins: a source that honours the
 * signal then returns what it already has (answers that arrived before the cut) with the rest
 * failed, instead of losing all of it. A timer holds the process for that time (a load awaits it).
 * When `settle.cut` aborts (the store is closing: nothing returned would be used), it rejects at
 * once.
 */
export function untilAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  settle?: { readonly ms: number; readonly cut: AbortSignal },
): Promise<T> {
  const settleMs = settle && !settle.cut.aborted ? settle.ms : 0;
  if (signal.aborted && settleMs <= 0) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const fail = (): void => {
      done();
      reject(signal.reason as Error);
    };
    const onAbort = (): void => {
      if (settleMs <= 0 || settle!.cut.aborted) return fail();
      timer = setTimeout(fail, settleMs);
      settle!.cut.addEventListener('abort', fail, { once: true });
    };
    const done = (): void => {
      signal.removeEventListener('abort', onAbort);
      settle?.cut.removeEventListener('abort', fail);
      clearTimeout(timer);
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

/**
 * Whether `error` is what an abort with `reason` ended (the SDK's `AbortError`, a source's
 * `TimeoutError`, or an error caused by `reason` itself), rather than an answer that came before it.
 */
export function endedByAbort(error: unknown, reason: unknown): boolean {
  let e = error as { awsCode?: unknown; name?: unknown; cause?: unknown } | undefined;
  const code = e?.awsCode ?? e?.name;
  if (code === 'AbortError' || code === 'TimeoutError') return true;
  // A bounded walk: a cause chain can be a cycle.
  for (let depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    if (e === reason) return true;
    e = e.cause as typeof e;
  }
  return false;
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
