import { KeyObject } from 'node:crypto';
import { types } from 'node:util';
import { isKnownCode } from './known-codes';
import { FRAGMENT_LENGTH, Fragments, textViews } from './redaction';
import { SecretBytes } from './secret-bytes';

/*
 * The store-wide (and process-wide) side of the leak rule: foreign text is checked against every
 * value of every secret of every store alive in the process, not only the secret it arrived on.
 *
 * Each store owns one ValueIndex. It is built on the first check (a store that never meets a
 * foreign failure pays nothing), then kept in step with the store's generation: a check after a
 * value changed adds the new values' windows. Windows are kept as 32-bit fingerprints in an
 * open-addressing table (4 bytes a slot, no string per window), placed by a second, independent
 * hash; a value that left the store (a previous value rotated out) stays indexed until the table
 * is rebuilt from the live values when it fills up, which only makes the check stricter.
 */

/** @internal What an index reads from its store: the slots (current and previous values) and the generation. */
export interface ValueHost {
  readonly slots: ReadonlyMap<string, IndexedSlot>;
  readonly generation: number;
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
/** When the table is this full it is rebuilt from the live values (larger if they still need it). */
const MAX_LOAD = 0.7;

/** Every open store in the process (weakly held: a store nobody references is not kept alive by this). */
const live = new Set<WeakRef<ValueIndex>>();

/**
 * @internal The values of one store, indexed for the fragment rule. `in(text)` answers for every
 * store alive in the process; {@link carriesAnyValue} does the same without a store at hand.
 */
export class ValueIndex implements FragmentCheck {
  private table = new Int32Array(0);
  private mask = 0;
  private used = 0;
  private readonly short = new Set<string>();
  private built = false;
  private generation = -1;
  /** What each slot held when last indexed (by identity), so a sync adds only what changed. */
  private readonly seen = new Map<IndexedSlot, readonly [unknown, unknown]>();
  /** Versions fetched in the running round that are not in a slot yet (cleared as each entry settles). */
  private readonly incoming = new Map<object, unknown[]>();
  private readonly ref = new WeakRef(this);

  constructor(private readonly host: ValueHost) {
    live.add(this.ref);
  }

  /**
   * Notes a value fetched for `owner` (an entry) before the round swaps it in, so a failure
   * reported in the same round that quotes it is caught. Costs nothing until the index is built.
   */
  fetched(owner: object, value: unknown): void {
    const list = this.incoming.get(owner) ?? [];
    list.push(value);
    this.incoming.set(owner, list);
    if (this.built) this.addValue(value);
  }

  /**
   * The store closed: its values leave the process-wide check (a closed store holds nothing a
   * caller can read), and the table is dropped, so checks cost what the open stores hold and a
   * closed store is not kept reachable.
   */
  close(): void {
    live.delete(this.ref);
    this.table = new Int32Array(0);
    this.mask = 0;
    this.used = 0;
    this.short.clear();
    this.seen.clear();
    this.incoming.clear();
    this.built = false;
  }

  /** `owner`'s fetched versions are now in its slots (or were rejected, and stay indexed until a rebuild). */
  settled(owner: object): void {
    this.incoming.delete(owner);
  }

  /** Whether `text` carries a fragment (raw or encoded) of any value of any store alive in the process. */
  in(text: string): boolean {
    return carriesAnyValue(text);
  }

  /** Brings the table up to date with the store's values. */
  private sync(): void {
    if (!this.built) return this.rebuild(capacityFor(this.liveWindows()));
    if (this.generation === this.host.generation) return;
    this.generation = this.host.generation;
    for (const slot of this.host.slots.values()) {
      if (!slot.loaded) continue;
      const was = this.seen.get(slot);
      if (was !== undefined && was[0] === slot.value && was[1] === slot.previousValue) continue;
      this.seen.set(slot, [slot.value, slot.previousValue]);
      if (was?.[0] !== slot.value && was?.[1] !== slot.value) this.addValue(slot.value);
      if (was?.[0] !== slot.previousValue && was?.[1] !== slot.previousValue) this.addValue(slot.previousValue);
    }
  }

