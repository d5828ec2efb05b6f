import { KeyObject } from 'node:crypto';
import { types } from 'node:util';
import { isKnownCode } from './known-codes';
import { FRAGMENT_LENGTH, Fragments, textViews } from './redaction';
import { SecretBytes } from './secret-bytes';

/*
 * The store-wide (and process-wide) side of the leak rule: foreign text is checked against every
 * value of every secret of every store alive in the process, not only the secret it arrived on.
 *
 * Each store owns one ValueIndex. A value is indexed when it arrives (`fetched`, called for every
 * version a fetch parses, before it lands in a slot), at a cost proportional to that value alone:
 * no check ever pays for every value at once. Windows are kept as 32-bit fingerprints in
 * open-addressing tables (4 bytes a slot, no string per window), placed by a second, independent
 * hash. The tables are segments: when the newest fills up it is kept as it is and a larger one
 * (as large as everything indexed so far) takes the new windows, so growing never rehashes
 * what is there. Values that left the store (a previous value rotated out) stay indexed, which
 * only makes the check stricter, until a compaction: once the index holds twice what it held
 * after the last one (or has more than MAX_TABLES tables), the live values are indexed again into
 * new segments, one slice of SLICE_CHARS characters per check and of at least twice its own size
 * per arrival, and the new segments replace the old ones when done. Memory stays proportional to what the store holds (at most about twice its windows, three
 * times while a compaction runs).
 */

/** @internal What an index reads from its store: the slots (current and previous values). */
export interface ValueHost {
  readonly slots: ReadonlyMap<string, IndexedSlot>;
}

/** @internal The part of a slot the index reads. */
export interface IndexedSlot {
  readonly loaded: boolean;
  readonly value: unknown;
  readonly previousValue: unknown;
}

/** Something that says whether text carries a fragment of what it holds. */
export interface FragmentCheck {
  in(text: string): boolean;
}

/** Nesting followed inside one value; characters indexed per value (a schema output can be any graph). */
const MAX_DEPTH = 64;
const MAX_CHARS_PER_VALUE = 4 * 1024 * 1024;
const MIN_CAPACITY = 1 << 10;
/** When a segment is this full, a new one takes the new windows. */
const MAX_LOAD = 0.7;
/** Tables a check looks in before they are merged (by a compaction): a growing store is indexed again about once per 8× growth. */
const MAX_TABLES = 3;
/** Characters a compaction indexes per check (about 0.2–0.35 µs each: 7–12 ms). */
const SLICE_CHARS = 32 * 1024;

/** Every open store in the process (weakly held: a store nobody references is not kept alive by this). */
const live = new Set<WeakRef<ValueIndex>>();

/** Fingerprint tables: the newest takes inserts; all are looked in. */
class Segments {
  readonly tables: Int32Array[] = [];
  private table = new Int32Array(0);
  private mask = -1;
  private used = 0;
  /** Fingerprints stored over all tables. */
  windows = 0;
  readonly short = new Set<string>();

  /** Starts with one table sized for about `windows` windows (a compaction knows what it will index). */
  constructor(windows = 0) {
    if (windows > 0) this.grow(windows * 1.2);
  }

  private grow(windows: number): void {
    let capacity = MIN_CAPACITY;
    while (capacity * MAX_LOAD < Math.max(windows, MIN_CAPACITY)) capacity *= 2;
    this.table = new Int32Array(capacity);
    this.mask = capacity - 1;
    this.used = 0;
    this.tables.push(this.table);
  }

  insert(place: number, print: number): void {
    // Full (or none yet): a new table as large as everything so far, so there are few tables.
    if (this.used + 1 > this.table.length * MAX_LOAD) this.grow(this.windows);
    const table = this.table;
    for (let i = place & this.mask; ; i = (i + 1) & this.mask) {
      const t = table[i]!;
      if (t === print) return;
      if (t === 0) {
        table[i] = print;
        this.used++;
        this.windows++;
        return;
      }
    }
  }

  has(place: number, print: number): boolean {
    for (const table of this.tables) {
      const mask = table.length - 1;
      for (let i = place & mask; ; i = (i + 1) & mask) {
        const t = table[i]!;
        if (t === print) return true;
        if (t === 0) break;
      }
    }
    return false;
  }

