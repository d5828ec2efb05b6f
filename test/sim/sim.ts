/**
 * A deterministic simulation of `SecretStore` (issue 21, section 4). One seed gives one world
 * (secrets, rotation schedules), one set of stores and sources, and one list of operations; the
 * run drives real stores on a virtual clock (@sinonjs/fake-timers on the global timers, `Date` and
 * `performance`) and checks the invariants after every step. See README.md.
 */
import { inspect } from 'node:util';
import FakeTimers from '@sinonjs/fake-timers';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  SecretBytes,
  SecretStore,
  awsSecretsManager,
  memorySource,
  type LoggerLike,
  type MemorySource,
  type MeterProviderLike,
  type SecretStoreOptions,
} from '@hush/core';
import { FragmentFinder, errorTexts } from '../leaks/fragments';
import { Rng } from './rng';
import { Network, simRequestHandler, type OnDropped, type Transport, type WireCall } from './transport';
import { World, type FaultKind, type ValueKind } from './world';

// ---------------------------------------------------------------------------------------------
// Configuration and operations (all drawn from the seed, before the run)

export interface StoreConfig {
  readonly source: number;
  readonly names: Record<string, { id: string; format: 'string' | 'json' | 'binary'; key?: string; slow?: boolean }>;
  readonly refreshInterval: number;
  readonly refreshJitter: number;
  readonly backoffInitial: number;
  readonly backoffMax: number;
  readonly fetchTimeout: number;
  readonly bootTimeout: number;
  readonly minRefreshInterval: number;
  readonly maxStaleness: number;
  readonly rotationSchedule?: { safetyInterval: number; describeInterval: number; delay: number; jitter: number };
}

export interface SimConfig {
  readonly ids: Record<string, ValueKind>;
  readonly sources: ('aws' | 'memory')[];
  readonly maxAttempts: number[];
  readonly stores: StoreConfig[];
}

export type Op =
  | { t: 'advance'; ms: number }
  | { t: 'read'; store: number; name: string; via: 'get' | 'handle' | 'snapshot' }
  | { t: 'refresh'; store: number; name?: string }
  | { t: 'invalidate'; store: number; ids: string[] }
  | { t: 'load'; store: number }
  | { t: 'close'; store: number }
  | { t: 'put'; id: string }
  | { t: 'pending'; id: string }
  | { t: 'finish'; id: string }
  | { t: 'schedule'; id: string; enabled: boolean; inMs: number; periodMs: number; lagMs: number; failing: boolean }
  | { t: 'fault'; kind: FaultKind; id: string; ms: number }
  | { t: 'heal' }
  | { t: 'slow'; ms: number }
  | { t: 'inspect'; store: number }
  | { t: 'freeze'; ms: number };

const FAULTS: Record<FaultKind, number> = {
  throttle: 3,
  'server-error': 3,
  hang: 1,
  'hang-deaf': 1,
  'describe-hang-deaf': 0.5,
  'describe-throttle': 0.5,
  'per-id-error': 2,
  'per-id-code-echo': 1,
  'batch-error-echo': 1.5,
  'error-echo': 1.5,
};

