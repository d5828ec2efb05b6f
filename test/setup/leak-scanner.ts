/**
 * Leak canary scanner shared by the Jest environment, the per-file setup and the global teardown.
 *
 * Every secret value in the test suite contains the token `CANARY`. Anything a test process writes
 * (stdout, stderr, console.*, fd 1/2 writes such as pino's) is scanned for it; a hit is recorded
 * with the canary masked, appended to the run's report file, and fails the run.
 */
import { appendFileSync } from 'node:fs';
import { format } from 'node:util';

/** The token every test secret value contains. */
export const CANARY = 'CANARY';
/** Environment variable naming the run's leak report file (set by global-setup). */
export const REPORT_ENV = 'HUSH_LEAK_REPORT';
/** Where the environment publishes its recorder for the per-file setup (test global). */
export const RECORDER_KEY = '__hushLeakRecorder';

export interface LeakHit {
  readonly testPath: string;
  readonly channel: string;
  /** Text around the first hit, with every canary masked so the report itself never leaks. */
  readonly snippet: string;
}

/**
 * The base64 of the canary at each of the three byte alignments it can sit at inside a longer
 * text: the characters that do not depend on the bytes around it (7 or 8 of them).
 */
function base64Forms(token: string): string[] {
  const forms: string[] = [];
  for (let shift = 0; shift < 3; shift++) {
    const encode = (fill: number) =>
      Buffer.concat([Buffer.alloc(shift, fill), Buffer.from(token), Buffer.alloc(3, fill)]).toString('base64');
    const [a, b] = [encode(0x00), encode(0xff)];
    let best = '';
    for (let i = 0, run = ''; i <= a.length; i++) {
      if (i < a.length && a[i] === b[i]) run += a[i];
      else {
        if (run.length > best.length) best = run;
        run = '';
      }
    }
    forms.push(best);
  }
  return forms;
}

/**
 * What a leaked canary looks like in text: raw (also inside JSON-, inspect- or URL-escaped text,
 * which leave its letters alone), hex (either case) and base64 / base64url at any alignment.
 */
const CANARY_FORMS: readonly string[] = [CANARY, Buffer.from(CANARY).toString('hex'), ...base64Forms(CANARY)];
const CANARY_PATTERN = new RegExp(CANARY_FORMS.map((f) => f.replace(/[+/]/g, '[+/_-]')).join('|'), 'i');

/** Masks every canary (in every form) so a report or a failure message can quote the context safely. */
export function maskCanary(text: string): string {
  return text.replace(new RegExp(CANARY_PATTERN.source, 'gi'), (m) => `${m[0]}#${m.slice(2)}`);
}

/** Converts anything written to a stream (string, Buffer, Uint8Array) to text. */
export function chunkToText(chunk: unknown): string {
  if (typeof chunk === 'string') return chunk;
  if (chunk instanceof Uint8Array)
    return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('utf8');
  return String(chunk);
}

/** The masked context of the first canary in `text`, or undefined when there is none. */
export function findCanary(text: string): string | undefined {
  const match = CANARY_PATTERN.exec(text);
  if (!match) return undefined;
  const at = match.index;
  return maskCanary(text.slice(Math.max(0, at - 60), at + match[0].length + 60)).replace(/\s+/g, ' ');
}

/** Records canary hits for one test file (and appends them to the run's report file). */
export class LeakRecorder {
  readonly hits: LeakHit[] = [];
  active = true;

  constructor(
    public testPath: string,
    /** `null`: keep hits in memory only. */
    private readonly reportFile: string | null = process.env[REPORT_ENV] || null,
  ) {}

  /** Scans `text`; returns true (and records) when it contains a canary. */
  check(channel: string, text: string): boolean {
    if (!this.active) return false;
    const snippet = findCanary(text);
    if (snippet === undefined) return false;
    const hit: LeakHit = { testPath: this.testPath, channel, snippet };
    this.hits.push(hit);
    if (this.reportFile) {
      try {
        appendFileSync(this.reportFile, `${JSON.stringify(hit)}\n`);
      } catch {
        // The in-file afterAll check still fails the test file.
      }
    }
    return true;
  }
}

type Write = (...args: any[]) => any;

/**
 * Wraps process.stdout.write, process.stderr.write and fs.write/fs.writeSync on fds 1 and 2
 * (sonic-boom, used by pino, writes to the fd directly). Returns a function that undoes it.
 */
export function installStreamScanners(recorder: LeakRecorder, fs: { writeSync: Write; write: Write }): () => void {
  const undo: (() => void)[] = [];
  for (const [name, stream] of [
    ['stdout', process.stdout],
    ['stderr', process.stderr],
  ] as const) {
    const original = stream.write;
    const wrapper = function (this: unknown, chunk: unknown, ...rest: unknown[]) {
      recorder.check(`process.${name}.write`, chunkToText(chunk));
      return (original as Write).call(stream, chunk, ...rest);
    };
    stream.write = wrapper as typeof stream.write;
    undo.push(() => {
      if (stream.write === (wrapper as unknown)) stream.write = original;
    });
  }
  for (const method of ['writeSync', 'write'] as const) {
    const original = fs[method];
    const wrapper = function (this: unknown, fd: unknown, chunk: unknown, ...rest: unknown[]) {
      if (fd === 1 || fd === 2) recorder.check(`fs.${method}(${fd})`, chunkToText(chunk));
      return original.call(this, fd, chunk, ...rest);
    };
    fs[method] = wrapper;
    undo.push(() => {
      if (fs[method] === wrapper) fs[method] = original;
    });
  }
  return () => {
    recorder.active = false;
    for (const u of undo.reverse()) u();
  };
}

const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace', 'dir', 'table', 'group', 'assert'] as const;

/** Wraps console methods: the formatted line (util.format, so util.inspect hooks apply) is scanned. */
export function wrapConsole(target: Console, recorder: LeakRecorder): void {
  for (const method of CONSOLE_METHODS) {
    const original = (target as unknown as Record<string, Write>)[method];
    if (typeof original !== 'function') continue;
    (target as unknown as Record<string, Write>)[method] = function (this: unknown, ...args: unknown[]) {
      recorder.check(`console.${method}`, format(...args));
      return original.apply(target, args);
    };
  }
}

/** Formats hits for a failure message (canaries already masked). */
export function describeHits(hits: readonly LeakHit[]): string {
  return hits.map((h) => `  - ${h.testPath} via ${h.channel}: …${h.snippet}…`).join('\n');
}
