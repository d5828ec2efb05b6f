import { inspect } from 'node:util';

/**
 * Everything Hush does to keep a value out of text: the one placeholder, objects that print as
 * it, scrubbing a value's fragments out of a message, and describing a thrown error safely.
 */

/** The text every Hush container prints instead of a value. */
export const REDACTED = '[redacted]';

/**
 * Makes an object print as `[redacted]` everywhere (non-enumerable `toJSON`, `toString` and
 * `util.inspect` hooks) without changing its own enumerable properties.
 */
export function redactObject<T extends object>(target: T, label: string): T {
  Object.defineProperties(target, {
    toJSON: { value: () => REDACTED, enumerable: false },
    toString: { value: () => REDACTED, enumerable: false },
    [Symbol.toPrimitive]: { value: () => REDACTED, enumerable: false },
    [inspect.custom]: { value: () => `${label} ${REDACTED}`, enumerable: false },
  });
  return target;
}

/** Removes every occurrence of any string leaf of `value` (of 4+ chars) from `text`. */
export function scrub(text: string, value: unknown): string {
  const leaves: string[] = [];
  const visit = (v: unknown, depth: number): void => {
    if (depth > 64) return;
    if (typeof v === 'string') {
      if (v.length >= 4) leaves.push(v);
    } else if (typeof v === 'number' && String(v).length >= 4) {
      leaves.push(String(v));
    } else if (v && typeof v === 'object' && !(v instanceof Uint8Array)) {
      for (const child of Object.values(v)) visit(child, depth + 1);
    }
  };
  visit(value, 0);
  leaves.sort((a, b) => b.length - a.length);
  let out = text;
  for (const leaf of leaves) out = out.split(leaf).join(REDACTED);
  return out;
}

/**
 * `Name: message` of a thrown value, with every fragment of `value` that appears in it redacted
 * (for errors thrown by user code that was handed a secret value, e.g. a rotation hook).
 */
export function describeError(error: unknown, value: unknown): string {
  const text =
    error instanceof Error ? `${error.name}: ${error.message}` : `a non-Error value was thrown (${typeof error})`;
  return scrub(text, value);
}
