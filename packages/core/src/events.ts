/**
 * Lifecycle events of a store. They carry names, versions and error codes — never a value.
 */
export type SecretsEvent =
  | { readonly type: 'loaded'; readonly names: readonly string[]; readonly durationMs: number }
  | { readonly type: 'refreshed'; readonly name: string; readonly version: string }
  | {
      readonly type: 'rotated';
      readonly name: string;
      readonly version: string;
      readonly previousVersion: string | undefined;
    }
  | {
      readonly type: 'refresh-failed';
      readonly name: string;
      readonly code: string;
      readonly message: string;
      /** Consecutive failures of this secret, 1 for the first of a streak. */
      readonly failures: number;
    }
  | { readonly type: 'became-stale'; readonly name: string; readonly ageSeconds: number; readonly code?: string }
  | { readonly type: 'recovered'; readonly name: string; readonly version: string }
  | { readonly type: 'closed' }
  | {
      /** One call to the source (a batch of ids) finished, during load or refresh. */
      readonly type: 'fetched';
      readonly reason: 'load' | 'refresh';
      readonly names: readonly string[];
      readonly durationMs: number;
      readonly ok: number;
      readonly failed: number;
    };

export type SecretsEventType = SecretsEvent['type'];
export type SecretsEventListener = (event: SecretsEvent) => void;