  /** Indexes the live values from scratch into a table of at least `capacity` slots. */
  private rebuild(capacity: number): void {
    this.table = new Int32Array(capacity);
    this.mask = capacity - 1;
    this.used = 0;
    this.short.clear();
    this.seen.clear();
    this.built = true;
    this.generation = this.host.generation;
    for (const slot of this.host.slots.values()) {
      if (!slot.loaded) continue;
      this.seen.set(slot, [slot.value, slot.previousValue]);
      this.addValue(slot.value);
      this.addValue(slot.previousValue);
    }
    for (const list of this.incoming.values()) for (const v of list) this.addValue(v);
  }

  /** Whether one view of a text holds an indexed window or a quoted short value. */
  hits(view: string): boolean {
    if (this.used > 0 && view.length >= FRAGMENT_LENGTH) {
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
        if (j >= FRAGMENT_LENGTH - 1 && this.has(mix(h1), mix(h2) || 1)) return true;
      }
    }
    return this.short.size > 0 && quotedShort(view, this.short);
  }

  /** Called before a check: builds or updates the index. */
  prepare(): void {
    this.sync();
  }

  private readonly addText = (s: string): void => this.addString(s);

  private addValue(value: unknown): void {
    walk(value, this.addText);
  }

  private addString(s: string): void {
    if (s.length === 0) return;
    if (s.length < FRAGMENT_LENGTH) {
      this.short.add(s);
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
      if (j >= FRAGMENT_LENGTH - 1 && blanks < FRAGMENT_LENGTH) this.insert(mix(h1), mix(h2) || 1);
    }
  }

  private insert(place: number, print: number): void {
    if (this.used + 1 > this.table.length * MAX_LOAD) {
      // Full: rebuild from the live values (dropping values that left), larger if they still fill it.
      this.rebuild(Math.max(this.table.length, capacityFor(this.liveWindows())));
    }
    for (let i = place & this.mask; ; i = (i + 1) & this.mask) {
      const t = this.table[i]!;
      if (t === print) return;
      if (t === 0) {
        this.table[i] = print;
        this.used++;
        return;
      }
    }
  }

  private has(place: number, print: number): boolean {
    for (let i = place & this.mask; ; i = (i + 1) & this.mask) {
      const t = this.table[i]!;
      if (t === print) return true;
      if (t === 0) return false;
    }
  }

  /** About how many windows the live values need (for sizing a rebuild; an estimate is enough). */
  private liveWindows(): number {
    let n = 0;
    const count = (s: string) => (n += Math.max(0, s.length - FRAGMENT_LENGTH + 1));
    const estimate = (v: unknown): void => {
      if (typeof v === 'string') n += v.length;
      // UTF-8 and Latin-1: about 2 characters per byte.
      else if (v instanceof SecretBytes || ArrayBuffer.isView(v)) n += v.byteLength * 2;
      else walk(v, count);
    };
    for (const slot of this.host.slots.values()) {
      if (!slot.loaded) continue;
      estimate(slot.value);
      estimate(slot.previousValue);
    }
    for (const list of this.incoming.values()) for (const v of list) estimate(v);
    return n;
  }
}

/**
 * Whether `text` carries a fragment (see {@link Fragments}) of any value held by any store alive
 * in the process: current and previous values, versions being fetched, binary values as raw bytes,
 * base64 and hex, schema outputs of any shape, and object keys.
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
  return false;
}

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

/** Table slots for `windows` windows: room for half as many again before the next rebuild. */
function capacityFor(windows: number): number {
  let capacity = MIN_CAPACITY;
  while (capacity * MAX_LOAD < windows * 1.5) capacity *= 2;
  return capacity;
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
 * Every string a value can show up as in text: string leaves, numbers, object keys (a map keyed by
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
      if (!array) this.text(key);
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
