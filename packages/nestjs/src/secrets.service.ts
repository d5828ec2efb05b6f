import { Injectable } from '@nestjs/common';
import { Observable, filter } from 'rxjs';
import { SecretStore, type HealthReport, type Secret, type SecretsEvent, type StoreStats } from '@hush/core';

/** A `rotated` lifecycle event: a secret's version changed. */
export type SecretRotatedEvent = Extract<SecretsEvent, { type: 'rotated' }>;

/**
 * Injectable facade over the module's `SecretStore`, with rxjs streams of its lifecycle events
 * (like `ConfigService.changes$`). Every method is synchronous except `refresh`.
 *
 * @example
 * constructor(private readonly secrets: SecretsService) {
 *   secrets.rotations$('db').subscribe((e) => this.logger.log(`db is now ${e.version.slice(0, 8)}`));
 * }
 */
@Injectable()
export class SecretsService {
  /** Every lifecycle event (loaded, refreshed, rotated, refresh-failed, became-stale, recovered, closed). Completes when the store closes. */
  readonly events$: Observable<SecretsEvent>;

  constructor(readonly store: SecretStore) {
    this.events$ = new Observable<SecretsEvent>((subscriber) =>
      store.onEvent((event) => {
        subscriber.next(event);
        if (event.type === 'closed') subscriber.complete();
      }),
    );
  }

  /** Version changes, optionally of one secret only. */
  rotations$(name?: string): Observable<SecretRotatedEvent> {
    return this.events$.pipe(
      filter((e): e is SecretRotatedEvent => e.type === 'rotated' && (name === undefined || e.name === name)),
    );
  }

  /** The current value of a declared secret (sync, no I/O). */
  get<T = unknown>(name: string): T {
    return this.store.get(name) as T;
  }

  /** The live handle of a declared secret; prints `[redacted]`. */
  handle<T = unknown>(name: string): Secret<T> {
    return this.store.handle(name) as Secret<T>;
  }

  /** One consistent, frozen generation of every value; prints `[redacted]`. */
  snapshot(): Readonly<Record<string, unknown>> {
    return this.store.snapshot();
  }

  /** Forces a refresh of one secret or all, then resolves (never rejects for a source failure). */
  refresh(name?: string): Promise<void> {
    return this.store.refresh(name);
  }

  /** Per-secret status, version and age. Never a value. */
  health(): HealthReport {
    return this.store.health();
  }

  /** Call counters of the source and the store. */
  stats(): StoreStats {
    return this.store.stats();
  }

  /** Declared names. */
  get names(): readonly string[] {
    return this.store.names;
  }

  /** Increments every time a value changes. */
  get generation(): number {
    return this.store.generation;
  }
}
