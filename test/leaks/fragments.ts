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

/** One encoded fragment, and the value it comes from (`owner`, when the finder was told). */
interface Entry {
  readonly encoding: string;
  readonly encoded: string;
  readonly owner: string | undefined;
}

/**
 * Every fragment of a set of values, ready to search text for. Values can be added over time,
 * each under an owner (a version id): `find` then counts only the fragments of the owners it is
 * given, so one finder serves every set of values a caller holds (each value is cut into its
 * fragments once).
 */
export class FragmentFinder {
  /**
   * Every encoded fragment (each at least FRAGMENT characters long), by its first FRAGMENT
   * characters: a text is searched in one pass, whatever the number of encodings and lengths.
   */
  private readonly heads = new Map<string, Entry[]>();
  /** base64 runs of 6 bytes (8 characters) and hex runs (12 digits), with their owners. */
  private readonly b64 = new Map<string, (string | undefined)[]>();
  private readonly hex = new Map<string, (string | undefined)[]>();
  /** Values shorter than a fragment: looked for quoted, the way libraries quote them. */
  private readonly quoted: { readonly text: string; readonly owner: string | undefined }[] = [];
  private readonly owners = new Set<string>();
  /** The first FRAGMENT characters of every entry of `heads`, `b64` and `hex`, as hash bits: most positions of a text are passed over without a string being cut. */
  private readonly textBits: Prefilter;
  private readonly b64Bits: Prefilter;
  private readonly hexBits: Prefilter;

  /**
   * Text values, or binary values (whose fragments are runs of their bytes, raw or encoded).
   * `prefilter`: keep the heads as hash bits too (costs a little per fragment added; pays off
   * for a finder that searches many texts, like the simulation's).
   */
  constructor(values: readonly (string | Uint8Array)[] = [], options: { prefilter?: boolean } = {}) {
    const on = options.prefilter ?? false;
    this.textBits = new Prefilter(on);
    this.b64Bits = new Prefilter(on);
    this.hexBits = new Prefilter(on);
    for (const value of values) this.addValue(value);
  }

  /** Whether the values of `owner` were added. */
  has(owner: string): boolean {
    return this.owners.has(owner);
  }

  /** Adds a value (of `owner`, when given: then `find` counts it only for callers holding that owner). */
  addValue(value: string | Uint8Array, owner?: string): void {
    if (owner !== undefined) this.owners.add(owner);
    if (typeof value === 'string') this.add(value, Buffer.from(value, 'utf8'), owner);
    else this.add(Buffer.from(value).toString('latin1'), Buffer.from(value), owner);
  }