export function generate(seed: number, steps: number): { config: SimConfig; ops: Op[] } {
  const rng = new Rng(seed);
  const ids: Record<string, ValueKind> = {};
  const idCount = rng.int(3, 10);
  for (let i = 0; i < idCount; i++) ids[`app/s${i}`] = rng.pick(['string', 'string', 'json', 'binary'] as const);
  const idList = Object.keys(ids);
  const sources: ('aws' | 'memory')[] = ['aws'];
  if (rng.chance(0.5)) sources.push(rng.pick(['aws', 'memory'] as const));
  const maxAttempts = sources.map(() => rng.int(1, 3));
  const stores: StoreConfig[] = [];
  const storeCount = rng.int(1, 3);
  for (let s = 0; s < storeCount; s++) {
    const names: StoreConfig['names'] = {};
    const picked = idList.filter(() => rng.chance(0.6));
    if (picked.length === 0) picked.push(rng.pick(idList));
    for (const id of picked) {
      const kind = ids[id]!;
      const slow = rng.chance(0.15);
      names[`n_${id.slice(4)}`] =
        kind === 'json' && rng.chance(0.3) ? { id, format: 'json', key: 'pw', slow } : { id, format: kind, slow };
      // An alias: a second name on the same id (one entry, one version in any snapshot).
      if (rng.chance(0.2)) names[`alias_${id.slice(4)}`] = { id, format: kind };
    }
    const backoffInitial = rng.pick([1_000, 2_000, 5_000]);
    const rotation = rng.chance(0.5);
    stores.push({
      source: rng.int(0, sources.length - 1),
      names,
      refreshInterval: rng.pick([30_000, 60_000, 120_000]),
      refreshJitter: rng.pick([0, 0.1, 0.2]),
      backoffInitial,
      backoffMax: rng.pick([20_000, 60_000]),
      fetchTimeout: rng.pick([2_000, 5_000, 10_000]),
      bootTimeout: rng.pick([10_000, 30_000]),
      minRefreshInterval: rng.pick([500, 1_000]),
      maxStaleness: rng.pick([300_000, 3_600_000]),
      ...(rotation
        ? {
            rotationSchedule: {
              safetyInterval: rng.pick([120_000, 300_000]),
              describeInterval: rng.pick([60_000, 3_600_000]),
              delay: rng.pick([0, 1_000, 5_000]),
              jitter: rng.pick([0, 2_000]),
            },
          }
        : {}),
    });
  }
  const ops: Op[] = stores.map((_, store) => ({ t: 'load' as const, store }));
  // Some ids rotate on a schedule from the start.
  for (const id of idList) {
    if (rng.chance(0.4))
      ops.push({
        t: 'schedule',
        id,
        enabled: true,
        inMs: rng.int(5_000, 120_000),
        periodMs: rng.int(30_000, 300_000),
        lagMs: rng.int(0, 3_000),
        failing: false,
      });
  }
  const weights = {
    advance: 40,
    read: 25,
    refresh: 4,
    invalidate: 4,
    load: 1,
    close: 0.1,
    put: 3,
    pending: 1,
    finish: 1,
    schedule: 1.5,
    fault: 6,
    heal: 1.5,
    slow: 1,
    inspect: 1,
  } as const;
  const storeNames = (s: number) => Object.keys(stores[s]!.names);
  while (ops.length < steps) {
    const kind = rng.weighted(weights);
    const store = rng.int(0, stores.length - 1);
    switch (kind) {
      case 'advance':
        ops.push({
          t: 'advance',
          ms: rng.chance(0.8) ? rng.int(0, 400) : rng.chance(0.8) ? rng.int(400, 5_000) : rng.int(5_000, 60_000),
        });
        break;
      case 'read':
        ops.push({
          t: 'read',
          store,
          name: rng.pick(storeNames(store)),
          via: rng.pick(['get', 'handle', 'snapshot'] as const),
        });
        break;
      case 'refresh':
        ops.push(
          rng.chance(0.5) ? { t: 'refresh', store } : { t: 'refresh', store, name: rng.pick(storeNames(store)) },
        );
        break;
      case 'invalidate': {
        const ids = idList.filter(() => rng.chance(0.3));
        ops.push({ t: 'invalidate', store, ids: ids.length > 0 ? ids : [rng.pick(idList)] });
        break;
      }
      case 'load':
      case 'close':
      case 'inspect':
        ops.push({ t: kind, store });
        break;
      case 'put':
      case 'pending':
      case 'finish':
        ops.push({ t: kind, id: rng.pick(idList) });
        break;
      case 'schedule':
        ops.push({
          t: 'schedule',
          id: rng.pick(idList),
          enabled: rng.chance(0.7),
          inMs: rng.int(-30_000, 120_000),
          periodMs: rng.int(30_000, 300_000),
          lagMs: rng.int(0, 3_000),
          failing: rng.chance(0.2),
        });
        break;
      case 'fault':
        ops.push({
          t: 'fault',
          kind: rng.weighted(FAULTS),
          id: rng.chance(0.3) ? '*' : rng.pick(idList),
          ms: rng.int(500, 30_000),
        });
        break;
      case 'heal':
        ops.push({ t: 'heal' });
        break;
      case 'slow':
        ops.push({ t: 'slow', ms: rng.chance(0.5) ? 0 : rng.int(1, 3_000) });
        break;
    }
  }
  // Freezes (a process SIGSTOPped, a Lambda environment frozen between invokes) come from a
  // stream of their own, so a seed's other ops are the ones it had before freezes existed.
  const freezeRng = new Rng(seed ^ 0xf4ee2e);
  const frozen: Op[] = [];
  for (const op of ops) {
    if (frozen.length > stores.length && freezeRng.chance(FREEZE_CHANCE)) {
      const r = freezeRng.next();
      frozen.push({
        t: 'freeze',
        // Mostly around fetchTimeout (2–10 s), some past refreshInterval, a few an idle Lambda's hours.
        ms:
          r < 0.6
            ? freezeRng.int(100, 12_000)
            : r < 0.9
              ? freezeRng.int(12_000, 600_000)
              : freezeRng.int(600_000, 7_200_000),
      });
    }
    frozen.push(op);
  }
  return { config: { ids, sources, maxAttempts, stores }, ops: frozen.slice(0, steps) };
}

/** The chance of a freeze before each op. */
const FREEZE_CHANCE = 0.01;
/** How late a fetch deadline fires, in ms, for the store to take it as a freeze (core's refresh.ts). */
const LATE_DEADLINE_MS = 250;

// ---------------------------------------------------------------------------------------------
// The run

export type InvariantName =
  | 'envelope'
  | 'monotonic'
  | 'snapshot-consistent'
  | 'convergence'
  | 'spin'
  | 'invalidate-answered'
  | 'leak'
  | 'code-shape'
  | 'internal-error'
  | 'call-after-close'
  | 'timer-after-close'
  | 'thaw-answer'
  | 'crash';

export interface Violation {
  readonly invariant: InvariantName;
  /** Index of the op after which it was seen (ops.length for the final phase). */
  readonly step: number;
  /** Virtual seconds since the start. */
  readonly at: number;
  readonly detail: string;
}

/** Plain data (strings, numbers, arrays, plain objects) prints the same through JSON and inspect. */
function plain(value: unknown, depth = 0): boolean {
  if (value === null || typeof value !== 'object') return typeof value !== 'function';
  if (depth > 4) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) return false;
  return Object.values(value).every((v) => plain(v, depth + 1));
}

/** How a logger would print `value`: JSON, and inspect too when it holds more than plain data (an Error, a class instance). */
function printed(value: unknown): string {
  return plain(value) ? JSON.stringify(value) : `${JSON.stringify(value)} ${inspect(value, { depth: 5 })}`;
}

/** Thrown inside a run to stop it at the first violation. */
class Stop extends Error {}

/** The window of the call envelope, in multiples of backoff.initial. */
export const ENVELOPE_WINDOW = 10;
/** Timer wakes allowed per virtual second, per store (plus a base for the SDK and the simulation). */
export const WAKES_PER_SECOND = { base: 100, perStore: 60 };
/** A code that may reach health, metrics, events and log fields: a name, never foreign text. */
const CODE_SHAPE = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;
const START = Date.UTC(2027, 0, 4, 9, 0, 0);
const ASYNC_OPS = new Set<Op['t']>(['refresh', 'invalidate', 'load', 'close']);