  /** Bytes the tables take. */
  get bytes(): number {
    let n = 0;
    for (const t of this.tables) n += t.byteLength;
    return n;
  }
}

/** A compaction under way: the live values, indexed again a slice at a time. */
interface Compaction {
  readonly into: Segments;
  readonly pending: unknown[];
}

/**
 * @internal The values of one store, indexed for the fragment rule. `in(text)` answers for every
 * store alive in the process; {@link carriesAnyValue} does the same without a store at hand.
 */
export class ValueIndex implements FragmentCheck {
  private segments = new Segments();
  /** Windows held after the last compaction (the next one starts at twice as many). */
  private baseline = 0;
  private compaction: Compaction | undefined;
  /** Versions fetched in the running round that are not in a slot yet (cleared as each entry settles). */
  private readonly incoming = new Map<object, unknown[]>();
  private readonly ref = new WeakRef(this);
  private closed = false;

  constructor(private readonly host: ValueHost) {
    live.add(this.ref);
  }

  /**
   * Indexes a value fetched for `owner` (an entry) before the round swaps it in, so a failure
   * reported in the same round that quotes it is caught. Every value a slot ever holds comes
   * through here: this is where the index is built, one value at a time.
   */
  fetched(owner: object, value: unknown): void {
    if (this.closed) return;
    const list = this.incoming.get(owner) ?? [];
    list.push(value);
    this.incoming.set(owner, list);
    const chars = addValue(this.segments, value);
    if (this.compaction) addValue(this.compaction.into, value);
    // A compaction keeps pace with what arrives: at least twice the arrival's own size.
    this.step(Math.max(SLICE_CHARS, 2 * chars));
  }

  /**
   * The store closed: its values leave the process-wide check (a closed store holds nothing a
   * caller can read), and the tables are dropped, so checks cost what the open stores hold and a
   * closed store is not kept reachable.
   */
  close(): void {
    live.delete(this.ref);
    this.closed = true;
    this.segments = new Segments();
    this.compaction = undefined;
    this.incoming.clear();
  }

  /** `owner`'s fetched versions are now in its slots (or were rejected, and stay indexed until a compaction). */
  settled(owner: object): void {
    this.incoming.delete(owner);
  }

  /** Whether `text` carries a fragment (raw or encoded) of any value of any store alive in the process. */
  in(text: string): boolean {
    return carriesAnyValue(text);
  }

  /** @internal What the index holds: fingerprints, table bytes, tables, whether a compaction runs. */
  get size(): { windows: number; bytes: number; tables: number; compacting: boolean } {
    return {
      windows: this.segments.windows,
      bytes: this.segments.bytes + (this.compaction?.into.bytes ?? 0),
      tables: this.segments.tables.length,
      compacting: this.compaction !== undefined,
    };
  }

  /** Called before a check: one step of a compaction, if one is due. */
  prepare(): void {
    this.step();
  }

  /**
   * Starts a compaction when the index has more than MAX_TABLES tables (each is a lookup per
   * window of every check), or doubled since the last look with at least a third of it values
   * that left; runs one slice of it.
   */
  private step(budget = SLICE_CHARS): void {
    if (this.compaction === undefined) {
      const many = this.segments.tables.length > MAX_TABLES;
      if (!many && this.segments.windows < Math.max(2 * this.baseline, 4 * MIN_CAPACITY)) return;
      const pending: unknown[] = [];
      for (const slot of this.host.slots.values()) {
        if (!slot.loaded) continue;
        pending.push(slot.value, slot.previousValue);
      }
      for (const list of this.incoming.values()) pending.push(...list);
      const liveWindows = pending.reduce<number>((n, v) => n + sizeOf(v), 0);
      if (!many && this.segments.windows < 1.5 * liveWindows) {
        this.baseline = this.segments.windows;
        return;
      }
      this.compaction = { into: new Segments(liveWindows), pending };
    }
    const { into, pending } = this.compaction;
    while (budget > 0 && pending.length > 0) budget -= addValue(into, pending.pop());
    if (pending.length > 0) return;
    this.segments = into;
    this.baseline = into.windows;
    this.compaction = undefined;
  }

