/**
 * The leak suite's own fragment finder, written independently of `@hush/core`'s redaction (so a
 * bug in one is not mirrored in the other). A fragment is any run of `FRAGMENT` characters of a
 * value, searched for in the encodings text commonly carries: raw, JSON-escaped (once and twice),
 * `util.inspect`-escaped, URL-encoded, base64 (any byte alignment, base64url too) and hex.
 */
import { inspect } from 'node:util';

/** Characters of a value that count as a fragment. */
export const FRAGMENT = 6;

/** One fragment found in a channel. */
export interface Finding {
  readonly channel: string;
  readonly encoding: string;
  /** The matched text with every letter and digit masked, so a report never repeats the value. */
  readonly masked: string;
}

/** Windows with fewer letters/digits than this are punctuation and whitespace shared by any text. */
const MIN_SIGNIFICANT = 3;
const SIGNIFICANT = /[\p{L}\p{N}]/gu;

function significant(window: string): boolean {
  return (window.match(SIGNIFICANT)?.length ?? 0) >= MIN_SIGNIFICANT;
}

function windows(encoded: string, size: number, into: Set<string>): void {
  for (let i = 0; i + size <= encoded.length; i++) into.add(encoded.slice(i, i + size));
}

/** Every fragment of a set of values, ready to search text for. */
export class FragmentFinder {
  /** encoding → length of an encoded fragment → the encoded fragments of that length. */
  private readonly text = new Map<string, Map<number, Set<string>>>();
  private readonly b64 = new Set<string>();
  private readonly hex = new Set<string>();
  /** Values shorter than a fragment: looked for quoted, the way libraries quote them. */
  private readonly quoted: string[] = [];

  /** Text values, or binary values (whose fragments are runs of their bytes, raw or encoded). */
  constructor(values: readonly (string | Uint8Array)[]) {
    for (const value of values) {
      if (typeof value === 'string') this.add(value, Buffer.from(value, 'utf8'));
      else this.add(Buffer.from(value).toString('latin1'), Buffer.from(value));
    }
  }

  /**
   * A fragment is a run of FRAGMENT characters of a value (or bytes of a binary one); each is
   * looked for raw and in every encoding text takes on its way out (JSON-escaped once or twice,
   * `util.inspect`-escaped, URL-encoded, base64 at any alignment, hex). A window of an encoded
   * string that covers fewer characters of the value is not a fragment.
   */
  private add(value: string, bytes: Buffer): void {
    if (value.length < FRAGMENT) {
      if (value.length > 0) this.quoted.push(JSON.stringify(value), `'${value}'`, `(was ${value})`);
      return;
    }
    const encoders: Record<string, (w: string) => string> = {
      raw: (w) => w,
      json: (w) => JSON.stringify(w).slice(1, -1),
      json2: (w) => JSON.stringify(JSON.stringify(w)).slice(2, -2),
      inspect: (w) => inspect(w, { maxStringLength: Infinity, breakLength: Infinity }).slice(1, -1),
      url: (w) => encodeURIComponent(w),
    };
    const plain = new Set<string>();
    windows(value, FRAGMENT, plain);
    for (const w of plain) {
      if (!significant(w)) continue;
      for (const [name, encode] of Object.entries(encoders)) {
        let encoded: string;
        try {
          encoded = encode(w);
        } catch {
          continue; // a lone surrogate cannot be URL-encoded
        }
        const byLength = this.text.get(name) ?? new Map<number, Set<string>>();
        const set = byLength.get(encoded.length) ?? new Set<string>();
        set.add(encoded);
        byLength.set(encoded.length, set);
        this.text.set(name, byLength);
      }
    }
    // 6 bytes are 8 base64 characters at the value's own alignment (one of three), 12 hex digits.
    for (let align = 0; align < 3; align++) {
      const encoded = bytes.subarray(align).toString('base64');
      for (let i = 0; i + 8 <= encoded.length; i += 4) {
        const w = encoded.slice(i, i + 8);
        if (!w.includes('=')) this.b64.add(w); // padded: fewer than 6 bytes
      }
    }
    const hex = bytes.toString('hex');
    for (let i = 0; i + 2 * FRAGMENT <= hex.length; i += 2) this.hex.add(hex.slice(i, i + 2 * FRAGMENT));
  }

  /** Every encoding in which a fragment appears in `text` (at most one finding per encoding). */
  find(channel: string, text: string): Finding[] {
    const found: Finding[] = [];
    const report = (encoding: string, match: string) => {
      found.push({ channel, encoding, masked: match.replace(/[\p{L}\p{N}]/gu, '*') });
      // Debugging a finding: HUSH_FUZZ_DEBUG=1 prints the unmasked match and its context.
      if (process.env.HUSH_FUZZ_DEBUG) {
        const at = text.indexOf(match);
        process.stderr.write(
          `FINDING ${channel}/${encoding} ${JSON.stringify(match)} in ${JSON.stringify(text.slice(Math.max(0, at - 80), at + 80))}\n`,
        );
      }
    };
    for (const [encoding, byLength] of this.text) {
      search: for (const [length, set] of byLength) {
        for (let i = 0; i + length <= text.length; i++) {
          const w = text.slice(i, i + length);
          if (set.has(w)) {
            report(encoding, w);
            break search;
          }
        }
      }
    }
    const b64text = text.replace(/-/g, '+').replace(/_/g, '/');
    for (let i = 0; i + 8 <= b64text.length; i++) {
      const w = b64text.slice(i, i + 8);
      if (this.b64.has(w)) {
        report('base64', w);
        break;
      }
    }
    const lower = text.toLowerCase();
    for (let i = 0; i + 2 * FRAGMENT <= lower.length; i++) {
      const w = lower.slice(i, i + 2 * FRAGMENT);
      if (this.hex.has(w)) {
        report('hex', w);
        break;
      }
    }
    for (const q of this.quoted) if (text.includes(q)) report('quoted-short', q);
    return found;
  }
}

/** Every text a user could get out of a thrown value: message, stack, cause chain, JSON, inspect. */
export function errorTexts(error: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  let e: unknown = error;
  for (let depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    const prefix = depth === 0 ? 'error' : `error.cause${depth > 1 ? `^${depth}` : ''}`;
    if (e instanceof Error) {
      out[`${prefix}.message`] = e.message;
      out[`${prefix}.stack`] = e.stack ?? '';
    } else {
      out[prefix] = String(e);
    }
    e = (e as { cause?: unknown }).cause;
  }
  try {
    out['error JSON'] = JSON.stringify(error) ?? '';
  } catch (x) {
    out['error JSON'] = `unserialisable: ${(x as Error).name}`;
  }
  out['error inspect'] = inspect(error, { depth: 10, showHidden: true });
  out['error String'] = String(error);
  return out;
}