interface CallRecord {
  readonly store: number;
  readonly ids: readonly string[];
  readonly at: number;
  readonly seq: number;
  readonly reason: string;
  readonly op: 'fetch' | 'describe';
}

interface StoreRun {
  readonly index: number;
  readonly config: StoreConfig;
  readonly store: SecretStore;
  readonly logger: LoggerLike;
  closed: boolean;
  closing: boolean;
  /** name → highest world rank a reader has seen. */
  readonly seen: Map<string, number>;
  /** name → versions the store held (current, previous), as last read from health(). */
  readonly held: Map<string, string[]>;
  /** The tags of `held` (see heldBy), until `held` changes. */
  heldSet: Set<string> | undefined;
  /** Times of operations that legitimately add calls for an id ('*': every id). */
  readonly userOps: { at: number; ids: readonly string[] | '*' }[];
  readonly calls: Map<string, number[]>;
  lastHealth: string | undefined;
}

const realSetImmediate = globalThis.setImmediate;
const drain = (): Promise<void> => new Promise((resolve) => realSetImmediate(resolve));

let warmed: Promise<void> | undefined;
/** One real-time call through the SDK, so its one-time config reads (files) are done before the clock is faked. */
function warmUp(): Promise<void> {
  warmed ??= (async () => {
    const world = new World(
      new Rng(0),
      () => Date.now(),
      () => performance.now(),
    );
    world.add('warm', 'string');
    const client = new SecretsManagerClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDSIMULATION', secretAccessKey: 'simulation' },
      requestHandler: simRequestHandler(world, new Rng(0), () => [], [], 0) as never,
    });
    await awsSecretsManager({ client }).fetch([{ id: 'warm' }], {
      signal: new AbortController().signal,
      force: false,
      reason: 'load',
    });
  })();
  return warmed;
}

export interface RunOptions {
  /** Invariants whose violations are noted but do not stop the run (the record run only). */
  readonly tolerate?: ReadonlySet<InvariantName>;
}

export interface RunResult {
  readonly violation: Violation | undefined;
  /** Tolerated violations, first of each invariant. */
  readonly tolerated: Violation[];
  readonly wireCalls: number;
  readonly virtualSeconds: number;
}