  /** Whether one view of a text holds an indexed window or a quoted short value. */
  hits(view: string): boolean {
    const segments = this.segments;
    if (segments.windows > 0 && view.length >= FRAGMENT_LENGTH) {
      let h1 = 0;
      let h2 = 0;
      for (let j = 0; j < view.length; j++) {
        const c = view.charCodeAt(j);
        h1 = (Math.imul(h1, B1) + c) | 0;
        h2 = (Math.imul(h2, B2) + c) | 0;
        if (j >= FRAGMENT_LENGTH) {
          const out = view.charCodeAt(j - FRAGMENT_LENGTH);
          h1 = (h1 - Math.imul(out, P1)) | 0;
          h2 = (h2 - Math.imul(out, P2)) | 0;
        }
        if (j >= FRAGMENT_LENGTH - 1 && segments.has(mix(h1), mix(h2) || 1)) return true;
      }
    }
    return segments.short.size > 0 && quotedShort(view, segments.short);
  }
}

/** About how many windows a value gives (sizes a compaction's table; an estimate is enough). */
function sizeOf(v: unknown): number {
  if (typeof v === 'string') return v.length;
  // UTF-8 and Latin-1: about 2 characters per byte.
  if (v instanceof SecretBytes || ArrayBuffer.isView(v)) return v.byteLength * 2;
  return v === undefined || v === null ? 0 : 64;
}

/** Indexes every string `value` shows up as into `into`; returns the characters it read. */
function addValue(into: Segments, value: unknown): number {
  let chars = 0;
  walk(value, (s) => {
    chars += s.length;
    addString(into, s);
  });
  return Math.max(1, chars);
}

function addString(into: Segments, s: string): void {
  if (s.length === 0) return;
  if (s.length < FRAGMENT_LENGTH) {
    into.short.add(s);
    return;
  }
  let h1 = 0;
  let h2 = 0;
  let blanks = 0;
  for (let j = 0; j < s.length; j++) {
    const c = s.charCodeAt(j);
    h1 = (Math.imul(h1, B1) + c) | 0;
    h2 = (Math.imul(h2, B2) + c) | 0;
    if (isBlank(c)) blanks++;
    if (j >= FRAGMENT_LENGTH) {
      const out = s.charCodeAt(j - FRAGMENT_LENGTH);
      h1 = (h1 - Math.imul(out, P1)) | 0;
      h2 = (h2 - Math.imul(out, P2)) | 0;
      if (isBlank(out)) blanks--;
    }
    // A window of whitespace only is shared by any text: never a fragment.
    if (j >= FRAGMENT_LENGTH - 1 && blanks < FRAGMENT_LENGTH) into.insert(mix(h1), mix(h2) || 1);
  }
}

/**
 * Whether `text` carries a fragment (see {@link Fragments}) of any value held by any store alive
 * in the process: current and previous values, versions being fetched, binary values as raw bytes,
 * base64 and hex, schema outputs of any shape, and object keys that look like data ({@link dataLikeKey}).
 */
export function carriesAnyValue(text: string): boolean {
  if (text.length === 0) return false;
  const indexes: ValueIndex[] = [];
  for (const ref of live) {
    const index = ref.deref();
    if (index === undefined) live.delete(ref);
    else {
      index.prepare();
      indexes.push(index);
    }
  }
  if (indexes.length === 0) return false;
  for (const view of textViews(text)) for (const index of indexes) if (index.hits(view)) return true;
  // The text is printed inside something: JSON.stringify and loggers quote it, util.inspect uses
  // single quotes, a log line adds a space or a newline. Five characters of a value at either end
  // of the text plus that delimiter are six characters of the value in the output when the value
  // has the same character there (found by the simulation: `…bfDx本` in a message, `"` closing
  // it, and a password `…bfDx本"…`). The edges are checked with each delimiter added.
  const head = text.slice(0, FRAGMENT_LENGTH - 1);
  const tail = text.slice(-(FRAGMENT_LENGTH - 1));
  for (const d of EDGE_DELIMITERS)
    for (const edge of [d + head, tail + d]) for (const index of indexes) if (index.hits(edge)) return true;
  return false;
}

