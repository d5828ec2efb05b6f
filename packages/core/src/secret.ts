import { inspect } from 'node:util';
import { SecretNotLoadedError } from './errors';
import { REDACTED, hiddenAccessors } from './redaction';

/** Internal per-name state a handle reads from. Swapped in place by the store. */
export interface SecretSlot<T = unknown> {
  readonly name: string;
  readonly optional: boolean;
  /** The current value; `undefined` until loaded (or when an optional secret is missing). */
  value: T;
  loaded: boolean;
  version: string | undefined;
  /** Epoch ms when the current version was first seen; a number, not a Date (a Date costs ~96 B per secret). */
  updatedAt: number | undefined;
}

/** Reads a handle's private slot: assigned in Secret's static block (where #slot is visible), used by `value`. */
let readSlot: (handle: Secret<unknown>) => SecretSlot<unknown>;

/**
 * A live, read-only view of one secret. `.value` is always the current value (it follows
 * background refresh); the handle prints `[redacted]` through `toString`, `JSON.stringify`,
 * template strings and `util.inspect`.
 *
 * @example
 * const db = store.handle('db');
 * pool.connect(db.value.password);   // always the current password
 * console.log(`${db}`);              // "[redacted]"
 */
export class Secret<T> {
  readonly #slot: SecretSlot<T>;

  /**
   * The current value. Throws `SecretNotLoadedError` for a required secret that has no value yet.
   * (An accessor kept a few prototypes down, so `util.inspect` with `showHidden` and `getters`
   * never calls it; see `hiddenAccessors`.)
   */
  declare readonly value: T;

  /** @internal Use `store.handle(name)`. */
  constructor(slot: SecretSlot<T>) {
    this.#slot = slot;
  }

  static {
    readSlot = (handle) => handle.#slot;
  }

  /** The declared name. */
  get name(): string {
    return this.#slot.name;
  }

  /** The Secrets Manager VersionId of the current value. */
  get version(): string | undefined {
    return this.#slot.version;
  }

  /** When the current version was first seen by this process (wall clock). */
  get updatedAt(): Date | undefined {
    const at = this.#slot.updatedAt;
    return at === undefined ? undefined : new Date(at);
  }

  /** Whether a value is present. */
  get loaded(): boolean {
    return this.#slot.loaded;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret<${this.#slot.name}> ${REDACTED}`;
  }
}

Object.setPrototypeOf(
  Secret.prototype,
  hiddenAccessors(
    Object.prototype,
    {
      value: {
        configurable: true,
        enumerable: false,
        get(this: Secret<unknown>): unknown {
          const slot = readSlot(this);
          if (slot.loaded || slot.optional) return slot.value;
          throw new SecretNotLoadedError(slot.name, 'the store has not loaded it yet; await store.load() first.');
        },
      },
    },
    1,
  ),
);