export async function run(
  config: SimConfig,
  ops: readonly Op[],
  seed: number,
  options: RunOptions = {},
): Promise<RunResult> {
  await warmUp();
  const rng = new Rng(seed ^ 0x5eed);
  const originalRandom = Math.random;
  const storeRandom = rng.fork();
  Math.random = () => storeRandom.next();
  const clock = FakeTimers.withGlobal(globalThis).install({
    now: START,
    toFake: [
      'setTimeout',
      'clearTimeout',
      'setInterval',
      'clearInterval',
      'setImmediate',
      'clearImmediate',
      'Date',
      'performance',
    ],
    loopLimit: 1_000_000,
  });
  // Node runs a 0 ms timer after 1 ms; so must the simulation, or a zero-delay loop never lets time pass.
  const fakeSetTimeout = globalThis.setTimeout;
  globalThis.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) =>
    fakeSetTimeout(fn, Math.max(1, ms ?? 0), ...args)) as typeof setTimeout;
  const t0 = performance.now();
  const vnow = () => performance.now() - t0;
  const world = new World(
    rng.fork(),
    () => Date.now(),
    () => performance.now(),
  );
  for (const [id, kind] of Object.entries(config.ids)) world.add(id, kind);

  let step = 0;
  let violation: Violation | undefined;
  const tolerated: Violation[] = [];
  const fail = (invariant: InvariantName, describe: string | (() => string)): void => {
    const tolerating = options.tolerate?.has(invariant);
    if (tolerating && tolerated.some((t) => t.invariant === invariant)) return;
    const message = typeof describe === 'string' ? describe : describe();
    const active = [...new Set(world.faults.filter((f) => f.until > performance.now()).map((f) => f.kind))];
    const detail = `${message}${active.length > 0 ? ` [faults: ${active.join(', ')}]` : ''}`;
    const v = { invariant, step, at: Math.round(vnow()) / 1000, detail };
    if (tolerating) {
      tolerated.push(v);
      return;
    }
    violation ??= v;
    throw new Stop(invariant);
  };
  /** A violation seen in a callback (listener, logger): recorded, and the run stops after the step. */
  const note = (invariant: InvariantName, detail: string | (() => string)): void => {
    try {
      fail(invariant, detail);
    } catch {
      // Stop is rethrown by the step loop through `violation`.
    }
  };

  // Values by the text a reader gets, for reading a value back to its version.
  const valueIndex = (version: { value: string | Uint8Array; versionId: string }, id: string) => {
    const keys: string[] = [];
    if (typeof version.value === 'string') {
      keys.push(version.value);
      if (config.ids[id] === 'json') keys.push(`pw:${(JSON.parse(version.value) as { pw: string }).pw}`);
    } else keys.push(`b64:${Buffer.from(version.value).toString('base64')}`);
    return keys;
  };
  const versionOfValue = new Map<string, string>();
  let indexed = 0;
  const indexAll = () => {
    if (world.byVersionId.size === indexed) return;
    indexed = world.byVersionId.size;
    for (const [versionId, { id, version }] of world.byVersionId) {
      for (const k of valueIndex(version, id)) if (!versionOfValue.has(k)) versionOfValue.set(k, versionId);
    }
  };
  indexAll();

  // Sources.
  const wire: WireCall[] = [];
  const calls: CallRecord[] = [];
  let seq = 0;
  const runs: StoreRun[] = [];
  const storeOfLogger = new Map<LoggerLike, StoreRun>();
  const PROBE = '\u0000simulation: which store?';
  let probed: StoreRun | undefined;
  let schemaDelay = 0;
  const heldValues = (s: StoreRun): (string | Uint8Array)[] => {
    const out: (string | Uint8Array)[] = [];
    for (const versions of s.held.values())
      for (const v of versions) {
        const value = world.byVersionId.get(v)?.version.value;
        if (value !== undefined) out.push(value);
      }
    return out;
  };
  const echoPool = (source: number) => () =>
    runs
      .filter((s) => s.config.source === source)
      .flatMap((s) => {
        refreshHeld(s);
        return heldValues(s);
      });
  // thaw-answer: a round's deadline that came due during a freeze, and fired at the thaw more than
  // LATE_DEADLINE_MS late, does not drop an answer that had arrived before that deadline.
  const roundStarts = new WeakMap<AbortSignal, number>();
  const network = new Network(() => world.now());
  const thawDropped: OnDropped = (signal, due) => {
    const started = roundStarts.get(signal);
    const reason = signal.reason as { awsCode?: string; message?: string } | undefined;
    const timeout = /no answer within (\d+) ms/.exec(reason?.message ?? '')?.[1];
    if (started === undefined || reason?.awsCode !== 'TimeoutError' || timeout === undefined) return;
    const deadline = started + Number(timeout);
    const late = world.now() - deadline;
    if (due <= deadline && late > LATE_DEADLINE_MS)
      note(
        'thaw-answer',
        `a round's deadline (${timeout} ms) fired ${late} ms late, after a freeze, and dropped an answer that had arrived ${deadline - due} ms before it`,
      );
  };
  const sources = config.sources.map((kind, index) => {
    const recordCall = (
      op: 'fetch' | 'describe',
      ids: readonly string[],
      logger: LoggerLike | undefined,
      reason: string,
    ) => {
      // The store passes its (wrapped) logger with every call: one probe line tells which store it is.
      let s = logger ? storeOfLogger.get(logger) : undefined;
      if (!s && logger) {
        probed = undefined;
        logger.debug?.(PROBE);
        s = probed;
        if (s) storeOfLogger.set(logger, s);
      }
      if (!s) return;
      if (s.closed) note('call-after-close', `store ${s.index} called ${op} after close() resolved`);
      const at = vnow();
      calls.push({ store: s.index, ids, at, seq: ++seq, reason, op });
      if (process.env.HUSH_SIM_TRACE)
        process.stderr.write(`CALL ${s.index} ${op} ${reason} ${ids.join(',')} at ${at}\n`);
      if (op !== 'fetch' || reason === 'load') return;
      // The envelope: calls per id in any window of ENVELOPE_WINDOW·backoff.initial.
      const b = s.config.backoffInitial;
      const window = ENVELOPE_WINDOW * b;
      for (const id of ids) {
        const times = s.calls.get(id) ?? [];
        times.push(at);
        while (times.length > 0 && times[0]! <= at - window) times.shift();
        s.calls.set(id, times);
        const userOps = s.userOps.filter((u) => u.at > at - window && (u.ids === '*' || u.ids.includes(id))).length;
        const allowed = Math.ceil((2 * window) / b) + 4 + 2 * userOps;
        if (times.length > allowed)
          fail(
            'envelope',
            () =>
              `store ${s.index}: ${times.length} fetches of ${id} within ${window / 1000} s (allowed ${allowed}: backoff.initial ${b} ms, ${userOps} user operations)`,
          );
      }
    };
    if (kind === 'aws') {
      const client = new SecretsManagerClient({
        region: 'us-east-1',
        credentials: { accessKeyId: 'AKIDSIMULATION', secretAccessKey: 'simulation' },
        maxAttempts: config.maxAttempts[index],
        requestHandler: simRequestHandler(
          world,
          rng.fork(),
          echoPool(index),
          wire,
          undefined,
          network,
          thawDropped,
        ) as unknown as Transport as never,
      });
      const inner = awsSecretsManager({ client });
      return {
        kind: inner.kind,
        fetch: (requests, context) => {
          recordCall(
            'fetch',
            requests.map((r) => r.id),
            context.logger,
            context.reason,
          );
          roundStarts.set(context.signal, world.now());
          return inner.fetch(requests, context);
        },
        describe: (ids, context) => {
          recordCall('describe', ids, context.logger, context.reason);
          return inner.describe(ids, context);
        },
        stats: () => inner.stats(),
        close: () => inner.close(),
      } satisfies SecretStoreOptions['source'];
    }
    // The memory source, behind a simulated network: latency, hangs, and injected failures through its own fail().
    const memory: MemorySource = memorySource({});
    const transportRng = rng.fork();
    const mirror = (id: string, version: { versionId: string; value: string | Uint8Array }) =>
      memory.set(id, version.value, version.versionId);
    for (const id of Object.keys(config.ids)) mirror(id, world.current(id)!);
    world.mirrors.push(mirror);
    return {
      kind: memory.kind,
      fetch: async (requests, context) => {
        const ids = requests.map((r) => r.id);
        recordCall('fetch', ids, context.logger, context.reason);
        roundStarts.set(context.signal, world.now());
        wire.push({ operation: 'memory', ids, at: world.now() });
        if (world.active('hang-deaf', ids)) return new Promise(() => undefined);
        await new Promise<void>((resolve) => {
          const hang = world.active('hang', ids);
          const arrival = hang
            ? undefined
            : network.afterLatency(
                transportRng.chance(0.9) ? transportRng.int(1, 40) : transportRng.int(40, 3_000),
                resolve,
              );
          context.signal.addEventListener('abort', () => {
            const due = arrival?.cancel();
            if (due !== undefined) thawDropped(context.signal, due);
            resolve();
          });
        });
        for (const id of ids) {
          const echo = () => {
            const pool = echoPool(index)();
            return pool.length > 0
              ? Buffer.from(transportRng.pick(pool)).toString(transportRng.pick(['base64', 'hex', 'utf8'] as const))
              : '';
          };
          if (world.active('throttle', [id])) memory.fail(id, 'ThrottlingException', { times: 1 });
          else if (world.active('server-error', [id])) memory.fail(id, 'InternalServiceError', { times: 1 });
          else if (world.active('error-echo', [id]) || world.active('per-id-error', [id]))
            memory.fail(id, 'InternalServiceError', { times: 1, message: `upstream said ${echo()}` });
          else if (world.active('per-id-code-echo', [id]))
            memory.fail(id, `Weird\n${echo()}`, { times: 1, message: echo() });
        }
        const outcomes = await memory.fetch(requests);
        memory.recover();
        return outcomes;
      },
      stats: () => memory.stats(),
    } satisfies SecretStoreOptions['source'];
  });

  // Leak and code checks. One finder per run holds the fragments of every version a store has
  // held so far, each under its tag (cut into fragments once); a scan counts only the tags the
  // store holds at that moment.
  const finder = new FragmentFinder([], { prefilter: true });
  // A name that projects a key of a JSON secret (`key: 'pw'`) holds that leaf only: its versions
  // are tagged `version#key`.
  const heldTags = (s: StoreRun, name: string, versions: readonly string[]): string[] => {
    const key = s.config.names[name]?.key;
    return versions.map((v) => (key ? `${v}#${key}` : v));
  };
  /** The tags a store holds, each added to the finder on first sight. */
  const heldBy = (s: StoreRun): Set<string> => {
    if (s.heldSet) return s.heldSet;
    const tags = new Set<string>();
    for (const [name, versions] of s.held) for (const tag of heldTags(s, name, versions)) tags.add(tag);
    for (const tag of tags) if (!finder.has(tag)) addTag(tag);
    s.heldSet = tags;
    return tags;
  };
  const addTag = (tag: string): void => {
    // The values as the store holds them (the leak rule's "value"): a string; a JSON secret's
    // leaves (its password and user; the JSON syntax around them is not secret); a binary
    // value's bytes, whose runs of 6 are looked for raw, base64 (any alignment) and hex.
    const [v, key] = tag.split('#') as [string, string | undefined];
    const found = world.byVersionId.get(v);
    if (!found) return;
    const value = found.version.value;
    if (typeof value !== 'string' || config.ids[found.id] !== 'json') return finder.addValue(value, tag);
    const parsed = JSON.parse(value) as Record<string, string>;
    if (key !== undefined) finder.addValue(parsed[key] ?? '', tag);
    else for (const leaf of [parsed['pw'] ?? '', parsed['user'] ?? '']) finder.addValue(leaf, tag);
  };
  /** Reads the versions a store holds (each handle's current version, and the one before it). */
  const refreshHeld = (s: StoreRun): void => {
    if (s.closed) return;
    for (const name of Object.keys(s.config.names)) {
      const version = s.store.handle(name).version;
      if (version === undefined) continue;
      const list = s.held.get(name) ?? [];
      if (list[list.length - 1] !== version) {
        list.push(version);
        if (list.length > 2) list.shift();
        s.held.set(name, list);
        s.heldSet = undefined;
      }
    }
  };
  const scan = (s: StoreRun, channel: string, text: string): void => {
    if (process.env.HUSH_SIM_TRACE) process.stderr.write(`TRACE ${s.index} ${channel}: ${text.slice(0, 300)}\n`);
    refreshHeld(s);
    const found = finder.find(channel, text, heldBy(s));
    if (found.length === 0) return;
    // Whose value: the secret the text is about, or another one (names only, never the value).
    note('leak', () => {
      const owners = [...s.held.entries()]
        .filter(([name, versions]) =>
          heldTags(s, name, versions).some((v) => finder.find(channel, text, new Set([v])).length > 0),
        )
        .map(([name]) => name);
      const about = /"(?:name|secret)":"([^"]+)"/.exec(text)?.[1];
      return `store ${s.index} ${channel}${about ? ` about "${about}"` : ''}: a fragment of the value of ${owners.join(', ') || 'a held secret'} (${found.map((f) => `${f.encoding} ${f.masked}`).join(', ')})`;
    });
  };
  const checkCode = (s: StoreRun, channel: string, code: unknown): void => {
    if (code === undefined) return;
    if (typeof code !== 'string' || !CODE_SHAPE.test(code))
      note(
        'code-shape',
        `store ${s.index} ${channel}: an error code that is not a name (${typeof code === 'string' ? `${code.length} chars${code.includes('\n') ? ', with a newline' : ''}` : typeof code})`,
      );
  };
  const scanError = (s: StoreRun, channel: string, error: unknown): void => {
    for (const [part, text] of Object.entries(errorTexts(error))) scan(s, `${channel} ${part}`, text);
    checkCode(s, `${channel}.code`, (error as { code?: unknown }).code);
  };

  const meterFor = (s: () => StoreRun): MeterProviderLike => {
    const record = (instrument: string) => (_value: number, attributes?: Record<string, unknown>) => {
      if (!attributes) return;
      scan(s(), `metric ${instrument}`, JSON.stringify(attributes));
      checkCode(s(), `metric ${instrument} error.type`, attributes['error.type']);
    };
    const meter = {
      createCounter: (name: string) => ({ add: record(name) }),
      createUpDownCounter: (name: string) => ({ add: record(name) }),
      createHistogram: (name: string) => ({ record: record(name) }),
      createGauge: (name: string) => ({ record: record(name) }),
      createObservableGauge: (name: string) => ({ name, addCallback() {}, removeCallback() {} }),
      createObservableCounter: (name: string) => ({ name, addCallback() {}, removeCallback() {} }),
      createObservableUpDownCounter: (name: string) => ({ name, addCallback() {}, removeCallback() {} }),
      addBatchObservableCallback() {},
      removeBatchObservableCallback() {},
    };
    return { getMeter: () => meter };
  };

  const schema = {
    '~standard': {
      version: 1 as const,
      vendor: 'simulation',
      validate: (value: unknown) =>
        schemaDelay > 0 ? new Promise((resolve) => setTimeout(() => resolve({ value }), schemaDelay)) : { value },
    },
  };

  /** A new store for slot `index` (at the start, and after each close: a restarted process). */
  const makeStore = (index: number): StoreRun => {
    const sc = config.stores[index]!;
    const ref = {} as { run: StoreRun };
    const logger: LoggerLike = Object.fromEntries(
      (['debug', 'info', 'warn', 'error'] as const).map((level) => [
        level,
        (message: string, fields?: Record<string, unknown>) => {
          if (message === PROBE) return void (probed = ref.run);
          scan(ref.run, `log.${level}`, `${message} ${printed(fields ?? {})}`);
          checkCode(ref.run, `log.${level} fields.code`, fields?.code);
          if (level === 'error' && /unexpectedly/.test(message))
            note('internal-error', `store ${index} logged "${message}"`);
        },
      ]),
    ) as unknown as LoggerLike;
    const decls: Record<string, object> = {};
    for (const [name, d] of Object.entries(sc.names)) {
      decls[name] = {
        id: d.id,
        format: d.format,
        ...(d.key ? { key: d.key } : {}),
        ...(d.slow ? { schema } : {}),
      };
    }
    const store = new SecretStore(decls as never, {
      source: sources[sc.source]!,
      refreshInterval: sc.refreshInterval,
      refreshJitter: sc.refreshJitter,
      backoff: { initial: sc.backoffInitial, max: sc.backoffMax },
      fetchTimeout: sc.fetchTimeout,
      bootTimeout: sc.bootTimeout,
      minRefreshInterval: sc.minRefreshInterval,
      maxStaleness: sc.maxStaleness,
      logger,
      meterProvider: meterFor(() => ref.run),
      ...(sc.rotationSchedule ? { rotationSchedule: sc.rotationSchedule } : {}),
    });
    ref.run = {
      index,
      config: sc,
      store,
      logger,
      closed: false,
      closing: false,
      seen: new Map(),
      held: new Map(),
      heldSet: undefined,
      userOps: [],
      calls: new Map(),
      lastHealth: undefined,
    };
    storeOfLogger.set(logger, ref.run);
    store.onEvent((event) => {
      scan(ref.run, `event ${event.type}`, printed(event));
      checkCode(ref.run, `event ${event.type}.code`, (event as { code?: unknown }).code);
    });
    return ref.run;
  };
  for (const index of config.stores.keys()) runs.push(makeStore(index));

  // Reading values back to versions.
  const versionRead = (s: StoreRun, name: string, value: unknown): string | undefined => {
    if (value === undefined) return undefined;
    const d = s.config.names[name]!;
    let key: string;
    if (value instanceof SecretBytes) key = `b64:${value.toBuffer().toString('base64')}`;
    else if (value instanceof Uint8Array) key = `b64:${Buffer.from(value).toString('base64')}`;
    else if (d.key) key = `pw:${String(value)}`;
    else if (typeof value === 'string') key = value;
    else key = JSON.stringify(value);
    indexAll();
    const versionId = versionOfValue.get(key);
    if (versionId === undefined) fail('monotonic', `store ${s.index} served ${name} a value of no known version`);
    return versionId;
  };
  const observe = (s: StoreRun, name: string, value: unknown): string | undefined => {
    const versionId = versionRead(s, name, value);
    if (versionId === undefined) return undefined;
    const rank = world.byVersionId.get(versionId)!.version.rank;
    const last = s.seen.get(name) ?? 0;
    if (rank < last) fail('monotonic', `store ${s.index} served ${name} version rank ${rank} after rank ${last}`);
    s.seen.set(name, rank);
    return versionId;
  };

  let finalPhase = false;
  const pending = new Set<Promise<unknown>>();
  const track = (promise: Promise<unknown>) => {
    pending.add(promise);
    void promise.finally(() => pending.delete(promise));
  };
  const guard = (s: StoreRun, what: string, promise: Promise<unknown>) =>
    track(
      promise.catch((error: unknown) => {
        if ((error as Error).name !== 'SecretsStoreClosedError' && (error as Error).name !== 'SecretsLoadError')
          note('crash', `store ${s.index} ${what} rejected with ${(error as Error).name}`);
        scanError(s, `${what} rejection`, error);
      }),
    );

  // Timer loop: fires timers one by one (microtasks drained between), counting wakes per virtual second.
  let wakeSecond = -1;
  let wakes = 0;
  const openStores = () => runs.filter((s) => !s.closed).length;
  const nextTimerAt = (): number | undefined => {
    const timers = (clock as unknown as { timers?: Map<number, { callAt: number }> }).timers;
    let next: number | undefined;
    if (timers) for (const t of timers.values()) if (next === undefined || t.callAt < next) next = t.callAt;
    return next;
  };
  const advance = async (ms: number): Promise<void> => {
    const target = clock.now + ms;
    for (;;) {
      await drain();
      if (violation) throw new Stop('violation');
      const next = nextTimerAt();
      if (next === undefined || next > target) break;
      if (next > clock.now) world.runSchedules();
      clock.next();
      const second = Math.floor(vnow() / 1000);
      if (second !== wakeSecond) {
        wakeSecond = second;
        wakes = 0;
      }
      const limit = WAKES_PER_SECOND.base + WAKES_PER_SECOND.perStore * openStores();
      if (++wakes > limit)
        fail('spin', () => {
          const started = calls.filter((c) => Math.floor(c.at / 1000) === second).length;
          return `${wakes} timer wakes within virtual second ${second} (limit ${limit}), ${started} source calls started in it`;
        });
    }
    if (target > clock.now) clock.tick(target - clock.now);
    world.runSchedules();
    world.pruneFaults();
    await drain();
  };
  // A freeze: the process reads what waits in its sockets and goes idle; no timer fires for `ms`;
  // then every timer that came due fires at the thaw, in order, microtasks drained between them
  // (as `clock.jump` would, but one by one), and answers that arrived meanwhile are read after
  // them (Network). The world goes on.
  const freeze = async (ms: number): Promise<void> => {
    network.readArrived();
    await drain();
    const thaw = clock.now + ms;
    const timers = (clock as unknown as { timers?: Map<number, { callAt: number }> }).timers;
    if (timers) for (const t of timers.values()) if (t.callAt < thaw) t.callAt = thaw;
    clock.jump(0); // rebuilds the timer heap after the moves; fires nothing (every timer is due at the thaw or later)
    await advance(ms);
  };

  const checkReadable = (s: StoreRun): void => {
    if (s.closed || !s.store.loaded) return;
    refreshHeld(s);
    const report = s.store.health();
    const text = JSON.stringify(report);
    // Ages change every second; the rest (codes, errors, versions) is what could leak.
    const key = text.replace(/"ageSeconds":\d+,?/g, '');
    if (key === s.lastHealth) return;
    s.lastHealth = key;
    scan(s, 'health', text);
    for (const h of Object.values(report.secrets)) checkCode(s, 'health error', h.error);
  };

  const execute = async (op: Op): Promise<void> => {
    const s = 'store' in op ? runs[op.store] : undefined;
    switch (op.t) {
      case 'advance':
        await advance(op.ms);
        for (const r of runs) checkReadable(r);
        return;
      case 'freeze':
        await freeze(op.ms);
        for (const r of runs) checkReadable(r);
        return;
      case 'read': {
        if (!s || s.closed || !s.store.loaded || !s.config.names[op.name]) return;
        if (op.via === 'snapshot') {
          const snap = s.store.snapshot() as Record<string, unknown>;
          const byId = new Map<string, string>();
          for (const name of Object.keys(s.config.names)) {
            const versionId = observe(s, name, snap[name]);
            if (versionId === undefined) continue;
            const id = s.config.names[name]!.id;
            const other = byId.get(id);
            if (other !== undefined && other !== versionId)
              fail('snapshot-consistent', `store ${s.index} snapshot holds two versions of ${id}`);
            byId.set(id, versionId);
          }
        } else {
          observe(s, op.name, op.via === 'get' ? s.store.get(op.name) : s.store.handle(op.name).value);
        }
        return;
      }
      case 'refresh':
        if (!s || s.closed || s.closing) return;
        s.userOps.push({ at: vnow(), ids: op.name ? [s.config.names[op.name]!.id] : '*' });
        guard(s, 'refresh()', s.store.refresh(op.name));
        return;
      case 'invalidate': {
        if (!s || s.closed || s.closing) return;
        s.userOps.push({ at: vnow(), ids: op.ids });
        const since = seq;
        const calledAt = vnow();
        guard(
          s,
          'invalidate()',
          s.store.invalidate(op.ids).then((names) => {
            for (const name of names) {
              const id = s.config.names[name]!.id;
              if (!calls.some((c) => c.store === s.index && c.op === 'fetch' && c.seq > since && c.ids.includes(id)))
                note(
                  'invalidate-answered',
                  `store ${s.index}: invalidate([${id}]) called at ${Math.round(calledAt) / 1000} s resolved at ${Math.round(vnow()) / 1000} s with "${name}", but no fetch of ${id} started after the call`,
                );
            }
          }),
        );
        return;
      }
      case 'load':
        if (!s || s.closed || s.closing || s.store.loaded) return;
        s.userOps.push({ at: vnow(), ids: '*' });
        guard(s, 'load()', s.store.load());
        return;
      case 'close':
        if (!s || s.closed || s.closing) return;
        s.closing = true;
        track(
          s.store.close().then(
            () => {
              s.closed = true;
              // The process restarts: a new store in the same slot, loaded at once.
              if (runs[s.index] === s && !finalPhase) {
                const next = makeStore(s.index);
                runs[s.index] = next;
                guard(next, 'load()', next.store.load());
              }
            },
            (error: unknown) => note('crash', `store ${s.index} close() rejected with ${(error as Error).name}`),
          ),
        );
        return;
      case 'put':
        world.put(op.id);
        return;
      case 'pending':
        world.startPending(op.id);
        return;
      case 'finish':
        world.finishPending(op.id);
        return;
      case 'schedule': {
        const r = world.secrets.get(op.id)!.rotation;
        r.enabled = op.enabled;
        r.next = op.enabled ? Date.now() + op.inMs : undefined;
        r.periodMs = op.periodMs;
        r.lagMs = op.lagMs;
        r.failing = op.failing;
        return;
      }
      case 'fault':
        world.faults.push({ kind: op.kind, id: op.id, until: performance.now() + op.ms });
        return;
      case 'heal':
        world.faults = [];
        return;
      case 'slow':
        schemaDelay = op.ms;
        return;
      case 'inspect': {
        if (!s || s.closed) return;
        const store = s.store;
        scan(s, 'inspect(store)', `${inspect(store)} ${JSON.stringify(store)} ${String(store)}`);
        if (store.loaded) {
          const snap = store.snapshot();
          scan(
            s,
            'inspect(snapshot)',
            `${inspect(snap, { depth: 5, showHidden: true })} ${JSON.stringify(snap)} ${String(snap)}`,
          );
          for (const name of store.names) {
            const handle = store.handle(name);
            scan(
              s,
              `inspect(handle ${name})`,
              `${inspect(handle, { depth: 5, showHidden: true })} ${JSON.stringify(handle)} ${String(handle)}`,
            );
          }
        }
        scan(s, 'stats()', JSON.stringify(store.stats()));
        return;
      }
    }
  };

  let result: RunResult;
  try {
    try {
      for (step = 0; step < ops.length; step++) {
        try {
          await execute(ops[step]!);
          // Ops that start async work (a fetch, a close) let it run before the next op.
          if (ASYNC_OPS.has(ops[step]!.t)) await drain();
        } catch (error) {
          if (error instanceof Stop) throw error;
          // An op that throws synchronously (a read before load finished) is a user error the store reports.
          const s = 'store' in ops[step]! ? runs[(ops[step] as { store: number }).store] : undefined;
          if (s) scanError(s, `${ops[step]!.t} threw`, error);
          if (!(error instanceof Error) || !/^Secret(NotLoaded|sStoreClosed)Error$/.test(error.name))
            fail('crash', `op ${ops[step]!.t} threw ${(error as Error)?.name}`);
        }
        if (violation) throw new Stop('violation');
      }
      // Final phase: faults stop, the world stops changing; every value must converge.
      step = ops.length;
      finalPhase = true;
      world.faults = [];
      schemaDelay = 0;
      for (const secret of world.secrets.values()) secret.rotation.enabled = false;
      // One last change of every secret after the faults stopped: the stores must pick it up on their own.
      for (const id of world.secrets.keys()) world.put(id);
      // A store not loaded yet loads now; a load that fails (one that started during the faults, and
      // joined here, can still time out on a call hung since then) is tried again, the way a
      // restarted process would (found by seed 2235: a load hung by a fault, joined here, failed at
      // its bootTimeout and nothing loaded the store again).
      // At most 5 tries: a load that fails at once, every time, must end as a convergence failure,
      // not as a loop that never lets virtual time move.
      const loadUntilLoaded = (s: StoreRun, tries = 5): void =>
        guard(
          s,
          'load()',
          s.store.load().catch((error: unknown) => {
            const again = !s.closed && !s.closing && !s.store.loaded && tries > 1;
            if (again && (error as Error).name === 'SecretsLoadError') loadUntilLoaded(s, tries - 1);
            throw error;
          }),
        );
      for (const s of runs) if (!s.closed && !s.closing && !s.store.loaded) loadUntilLoaded(s);
      const open = runs.filter((s) => !s.closed && !s.closing);
      // Values: one refresh interval (safetyInterval with rotationSchedule) plus jitter, plus
      // backoff.max, plus a hung call's deadline and a reload, after the faults stop.
      const bound = Math.max(
        0,
        ...open.map((s) => {
          const c = s.config;
          const interval = c.rotationSchedule ? c.rotationSchedule.safetyInterval : c.refreshInterval;
          const rotation = c.rotationSchedule ? c.rotationSchedule.delay + c.rotationSchedule.jitter : 0;
          return (
            interval * (1 + c.refreshJitter) + c.backoffMax + 2 * c.fetchTimeout + c.bootTimeout + rotation + 5_000
          );
        }),
      );
      const quietSince = seq;
      await advance(bound);
      for (const s of open) {
        if (!s.store.loaded) {
          fail('convergence', `store ${s.index} is not loaded ${Math.round(bound / 1000)} s after the faults stopped`);
          continue;
        }
        for (const [name, d] of Object.entries(s.config.names)) {
          const current = world.current(d.id)!;
          const served = observe(s, name, s.store.get(name));
          if (served !== current.versionId)
            fail(
              'convergence',
              `store ${s.index} serves ${name} at rank ${served ? world.byVersionId.get(served)!.version.rank : '-'}, current is rank ${current.rank}, ${Math.round(bound / 1000)} s after the faults stopped`,
            );
        }
      }
      // Rotation schedules: every id described again within describeInterval (plus the same margin).
      const describeBound = Math.max(
        0,
        ...open.map((s) => (s.config.rotationSchedule ? s.config.rotationSchedule.describeInterval + bound : 0)),
      );
      if (describeBound > bound) await advance(describeBound - bound);
      for (const s of open) {
        if (!s.store.loaded || !s.config.rotationSchedule || config.sources[s.config.source] !== 'aws') continue;
        for (const id of new Set(Object.values(s.config.names).map((d) => d.id))) {
          if (
            !calls.some((c) => c.store === s.index && c.op === 'describe' && c.seq > quietSince && c.ids.includes(id))
          )
            fail(
              'convergence',
              `store ${s.index} read no rotation schedule (DescribeSecret) of ${id} in the ${Math.round(describeBound / 1000)} s after the faults stopped`,
            );
        }
      }
      // close() leaves no timer: close every store, then nothing may remain scheduled.
      for (const s of runs) {
        if (!s.closed && !s.closing) {
          s.closing = true;
          track(s.store.close().then(() => void (s.closed = true)));
        }
      }
      await advance(120_000);
      const left = clock.countTimers();
      if (left > 0) fail('timer-after-close', `${left} timer(s) still scheduled 120 s after every store closed`);
    } catch (error) {
      if (!(error instanceof Stop)) {
        violation ??= {
          invariant: 'crash',
          step,
          at: Math.round(vnow()) / 1000,
          detail: `${(error as Error)?.name}: simulation error`,
        };
        if (process.env.HUSH_SIM_DEBUG) process.stderr.write(`${(error as Error)?.stack}\n`);
      }
    }
    result = { violation, tolerated, wireCalls: wire.length, virtualSeconds: Math.round(vnow() / 1000) };
  } finally {
    // Stop everything the run left behind (stores still open after a violation, their timers).
    for (const s of runs) if (!s.closed) void s.store.close().catch(() => undefined);
    for (let i = 0; i < 10; i++) await drain();
    clock.uninstall();
    Math.random = originalRandom;
  }
  return result;
}