/** What printers put around a text: quotes, a space, a newline. */
const EDGE_DELIMITERS = ['"', "'", '`', ' ', '\n'];

const IDENTIFIER = /^[A-Za-z_$][\w$.:-]{0,63}$/;

/**
 * How Hush reports an error thrown by code it does not own (a rotation listener, an SDK, a
 * schema): its name and its `code`, never its message — user code handed a value tends to put it
 * in the message. Name and code are kept only when they look like identifiers and carry no
 * fragment of `value` nor of any value of any store in the process.
 */
export function describeError(error: unknown, value?: unknown): string {
  if (!(error instanceof Error)) return `a non-Error value was thrown (${typeof error})`;
  const fragments = Fragments.of(value);
  const ok = (s: unknown): s is string =>
    typeof s === 'string' && IDENTIFIER.test(s) && !fragments.in(s) && (isKnownCode(s) || !carriesAnyValue(s));
  const name = ok(error.name) ? error.name : 'Error';
  const code = (error as { code?: unknown }).code;
  return `${name}${ok(code) ? ` (code ${code})` : ''} (message withheld)`;
}

/** Whitespace (a window of nothing else is never a fragment). */
function isBlank(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0xfeff || c === 0x2028 || c === 0x2029;
}

/** A value shorter than a fragment, quoted in `text` (`"ab"`, `'ab'`, `` `ab` ``). */
function quotedShort(text: string, short: ReadonlySet<string>): boolean {
  for (let i = 0; i < text.length; i++) {
    const q = text.charCodeAt(i);
    if (q !== 34 && q !== 39 && q !== 96) continue;
    const last = Math.min(text.length - 1, i + FRAGMENT_LENGTH);
    for (let end = i + 2; end <= last; end++) {
      if (text.charCodeAt(end) === q && short.has(text.slice(i + 1, end))) return true;
    }
  }
  return false;
}

/*
 * Each window of FRAGMENT_LENGTH characters gets two independent 32-bit hashes, rolled along the
 * text (one multiply-add per character each): one places the window in the table, the other is
 * its fingerprint there (never 0, which marks an empty slot). Together about 50 bits: a false
 * match (which would only withhold a harmless text) is rarer than 1 in 10^6 checks even with
 * millions of windows indexed.
 */
const B1 = 0x01000193;
const B2 = 0x5bd1e995;
/** B^FRAGMENT_LENGTH mod 2^32: what the character leaving the window contributed. */
const P1 = power(B1, FRAGMENT_LENGTH);
const P2 = power(B2, FRAGMENT_LENGTH);

function power(base: number, exponent: number): number {
  let p = 1;
  for (let i = 0; i < exponent; i++) p = Math.imul(p, base);
  return p;
}

/** Murmur3's finaliser: spreads a polynomial hash over all 32 bits. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/**
 * Every string a value can show up as in text: string leaves, numbers, object keys that look like
 * data ({@link dataLikeKey}; every key of a Map) (a map keyed by
 * secrets), bytes (as UTF-8, Latin-1, base64 at each byte alignment and hex), and the contents of
 * Maps, Sets, URLs and secret keys. Only own data properties are read (no getter runs, no Proxy
 * trap); a class instance's own `toJSON`/`toString`, when it has them, are asked once each (a
 * class that hides its state in private fields prints it that way).
 */
function walk(value: unknown, add: (s: string) => void): void {
  if (typeof value === 'string') return add(value);
  if (typeof value === 'number' || typeof value === 'bigint') return add(String(value));
  if (value === null || typeof value !== 'object') return;
  new Walker(add).visit(value, 0);
}

class Walker {
  private readonly seen = new Set<object>();
  private chars = MAX_CHARS_PER_VALUE;

  constructor(private readonly add: (s: string) => void) {}

  private text(s: string): void {
    this.chars -= s.length;
    this.add(s);
  }

