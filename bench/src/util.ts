import { Agent } from 'node:http';
import { SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import type { Emulator } from '@hush/emulator';

/** Run-wide settings derived from the command line. */
export interface BenchContext {
  readonly quick: boolean;
  /** Scenario 3: seconds per load run and number of rounds (`--load-seconds=`, `--load-rounds=`). */
  readonly loadSeconds?: number;
  readonly loadRounds?: number;
  /** Scenario 4: fleet sizes to run instead of the defaults (`--fleet-sizes=40,200`). */
  readonly fleetSizes?: readonly number[];
  /** Sink for consumed results, so the JIT cannot drop the work that produced them. */
  sink: number;
  log(message: string): void;
}

/** A secret value of exactly `bytes` ASCII characters, unique per index, carrying the canary. */
export function secretValue(i: number, bytes = 64): string {
  const head = `pw-CANARY-${i}-`;
  return head + 'x'.repeat(Math.max(0, bytes - head.length));
}

/** Names `bench/<prefix>/<i>` for `count` secrets. */
export function secretIds(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `bench/${prefix}/${String(i).padStart(5, '0')}`);
}

/** A seed object for `startEmulator` / `putSecret`. */
export function seedFor(ids: readonly string[], bytes = 64): Record<string, string> {
  return Object.fromEntries(ids.map((id, i) => [id, secretValue(i, bytes)]));
}

/** `defineSecrets` input: `s0000: id` shorthand declarations (required strings at AWSCURRENT). */
export function declarationsFor(ids: readonly string[], extra: Record<string, unknown> = {}): Record<string, any> {
  return Object.fromEntries(ids.map((id, i) => [`s${i}`, Object.keys(extra).length > 0 ? { id, ...extra } : id]));
}

/**
 * An SDK client for one pod: the emulator's endpoint and dummy credentials, its own keep-alive
 * agent with a bounded socket pool (so 1,000 pods do not exhaust file descriptors).
 */
export function podClient(
  emu: { clientConfig(): object },
  extra: SecretsManagerClientConfig = {},
  maxSockets = 10,
): SecretsManagerClient {
  return new SecretsManagerClient({
    ...(emu.clientConfig() as SecretsManagerClientConfig),
    requestHandler: {
      httpAgent: new Agent({ keepAlive: true, maxSockets }),
      requestTimeout: 30_000,
      connectionTimeout: 10_000,
      throwOnRequestTimeout: true,
    },
    ...extra,
  });
}

/** Emulator call counters as a delta from a starting point. */
export function callDelta(emu: Emulator, before: Record<string, number>): Record<string, number> {
  const now = emu.calls() as Record<string, number>;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(now)) {
    const d = v - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

export function nowMs(): number {
  return performance.now();
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile (p in 0..100) of the values; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Throws a clear error when a deterministic property of the run does not hold (fails `--quick`). */
export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`bench check failed: ${message}`);
}

/** Fisher–Yates shuffle (in place), to alternate run orders. */
export function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

export function fmt(n: number, digits = 2): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  if (Number.isInteger(n)) return String(n);
  return n.toFixed(digits);
}
