import { SecretsConfigError, parseDuration, type Duration } from '@hush/core';
import { checkKnownKeys } from '@hush/core/internal';
import { isManagedInstances } from './lambda-env';

/** What the wrappers need of a store: `SecretStore` has it (also `hush.store`, Nest's `app.get(SecretStore)`). */
export interface LambdaSecretStore {
  readonly loaded: boolean;
  load(): Promise<void>;
  isRefreshDue(): boolean;
  refreshDue(): Promise<readonly string[]>;
  close(): Promise<void>;
  /**
   * A forced refresh (`SecretStore` has it): after a round was frozen in flight, its answer is as
   * old as its request, so the next invoke fetches again. Without it, that answer is served.
   */
  refresh?(): Promise<void>;
  /**
   * The store's counters (`SecretStore` has them): a frozen round is refetched only when it
   * answered (`refreshes.ok` moved); one that failed applied nothing and its retry waits out the
   * backoff. Without it, every frozen round is refetched.
   */
  stats?(): { readonly refreshes: { readonly ok: number } };
}

/** The part of the Lambda `context` the wrappers read (the real one has it). */
export interface LambdaContextLike {
  getRemainingTimeInMillis?(): number;
}

/**
 * When a due refresh happens relative to the handler.
 * - `'before-invoke'`: fetch what is due before the handler runs, up to `refreshTimeout`; on
 *   timeout the handler gets the last good value and the fetch is awaited after it returns, so no
 *   request is left in flight across the freeze.
 * - `'background'`: start the fetch and run the handler at once with the current value; the
 *   fetch may be frozen mid-flight (it is re-sent, re-signed, after the thaw).
 */
export type RefreshMode = 'before-invoke' | 'background';

/** Options of `withSecrets` and `secretsMiddleware`. */
export interface LambdaSecretsOptions {
  /**
   * @default 'before-invoke'; 'background' on Lambda Managed Instances
   * (`AWS_LAMBDA_INITIALIZATION_TYPE=lambda-managed-instances`), which never freeze.
   */
  refresh?: RefreshMode;
  /**
   * How long an invoke waits for a due refresh before the handler runs with the last good value
   * (never more than half the invoke's remaining time). `0` never waits, before or after the handler.
   * @default '1s'
   */
  refreshTimeout?: Duration;
  /**
   * Close the store when Lambda sends SIGTERM (it does only when an extension is registered), then
   * let the signal end the process as it would have. Nothing depends on it: an environment may
   * also be killed without a signal.
   * @default true
   */
  closeOnSigterm?: boolean;
  /** Environment read for Managed Instances detection. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
}

const OPTION_KEYS = ['refresh', 'refreshTimeout', 'closeOnSigterm', 'env'];
const REFRESH_MODES: readonly RefreshMode[] = ['before-invoke', 'background'];
/** Time kept back from the invoke's remaining time when a pending refresh is awaited after the handler. */
const RESPONSE_MARGIN_MS = 100;
/** How long SIGTERM waits for `close()` (Lambda allows the runtime 300 ms before SIGKILL). */
const CLOSE_ON_SIGTERM_MS = 250;

/** @internal Decides, per invoke, whether to load, refresh or just run the handler. */
export interface InvokeGate {
  readonly mode: RefreshMode;
  /**
   * Before the handler: `undefined` when the handler may run at once and needs no `after()` (nothing
   * due — a property read — or a background refresh started), else a promise that settles when the
   * handler may run. Rejects only when the store cannot be loaded. The wait for a due refresh
   * is held to half the invoke's remaining time, so the handler keeps the other half.
   */
  before(context: LambdaContextLike | undefined): Promise<void> | undefined;
  /**
   * After the handler: in `before-invoke` mode, waits for a refresh still in flight (the one
   * `before` started, or one the store's timer started while the handler ran), at most
   * `refreshTimeout` and never past the invoke's deadline.
   */
  after(context: LambdaContextLike | undefined): Promise<void> | undefined;
}

/** The stores closed on SIGTERM (one process-wide listener closes them all). */
const sigtermStores = new Set<LambdaSecretStore>();

/** @internal */
export function createInvokeGate(store: LambdaSecretStore, options: LambdaSecretsOptions = {}, at: string): InvokeGate {
  if (
    store === null ||
    typeof store !== 'object' ||
    typeof store.isRefreshDue !== 'function' ||
    typeof store.refreshDue !== 'function' ||
    typeof store.load !== 'function'
  ) {
    throw new SecretsConfigError(
      at,
      'expected a SecretStore as the first argument (new SecretStore(...), hush.store from @hush/express, or app.get(SecretStore) in Nest).',
    );
  }
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new SecretsConfigError(
      at,
      'options must be an object, e.g. { refresh: "before-invoke", refreshTimeout: "1s" }.',
    );
  }
  checkKnownKeys(options, OPTION_KEYS, at);
  const env = options.env ?? process.env;
  // Managed Instances never freeze: a round left in flight there is not frozen with the process.
  const freezes = !isManagedInstances(env);
  const mode = options.refresh ?? (freezes ? 'before-invoke' : 'background');
  if (!REFRESH_MODES.includes(mode)) {
    throw new SecretsConfigError(
      `${at}.refresh`,
      `expected ${REFRESH_MODES.map((m) => `"${m}"`).join(' or ')}, got ${JSON.stringify(String(mode).slice(0, 40))}.`,
    );
  }
  const timeout = parseDuration(options.refreshTimeout ?? 1_000, `${at}.refreshTimeout`, { allowZero: true });
  if (options.closeOnSigterm !== undefined && typeof options.closeOnSigterm !== 'boolean') {
    throw new SecretsConfigError(`${at}.closeOnSigterm`, 'expected true or false.');
  }
  if (options.closeOnSigterm !== false) closeOnSigterm(store);

