import { timingSafeEqual } from 'node:crypto';
import { redactObject } from './redaction';

/**
 * The value of a `format: 'binary'` secret: bytes no reader can change. JavaScript cannot freeze
 * a typed array, and one shared `Uint8Array` would let any reader's `fill(0)` change the key for
 * every other reader; a copy per read would put an allocation on every `get()`. So the bytes are
 * held privately: `store.get()` returns the same frozen `SecretBytes` on every read (O(1)), and a
 * caller that needs raw bytes asks for its own copy with {@link toUint8Array} or {@link toBuffer}
 * (once, where it builds its TLS context or key object — and may wipe that copy after use).
 * Prints `[redacted]` everywhere.
 *
 * @example
 * const cert = store.get('cert');                        // SecretBytes
 * https.createServer({ pfx: cert.toBuffer() });          // a copy, the caller's own
 * const key = crypto.createSecretKey(cert.toBuffer());   // build once, reuse per request
 */
export class SecretBytes {
  readonly #bytes: Uint8Array;

  private constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    Object.freeze(this);
  }

  /** Copies `bytes` into a new `SecretBytes` (later changes to `bytes` do not reach it). */
  static from(bytes: Uint8Array): SecretBytes {
    return new SecretBytes(new Uint8Array(bytes));
  }

  /** @internal Takes ownership of `bytes`, which nobody else may hold (the parser's own copy). */
  static adopt(bytes: Uint8Array): SecretBytes {
    return new SecretBytes(bytes);
  }

  /** Number of bytes. */
  get byteLength(): number {
    return this.#bytes.byteLength;
  }

  /** A new copy of the bytes, the caller's own (O(n)). */
  toUint8Array(): Uint8Array {
    return new Uint8Array(this.#bytes);
  }

  /** A new `Buffer` copy of the bytes, the caller's own (O(n)). */
  toBuffer(): Buffer {
    return Buffer.from(this.#bytes);
  }

  /**
   * Always throws: `Buffer.from(bytes)` asks an object for its `valueOf()` first, and would
   * otherwise fall back to its `[redacted]` string — 10 well-known bytes in place of the key.
   */
  valueOf(): never {
    throw conversionError('Buffer.from() (or another valueOf conversion)');
  }

  /**
   * Always throws: `new Uint8Array(bytes)`, `Uint8Array.from(bytes)`, `Array.from(bytes)` and
   * spreading iterate an object, and would otherwise see no elements — an empty key.
   */
  [Symbol.iterator](): never {
    throw conversionError('new Uint8Array(), Uint8Array.from(), Array.from() or spreading');
  }

  /** Constant-time comparison with other bytes. */
  equals(other: SecretBytes | Uint8Array): boolean {
    const theirs = other instanceof SecretBytes ? other.#bytes : other;
    return theirs.byteLength === this.#bytes.byteLength && timingSafeEqual(theirs, this.#bytes);
  }
}

function conversionError(how: string): TypeError {
  return new TypeError(
    `A SecretBytes cannot be converted by ${how}: call .toBuffer() or .toUint8Array() for your own copy of the bytes.`,
  );
}

// Prints `[redacted]` through toString, template strings, JSON.stringify and util.inspect.
redactObject(SecretBytes.prototype, 'SecretBytes');
