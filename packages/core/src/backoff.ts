/**
 * The store's delays, side by side. Pure: `random` defaults to `Math.random` (read at call time).
 *
 * With `cap(n) = min(backoff.max, backoff.initial · 2^n)`:
 * - boot (`load()`): full jitter, uniform in `[0, cap)`, the cap also held to
 *   `max(initial, bootTimeout / 8)`; `n` counts rounds without progress, so a pod that got some
 *   of its secrets under a shared quota keeps its place instead of sleeping longer each round;
 * - refresh: equal jitter, uniform in `[cap(failures - 1) / 2, cap(failures - 1))`, held to
 *   `max(refreshInterval, initial)` while background refresh is on, so a failing secret is never
 *   retried later than it would have been refreshed anyway.
 */
import type { BackoffConfig } from './store-options';

/** The sleep before boot round `attempt + 1` (`attempt` = rounds in a row without progress). */
export function bootBackoff(
  attempt: number,
  backoff: BackoffConfig,
  bootTimeout: number,
  random: () => number = Math.random,
): number {
  // No single sleep longer than an eighth of bootTimeout: a starved pod gets several more tries.
  const cap = Math.min(backoff.max, Math.max(backoff.initial, bootTimeout / 8), backoff.initial * 2 ** attempt);
  return random() * cap;
}

/** The delay before retrying a secret after its `failures`-th consecutive failed fetch. */
export function refreshBackoff(
  failures: number,
  backoff: BackoffConfig,
  refreshInterval: number,
  random: () => number = Math.random,
): number {
  const cap = Math.min(backoff.max, backoff.initial * 2 ** Math.max(0, failures - 1));
  const delay = cap / 2 + (random() * cap) / 2;
  return refreshInterval > 0 ? Math.min(delay, Math.max(refreshInterval, backoff.initial)) : delay;
}

/** The next background refresh delay: `interval` jittered uniformly by ±`jitter`. */
export function jitteredInterval(interval: number, jitter: number, random: () => number = Math.random): number {
  return interval * (1 + jitter * (2 * random() - 1));
}