  visit(value: unknown, depth: number): void {
    if (depth > MAX_DEPTH || this.chars <= 0) return;
    if (typeof value === 'string') return this.text(value);
    if (typeof value === 'number' || typeof value === 'bigint') return this.text(String(value));
    if (value === null || typeof value !== 'object' || this.seen.has(value)) return;
    this.seen.add(value);
    if (types.isProxy(value)) return;
    const text = (s: string) => this.text(s);
    if (value instanceof SecretBytes) {
      const copy = value.toUint8Array();
      bytes(copy, text);
      copy.fill(0);
      return;
    }
    if (ArrayBuffer.isView(value)) return bytes(new Uint8Array(value.buffer, value.byteOffset, value.byteLength), text);
    if (types.isAnyArrayBuffer(value)) return bytes(new Uint8Array(value), text);
    if (value instanceof KeyObject) return keyObject(value, text);
    if (value instanceof URL) {
      this.text(value.href);
      for (const part of [value.username, value.password]) if (part) this.text(safeDecode(part));
      return;
    }
    if (types.isDate(value) || types.isRegExp(value) || types.isPromise(value)) return;
    if (types.isMap(value)) {
      for (const [k, v] of Map.prototype.entries.call(value) as IterableIterator<[unknown, unknown]>) {
        this.visit(k, depth + 1);
        this.visit(v, depth + 1);
      }
      return;
    }
    if (types.isSet(value)) {
      for (const v of Set.prototype.values.call(value) as IterableIterator<unknown>) this.visit(v, depth + 1);
      return;
    }
    const array = Array.isArray(value);
    for (const key of Reflect.ownKeys(value)) {
      if (typeof key !== 'string' || (array && key === 'length')) continue;
      if (!array && dataLikeKey(key)) this.text(key);
      const desc = Reflect.getOwnPropertyDescriptor(value, key);
      if (desc && 'value' in desc) this.visit(desc.value, depth + 1);
    }
    const proto = Object.getPrototypeOf(value) as object | null;
    if (proto !== null && proto !== Object.prototype && proto !== Array.prototype) {
      for (const method of ['toJSON', 'toString'] as const) {
        const fn = (value as Record<string, unknown>)[method];
        if (typeof fn !== 'function' || fn === Object.prototype.toString) continue;
        try {
          const out: unknown = fn.call(value);
          if (typeof out === 'string') this.text(out);
          else if (method === 'toJSON') this.visit(out, depth + 1);
        } catch {
          // A class whose printing throws prints nothing either.
        }
      }
    }
  }
}

/**
 * Whether an object key counts as a value: a key that looks like data (it holds a digit or any
 * character but an ASCII letter, `_` and `-`, or is longer than 24 characters: a token, an
 * e-mail, a host, a passphrase) is indexed; one that looks like a field name (`password`,
 * `client_secret`, `apiKey`) is not — indexing those made every source message that says
 * "secret" or "password" withheld. A map keyed by secrets (tokens, keys, addresses) keeps its
 * keys indexed; the values under any key always are.
 */
export function dataLikeKey(key: string): boolean {
  return key.length > 24 || !/^[A-Za-z_-]*$/.test(key);
}

/**
 * Bytes as the texts they show up as: decoded as UTF-8 and as Latin-1 (one character per byte).
 * Their base64 and hex forms are caught on the text side, which decodes every base64 and hex run
 * it finds to Latin-1 too — so a hex echo counts from 6 bytes (12 hex digits) on, not from 3
 * bytes, which random hex would match by chance with thousands of keys indexed.
 */
function bytes(b: Uint8Array, text: (s: string) => void): void {
  if (b.byteLength === 0) return;
  const buffer = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  // Invalid UTF-8 decodes to U+FFFD: those runs are shared by any mangled text, so they are cut out.
  for (const part of buffer.toString('utf8').split('\uFFFD')) text(part);
  text(buffer.toString('latin1'));
}

function keyObject(key: KeyObject, text: (s: string) => void): void {
  try {
    if (key.type === 'secret') bytes(key.export(), text);
    else if (key.type === 'private') text(key.export({ format: 'pem', type: 'pkcs8' }) as string);
  } catch {
    // A key that cannot be exported cannot be printed either.
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
