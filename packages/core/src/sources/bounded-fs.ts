/**
 * @internal Blocking file-system calls of every mountedFiles source in flight at once, per process.
 * A read of a hung mount (NFS, a stuck FUSE driver) never returns and holds one of libuv's four
 * threads, which unrelated `fs` calls and `dns.lookup` share: capped here, hung reads hold at most
 * these, and later reads queue (bounded by the store's deadlines) instead of starving the process.
 */
export const MAX_FS_CALLS = 2;

let fsInFlight = 0;
const fsWaiting: Array<() => void> = [];

/**
 * @internal Runs one blocking file-system call once fewer than MAX_FS_CALLS are in flight. The slot is
 * released when the call settles (a hung call keeps it); with a signal, waiting for a slot or for
 * the call ends with the signal's reason, so the store's deadlines hold.
 */
export async function boundedFs<T>(call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal?.aborted) throw signal.reason;
  if (fsInFlight < MAX_FS_CALLS) {
    fsInFlight++;
  } else {
    await new Promise<void>((resolve, reject) => {
      const take = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        fsWaiting.splice(fsWaiting.indexOf(take), 1);
        reject(signal!.reason as Error);
      };
      fsWaiting.push(take);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
  const running = call();
  void running.then(releaseFsSlot, releaseFsSlot);
  if (!signal) return running;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    running.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Hands the slot of a settled call to the next waiter, or frees it. */
function releaseFsSlot(): void {
  const next = fsWaiting.shift();
  if (next) next();
  else fsInFlight--;
}
