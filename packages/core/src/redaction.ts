import { inspect } from 'node:util';

/**
 * Everything Hush does to keep a value out of text: the one placeholder, objects that print as
 * it, and the fragment rule for text Hush did not write.
 *
 * The rule, applied wherever text leaves Hush (errors, events, logs, health, metrics): no run of
 * {@link FRAGMENT_LENGTH} or more characters of a value appears in it — raw, JSON- or
 * inspect-escaped (any depth), URL-encoded, base64 (base64url too) or hex — and a value shorter
 * than that never appears quoted. Hush's own text names secrets, ids, keys and options only; text
 * from elsewhere (schema messages, AWS and agent messages, listener errors) is either left out or
 * checked first: against the values at hand with {@link Fragments} (linear in the size of the text
 * plus the size of the values), and against every value of every store in the process with
 * `value-index.ts` (which also describes a thrown error safely: `describeError`). Both undo the
 * text's encodings with {@link textViews}.
 */

/** The text every Hush container prints instead of a value. */
export const REDACTED = '[redacted]';

/** Characters of a value that count as a fragment of it. */
export const FRAGMENT_LENGTH = 6;

/** Foreign text longer than this is never carried (a message that long is quoting data). */
export const MAX_FOREIGN_TEXT = 300;

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

/** How a read-only record's mutation attempts fail. */
export type ReadOnlyFailure = () => never;

/**
 * A read-only record of values that can be read (`rec.db`, `rec['db']`), spread (`{ ...rec }`),
 * listed (`Object.keys`, `Object.entries`, `for…in`) and checked (`'db' in rec`), but that prints
 * no value: the values live in a closure of a Proxy whose target holds only the redaction hooks,
 * so `util.inspect` (which shows a Proxy's target unless `showProxy` is set), `console.dir`
 * (`customInspect: false`), `getters: true`, `showHidden: true` and `JSON.stringify` find none,
 * and `console.table` is given no keys. `structuredClone` throws (a Proxy cannot be cloned).
 * A read is one trap and one property load: no I/O, no await.
 *
 * @param onMissing what reading an absent string key returns or throws (default `undefined`).
 * @param readOnly how assignment, deletion and definition fail (default a TypeError).
 */
export function redactedRecord<T extends Record<string, unknown>>(
  values: T,
  label: string,
  onMissing?: (prop: string) => unknown,
  readOnly: ReadOnlyFailure = () => {
    throw new TypeError(`${label} is read-only; copy it out with { ...${label.toLowerCase()} } to change values.`);
  },
): Readonly<T> {
  // A plain object (fast properties; Object.create(null) would start in dictionary mode).
  const own: Record<string, unknown> = Object.freeze({ ...values });
  const has = (prop: string): boolean => Object.prototype.hasOwnProperty.call(own, prop);
  const target = redactObject({}, label);
  const hooks = Reflect.ownKeys(target);
  return new Proxy(target, {
    get(t, prop, receiver) {
      if (typeof prop === 'string') {
        if (has(prop)) return own[prop];
        if (!(prop in t) && onMissing) return onMissing(prop);
      }
      return Reflect.get(t, prop, receiver);
    },
    has: (t, prop) => (typeof prop === 'string' && has(prop)) || prop in t,
    ownKeys: () => (calledByConsoleTable() ? hooks : [...Object.keys(own), ...hooks]),
    getOwnPropertyDescriptor(t, prop) {
      if (typeof prop === 'string' && has(prop))
        return { value: own[prop], writable: false, enumerable: true, configurable: true };
      return Reflect.getOwnPropertyDescriptor(t, prop);
    },
    set: readOnly,
    defineProperty: readOnly,
    deleteProperty: readOnly,
    setPrototypeOf: readOnly,
    preventExtensions: readOnly,
  }) as unknown as Readonly<T>;
}

/**
 * Whether the running `ownKeys` trap was called by `console.table`, which prints every value it
 * is given and cannot be told apart from a spread by the traps it calls. Only `ownKeys` asks
 * (never a read), so the stack is captured only when keys are listed.
 */