  /** The round in flight in `before-invoke` mode (an invoke's, or the timer's joined after a handler); awaited after the handler. */
  let pending: Promise<unknown> | undefined;

  /**
   * The round a response left in flight (it outlasted the waits): the process froze with it, so
   * what it answered was read before the freeze. The next invoke fetches again once it settled.
   */
  let frozen: Promise<unknown> | undefined;
  /** `refreshes.ok` when `frozen` was left in flight: it moved if that round answered. */
  let frozenOk: number | undefined;
  /** When the response left `frozen` in flight (`performance.now()`, which counts a freeze). */
  let frozenAt = 0;
  /** The refresh an invoke forced for a frozen round (itself frozen in flight: joined, not chained again). */
  let forced: Promise<unknown> | undefined;

  /** Starts (or joins) the due round; in `before-invoke` mode it is `pending` until it settles. */
  const startRound = (start: () => Promise<unknown> = () => store.refreshDue()): Promise<void> | undefined => {
    const round = start().then(
      () => undefined,
      // Only SecretsStoreClosedError rejects: a closed store serves nothing new; the handler's
      // own reads say so.
      () => undefined,
    );
    if (mode === 'background') return undefined;
    const settled = round.then(() => {
      if (pending === settled) pending = undefined;
    });
    pending = settled;
    return settled;
  };

  const refreshNow = (
    context: LambdaContextLike | undefined,
    start?: () => Promise<unknown>,
  ): Promise<void> | undefined => {
    const settled = startRound(start);
    if (settled === undefined) return undefined;
    if (start !== undefined) forced = settled;
    // Never past half the invoke's remaining time: a refreshTimeout longer than the function's
    // timeout must not turn a slow source into a timed-out invoke.
    const wait = Math.min(timeout, budget(context) / 2);
    if (wait <= 0) return Promise.resolve();
    // The invoke awaits this timer: it stays ref'd so the event loop cannot go idle under it.
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      settled.then(() => clearTimeout(timer)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, wait))),
    ]);
  };

  const refreshesOk = (): number | undefined => store.stats?.().refreshes.ok;

  return {
    mode,
    before(context) {
      if (!store.loaded) return store.load().then(() => undefined);
      const round = frozen;
      const okBefore = frozenOk;
      // Since the response that left it in flight: at most this long the answer waited unread.
      const froze = round === undefined ? 0 : performance.now() - frozenAt;
      frozen = undefined;
      // A freeze shorter than refreshTimeout delayed the answer less than a due invoke's own wait
      // does: invokes a moment apart refetched every slow round (2 fetches per due interval).
      if (round !== undefined && round !== forced && store.refresh && froze >= timeout) {
        const refresh = store.refresh.bind(store);
        // Only an answer is as old as its request: a round that failed is retried after its backoff.
        const answered = (): boolean => okBefore === undefined || refreshesOk() !== okBefore;
        return refreshNow(context, () => round.then(() => (answered() ? refresh() : undefined)));
      }
      if (!store.isRefreshDue()) return undefined;
      return refreshNow(context);
    },
    after(context) {
      // A round the store's own timer started while the handler ran (its interval passed
      // meanwhile) is joined too: left in flight, it would be frozen with the process.
      if (pending === undefined && mode === 'before-invoke' && store.loaded && store.isRefreshDue()) startRound();
      const round = pending;
      if (round === undefined) return undefined;
      // Left in flight at the response (refreshTimeout 0 leaves every round so, as 'background'
      // does, and says so): remembered for the next invoke.
      const okBefore = refreshesOk();
      const leftInFlight = (): void => {
        if (pending !== round || timeout <= 0 || !freezes) return;
        frozen = round;
        frozenOk = okBefore;
        frozenAt = performance.now();
      };
      // Waits at most refreshTimeout again (so a due invoke adds at most twice that) and never
      // past the invoke's deadline: a source that hangs must not hold every response.
      const wait = Math.min(timeout, budget(context));
      if (wait <= 0) {
        leftInFlight();
        return undefined;
      }
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([
        round.then(() => clearTimeout(timer)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, wait))),
      ]).then(leftInFlight);
    },
  };
}

/** The time an invoke has left before its deadline, less the margin to post the response. */
function budget(context: LambdaContextLike | undefined): number {
  const left = context?.getRemainingTimeInMillis?.();
  return typeof left === 'number' && Number.isFinite(left) ? left - RESPONSE_MARGIN_MS : Infinity;
}

/**
 * Closes the store on SIGTERM, then re-raises the signal when nobody else listened for it, so the
 * process ends as it would have without this listener. One listener for every store, run before
 * the others: whether another listener exists is read when the signal comes, before a `once`
 * listener of the app removes itself (its shutdown may still be running when the stores are closed).
 */
function closeOnSigterm(store: LambdaSecretStore): void {
  if (sigtermStores.size === 0) process.prependListener('SIGTERM', onSigterm);
  sigtermStores.add(store);
}

function onSigterm(): void {
  process.removeListener('SIGTERM', onSigterm);
  const others = process.listenerCount('SIGTERM') > 0;
  const stores = [...sigtermStores];
  sigtermStores.clear();
  let timer: NodeJS.Timeout | undefined;
  void Promise.race([
    Promise.all(stores.map((s) => s.close().catch(() => undefined))),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_ON_SIGTERM_MS))),
  ]).then(() => {
    clearTimeout(timer);
    if (!others && process.listenerCount('SIGTERM') === 0) process.kill(process.pid, 'SIGTERM');
  });
}