  /**
   * A fragment is a run of FRAGMENT characters of a value (or bytes of a binary one); each is
   * looked for raw and in every encoding text takes on its way out (JSON-escaped once or twice,
   * `util.inspect`-escaped, URL-encoded, base64 at any alignment, hex). A window of an encoded
   * string that covers fewer characters of the value is not a fragment.
   */
  private add(value: string, bytes: Buffer, owner: string | undefined): void {
    if (value.length < FRAGMENT) {
      if (value.length > 0)
        for (const text of [JSON.stringify(value), `'${value}'`, `(was ${value})`]) this.quoted.push({ text, owner });
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
        const head = encoded.slice(0, FRAGMENT);
        const list = this.heads.get(head);
        if (list === undefined) {
          this.heads.set(head, [{ encoding: name, encoded, owner }]);
          this.textBits.add(head);
        } else if (!list.some((e) => e.encoding === name && e.encoded === encoded && e.owner === owner))
          list.push({ encoding: name, encoded, owner });
      }
    }
    // 6 bytes are 8 base64 characters at the value's own alignment (one of three), 12 hex digits.
    for (let align = 0; align < 3; align++) {
      const encoded = bytes.subarray(align).toString('base64');
      for (let i = 0; i + 8 <= encoded.length; i += 4) {
        const w = encoded.slice(i, i + 8);
        if (w.includes('=')) continue; // padded: fewer than 6 bytes
        if (push(this.b64, w, owner)) this.b64Bits.add(w);
      }
    }
    const hex = bytes.toString('hex');
    for (let i = 0; i + 2 * FRAGMENT <= hex.length; i += 2) {
      const w = hex.slice(i, i + 2 * FRAGMENT);
      if (push(this.hex, w, owner)) this.hexBits.add(w);
    }
  }

  /**
   * Every encoding in which a fragment appears in `text` (at most one finding per encoding).
   * With `held`, only fragments of those owners (and of values added without one) count.
   */
  find(channel: string, text: string, held?: ReadonlySet<string>): Finding[] {
    const found: Finding[] = [];
    const counts = (owner: string | undefined) => owner === undefined || held === undefined || held.has(owner);
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
    if (this.heads.size > 0) {
      const reported = new Set<string>();
      for (const i of this.textBits.candidates(text)) {
        const candidates = this.heads.get(text.slice(i, i + FRAGMENT));
        if (candidates === undefined) continue;
        for (const { encoding, encoded, owner } of candidates) {
          if (reported.has(encoding) || !counts(owner) || !text.startsWith(encoded, i)) continue;
          reported.add(encoding);
          report(encoding, encoded);
        }
      }
    }
    const runs = (
      encoding: string,
      searched: string,
      size: number,
      table: Map<string, (string | undefined)[]>,
      bits: Prefilter,
    ) => {
      if (table.size === 0) return;
      for (const i of bits.candidates(searched)) {
        if (i + size > searched.length) break;
        const w = searched.slice(i, i + size);
        if (table.get(w)?.some(counts)) return report(encoding, w);
      }
    };
    runs('base64', text.replace(/-/g, '+').replace(/_/g, '/'), 8, this.b64, this.b64Bits);
    runs('hex', text.toLowerCase(), 2 * FRAGMENT, this.hex, this.hexBits);
    for (const q of this.quoted) if (counts(q.owner) && text.includes(q.text)) report('quoted-short', q.text);
    return found;
  }
}

/**
 * A set of FRAGMENT-character heads as bits of a rolling hash: `candidates(text)` gives the
 * positions whose FRAGMENT characters may be a head (every position that is one, and a few that
 * are not), so the exact lookup runs on those only.
 */
class Prefilter {
  private readonly bits: Uint32Array | undefined;

  /** Off: every position is a candidate (nothing to build). */
  constructor(on: boolean) {
    this.bits = on ? new Uint32Array(1 << (PREFILTER_BITS - 5)) : undefined;
  }

  add(head: string): void {
    if (this.bits === undefined) return;
    let h = 0;
    for (let j = 0; j < FRAGMENT; j++) h = (Math.imul(h, BASE) + head.charCodeAt(j)) | 0;
    const slot = mix(h);
    this.bits[slot >>> 5]! |= 1 << (slot & 31);
  }

  candidates(text: string): number[] {
    const at: number[] = [];
    const bits = this.bits;
    if (bits === undefined) {
      for (let i = 0; i + FRAGMENT <= text.length; i++) at.push(i);
      return at;
    }
    let h = 0;
    for (let j = 0; j < text.length; j++) {
      h = (Math.imul(h, BASE) + text.charCodeAt(j)) | 0;
      if (j >= FRAGMENT) h = (h - Math.imul(text.charCodeAt(j - FRAGMENT), OUT)) | 0;
      if (j < FRAGMENT - 1) continue;
      const slot = mix(h);
      if ((bits[slot >>> 5]! & (1 << (slot & 31))) !== 0) at.push(j - FRAGMENT + 1);
    }
    return at;
  }
}

/** Bits of the prefilter: 4 Mbit (512 KiB), under 3% of positions passed on with 100,000 heads. */
const PREFILTER_BITS = 22;
const BASE = 0x01000193;
/** BASE^FRAGMENT mod 2^32: what the character leaving the window contributed. */
const OUT = Array.from({ length: FRAGMENT }).reduce<number>((p) => Math.imul(p, BASE), 1);

/** A hash slot of PREFILTER_BITS bits (Murmur3's finaliser, top bits). */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> (32 - PREFILTER_BITS);
}

/** Adds `owner` under `key`; true when the key is new. */
function push(table: Map<string, (string | undefined)[]>, key: string, owner: string | undefined): boolean {
  const list = table.get(key);
  if (list === undefined) table.set(key, [owner]);
  else if (!list.includes(owner)) list.push(owner);
  return list === undefined;
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