function calledByConsoleTable(): boolean {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 5;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  return /\bat (?:console|Console)\.table \(node:internal\/console\//.test(stack);
}

/** Prototypes `util.inspect` lists (and, with `getters: true`, calls the accessors of) under `showHidden`. */
const INSPECTED_PROTOTYPES = 3;

/**
 * A prototype holding `accessors` deep enough in an instance's chain that `util.inspect` never
 * lists them or calls them — with `showHidden: true` it walks the first {@link INSPECTED_PROTOTYPES}
 * prototypes of an instance of a user class and, with `getters: true`, calls their getters with
 * the instance. Property lookups through the extra empty prototypes stay inline-cached.
 *
 * @param parent what the accessors' object inherits from.
 * @param levelsAbove prototypes between the instance and the returned object (1 when it becomes
 *   the parent of a class's prototype, 0 when it becomes the instance's own prototype).
 * @internal
 */
export function hiddenAccessors(parent: object | null, accessors: PropertyDescriptorMap, levelsAbove: number): object {
  let top: object = Object.create(parent, accessors);
  for (let level = levelsAbove; level < INSPECTED_PROTOTYPES; level++) top = Object.create(top);
  return top;
}

const QUOTES = new Set(['"', "'", '`']);
const BASE64_RUN = /[A-Za-z0-9+/_-]{8,}/g;
const HEX_RUN = /(?:[0-9a-fA-F]{2}){6,}/g;
/** Hex bytes one separator apart: `util.inspect` of a Buffer (`<Buffer de ad …>`), a fingerprint (`de:ad:…`). */
const SEPARATED_HEX_RUN = /[0-9a-fA-F]{2}(?:[ :.-][0-9a-fA-F]{2}){5,}/g;
/** Six or more byte values in decimal, comma-separated: `JSON.stringify` of a Buffer (`"data":[222,173,…]`), `util.inspect` of a Uint8Array. */
const DECIMAL_BYTE_RUN =
  /(?<!\d)(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\s*,\s*(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){5,}(?!\d)/g;
const LINE_BREAK = /\r?\n/;
const LINE_BREAKS = /[ \t]*\r?\n[ \t]*/g;
const ESCAPE = /\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)/gs;
const SIMPLE_ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f', v: '\v', '0': '\0' };

/**
 * Every fragment of some values, indexed once so that any number of texts can be checked in time
 * linear in their length. Only windows of the raw value are indexed; encodings are undone on the
 * text side (unescaping, URL-decoding, base64 and hex decoding of the text's runs).
 */
export class Fragments {
  private readonly windows = new Set<string>();
  private readonly short = new Set<string>();

  private constructor() {}

  /** The fragments of every string leaf, object key and number of `values` (nested up to 64 levels). */
  static of(...values: unknown[]): Fragments {
    return Fragments.index(values, () => true);
  }

  /**
   * Like {@link Fragments.of}, choosing which object keys count (`keep(key)`); leaves always do.
   * A schema issue's path names keys the schema declared, which are not secret.
   */
  static index(values: readonly unknown[], keep: (key: string) => boolean): Fragments {
    const f = new Fragments();
    const visit = (v: unknown, depth: number): void => {
      if (depth > 64) return;
      if (typeof v === 'string') f.addString(v);
      else if (typeof v === 'number' || typeof v === 'bigint') f.addString(String(v));
      else if (v instanceof Uint8Array) f.addString(Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8'));
      else if (v && typeof v === 'object') {
        for (const [key, child] of Object.entries(v)) {
          if (keep(key)) f.addString(key);
          visit(child, depth + 1);
        }
      }
    };
    for (const v of values) visit(v, 0);
    return f;
  }

  private addString(s: string): void {
    if (s.length === 0) return;
    if (s.length < FRAGMENT_LENGTH) {
      this.short.add(s);
      return;
    }
    for (let i = 0; i + FRAGMENT_LENGTH <= s.length; i++) {
      const w = s.slice(i, i + FRAGMENT_LENGTH);
      if (w.trim() !== '') this.windows.add(w);
    }
  }

  /** Whether nothing was indexed (every check then passes). */
  get empty(): boolean {
    return this.windows.size === 0 && this.short.size === 0;
  }

  /** Whether `text` carries a fragment in any of the encodings. */
  in(text: string): boolean {
    if (this.empty || text.length === 0) return false;
    for (const view of textViews(text)) if (this.rawHits(view, undefined)) return true;
    return false;
  }

  /**
   * `text` with every raw fragment replaced by `[redacted]`; when a fragment is still there in
   * an encoded form, the whole text is replaced.
   */
  scrub(text: string): string {
    if (this.empty || text.length === 0) return text;
    const covered = new Uint8Array(text.length);
    if (!this.rawHits(text, covered)) return this.in(text) ? REDACTED : text;
    let out = '';
    for (let i = 0; i < text.length;) {
      if (covered[i]) {
        out += REDACTED;
        while (i < text.length && covered[i]) i++;
      } else {
        out += text[i];
        i++;
      }
    }
    return this.in(out) ? REDACTED : out;
  }

  /** Foreign text if it is short and carries no fragment, else `fallback`. */
  safe(text: string, fallback: string): string {
    return text.length <= MAX_FOREIGN_TEXT && !this.in(text) ? text : fallback;
  }

  /** Raw windows (and quoted short values) found in `text`; marks them in `covered` when given. */
  private rawHits(text: string, covered: Uint8Array | undefined): boolean {
    let hit = false;
    if (this.windows.size > 0) {
      for (let i = 0; i + FRAGMENT_LENGTH <= text.length; i++) {
        if (!this.windows.has(text.slice(i, i + FRAGMENT_LENGTH))) continue;
        if (!covered) return true;
        hit = true;
        covered.fill(1, i, i + FRAGMENT_LENGTH);
      }
    }
    if (this.short.size > 0) {
      for (let i = 0; i < text.length; i++) {
        const q = text[i]!;
        if (!QUOTES.has(q)) continue;
        for (let len = 1; len < FRAGMENT_LENGTH && i + len + 1 < text.length; len++) {
          if (text[i + len + 1] !== q || !this.short.has(text.slice(i + 1, i + len + 1))) continue;
          if (!covered) return true;
          hit = true;
          covered.fill(1, i + 1, i + len + 1);
        }
      }
    }
    return hit;
  }
}

/**
 * The text as written, and as it reads with each common encoding undone: JSON/inspect escapes (at
 * any depth, see {@link unescapes}), URL encoding (escapes undone too), every base64 (base64url too)
 * run decoded at each alignment and every hex run decoded (bare, or bytes separated by a space,
 * colon, dot or dash as `util.inspect` prints a Buffer), and every list of decimal bytes
 * (`JSON.stringify` of a Buffer), each as UTF-8 text (escapes and URL encoding undone too) and as
 * Latin-1 bytes.
 */
export function* textViews(text: string): Generator<string> {
  yield text;
  yield* unescapes(text);
  if (text.includes('%')) yield* urlDecoded(text);
  yield* runViews(text);
  // Base64 or hex inside another encoding: in a URL (`%2B`, `%2F`), in a JSON string (`\/`), or
  // wrapped in lines (MIME and PEM base64 every 64 or 76 characters, a hex dump): its runs are read
  // again with that encoding undone and the lines joined.
  const inner = new Set<string>();
  if (text.includes('%')) inner.add(urlDecode(text));
  if (text.includes('\\')) inner.add(unescape(text));
  for (const t of [text, ...inner]) if (LINE_BREAK.test(t)) inner.add(t.replace(LINE_BREAKS, ''));
  for (const t of inner) yield* runViews(t);
}

/** Every base64, hex and decimal-byte run of `text` decoded (see {@link textViews}). */
function* runViews(text: string): Generator<string> {
  for (const run of text.match(BASE64_RUN) ?? []) {
    const std = run.replace(/-/g, '+').replace(/_/g, '/');
    for (let offset = 0; offset < 4 && std.length - offset >= 8; offset++) {
      const body = std.slice(offset, offset + Math.floor((std.length - offset) / 4) * 4);
      yield* decoded(Buffer.from(body, 'base64'));
    }
  }
  for (const run of text.match(HEX_RUN) ?? []) {
    yield* decoded(Buffer.from(run, 'hex'));
    if (run.length > 13) yield* decoded(Buffer.from(run.slice(1, run.length - 1), 'hex'));
  }
  for (const run of text.match(SEPARATED_HEX_RUN) ?? []) yield* decoded(Buffer.from(run.replace(/[ :.-]/g, ''), 'hex'));
  for (const run of text.match(DECIMAL_BYTE_RUN) ?? []) yield* decoded(Buffer.from(run.split(',').map(Number)));
}

/**
 * Decoded bytes as text (UTF-8) and as bytes (Latin-1: one character per byte, for binary values).
 * The text may itself be escaped (base64 of a JSON document: a password with a backslash or a
 * quote is escaped inside it, so no six characters of it may survive as written; found by the
 * simulation, seed 6999): it is also read with its escapes undone.
 */
function* decoded(bytes: Buffer): Generator<string> {
  const text = bytes.toString('utf8');
  yield text;
  yield bytes.toString('latin1');
  yield* unescapes(text);
  if (text.includes('%')) yield* urlDecoded(text);
}

/**
 * `text` with its escapes undone, one level at a time, until none is left: the leak rule says "at
 * any depth" (a value JSON-escaped five times still reaches a log whole). Each JSON or inspect level
 * at least doubles the backslashes before an escaped character (depth d puts 2^d - 1 of them there),
 * so a level beyond the fourth is read only when the level before it held a doubled backslash, and a
 * text of n characters holds at most log2(n + 1) levels: text built so that every pass undoes only
 * one escape (`\x5cx5cx5c…`) costs four passes, as before.
 */
function* unescapes(text: string): Generator<string> {
  const levels = Math.log2(text.length + 1);
  // Whether the text before the last pass held a doubled backslash: then this one may hold escapes.
  let deeper = true;
  for (let depth = 0; text.includes('\\') && (depth < 4 || (depth < levels && deeper)); depth++) {
    deeper = text.includes('\\\\');
    const next = unescape(text);
    if (next === text) return;
    text = next;
    yield text;
  }
}

/** URL-encoded text decoded, and with the escapes that were inside the encoding undone (a URL-encoded JSON document). */
function* urlDecoded(text: string): Generator<string> {
  const decodedText = urlDecode(text);
  yield decodedText;
  yield* unescapes(decodedText);
}

function unescape(text: string): string {
  return text.replace(ESCAPE, (_, e: string) => {
    if (e.length === 5 || e.length === 3) return String.fromCharCode(parseInt(e.slice(1), 16));
    return SIMPLE_ESCAPES[e] ?? e;
  });
}

function urlDecode(text: string): string {
  return text.replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => Buffer.from(run.replace(/%/g, ''), 'hex').toString('utf8'));
}

/**
 * `text` with every fragment of `value` removed (see {@link Fragments.scrub}). For many texts
 * against one value, build `Fragments.of(value)` once instead.
 */
export function scrub(text: string, value: unknown): string {
  return Fragments.of(value).scrub(text);
}
