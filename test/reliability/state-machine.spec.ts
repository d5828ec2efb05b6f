/**
 * State-machine properties (fast-check): random sequences of rotate / rotate-invalid / fail /
 * delete / recover / refresh / read / wait / close against a SecretStore over a memory source,
 * checked against a model after every step.
 *
 * The store gets a manual monotonic clock, so ages and staleness are exact; backoff is set to a
 * day so no background retry fires during a run (every fetch is one the model knows about).
 */
import fc from 'fast-check';
import { z } from 'zod';
import { defineSecrets, memorySource, SecretStore, type Clock, type MemorySource } from '@hush/core';

const MAX_STALENESS = 10 * 60_000;
/** The store below refreshes nothing in the background (refreshInterval: false). */
const REFRESHES = false;
const secrets = defineSecrets({
  api: 'app/api',
  db: { id: 'app/db', format: 'json', schema: z.object({ password: z.string().startsWith('pw-'), n: z.number() }) },
  dbPassword: { id: 'app/db', key: 'password' },
});
type Name = 'api' | 'db' | 'dbPassword';
const NAMES: readonly Name[] = ['api', 'db', 'dbPassword'];
const ID_OF: Record<Name, 'app/api' | 'app/db'> = { api: 'app/api', db: 'app/db', dbPassword: 'app/db' };
type Id = 'app/api' | 'app/db';

/** What the source holds for an id: version number n, and how the value is broken, if it is. */
type SourceValue = { n: number; kind: 'good' | 'bad-password' | 'no-password' };

function raw(id: Id, v: SourceValue): string | Record<string, unknown> {
  if (id === 'app/api') return `api-CANARY-${v.n}`;
  if (v.kind === 'good') return { password: `pw-CANARY-${v.n}`, n: v.n };
  if (v.kind === 'bad-password') return { password: `bad-CANARY-${v.n}`, n: v.n };
  return { user: `u-CANARY-${v.n}`, n: v.n };
}

/** What a slot makes of a source value: its version number, or the error code it fails with. */
function parse(name: Name, v: SourceValue): { ok: true; n: number } | { ok: false; code: string } {
  if (name === 'api' || v.kind === 'good') return { ok: true, n: v.n };
  if (name === 'db') return { ok: false, code: 'SECRET_VALIDATION_FAILED' };
  return v.kind === 'bad-password' ? { ok: true, n: v.n } : { ok: false, code: 'SECRET_PARSE_FAILED:MISSING_KEY' };
}

/** The version number inside a value read from the store. */
function versionOf(name: Name, value: unknown): number {
  if (name === 'db') return (value as { n: number }).n;
  const m = /-(\d+)$/.exec(value as string);
  if (!m) throw new Error(`unexpected value shape for ${name}`);
  return Number(m[1]);
}

type Action =
  | { type: 'rotate'; id: Id; kind: SourceValue['kind'] }
  | {
      type: 'fail';
      id: Id | '*';
      code: 'InternalServiceError' | 'ThrottlingException' | 'AccessDeniedException' | 'DecryptionFailure';
    }
  | { type: 'delete'; id: Id }
  | { type: 'recover' }
  | { type: 'refresh'; name: Name | undefined; concurrentRead: boolean }
  | { type: 'read' }
  | { type: 'wait'; ms: number }
  | { type: 'close' };

const idArb = fc.constantFrom<Id>('app/api', 'app/db');
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      type: fc.constant('rotate' as const),
      id: idArb,
      kind: fc.constantFrom('good' as const, 'good' as const, 'bad-password' as const, 'no-password' as const),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('fail' as const),
      id: fc.constantFrom<Id | '*'>('app/api', 'app/db', '*'),
      code: fc.constantFrom(
        'InternalServiceError' as const,
        'ThrottlingException' as const,
        'AccessDeniedException' as const,
        'DecryptionFailure' as const,
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('delete' as const), id: idArb }) },
  { weight: 2, arbitrary: fc.constant({ type: 'recover' as const }) },
  {
    weight: 4,
    arbitrary: fc.record({
      type: fc.constant('refresh' as const),
      name: fc.option(fc.constantFrom<Name>(...NAMES), { nil: undefined }),
      concurrentRead: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ type: 'read' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({ type: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 6 * 60_000 }) }),
  },
);
const programArb = fc
  .tuple(fc.array(actionArb, { minLength: 1, maxLength: 30 }), fc.boolean())
  .map(([actions, close]) => (close ? [...actions, { type: 'close' as const }] : actions));

/** Tracks every timer created while `fn` runs, so a test can assert none survives close(). */
function trackTimers(): { timers: NodeJS.Timeout[]; restore: () => void } {
  const timers: NodeJS.Timeout[] = [];
  const original = globalThis.setTimeout;
  const spy = jest.spyOn(globalThis, 'setTimeout').mockImplementation(((
    fn: (...a: unknown[]) => void,
    ms?: number,
    ...args: unknown[]
  ) => {
    const t = original(fn, ms, ...args);
    timers.push(t);
    return t;
  }) as typeof setTimeout);
  return { timers, restore: () => spy.mockRestore() };
}

interface SlotModel {
  n: number;
  goodAt: number;
  parseError: string | undefined;
  failedN: number | undefined;
}

async function runProgram(actions: readonly Action[]): Promise<void> {
  let now = 1_000_000;
  const clock: Clock = { now: () => now, wallNow: () => Date.now() };
  const sourceModel: Record<Id, SourceValue | undefined> = {
    'app/api': { n: 1, kind: 'good' },
    'app/db': { n: 1, kind: 'good' },
  };
  const failing: Partial<Record<Id | '*', string>> = {};
  let nextN = 2;
  const source: MemorySource = memorySource({
    'app/api': raw('app/api', sourceModel['app/api']!),
    'app/db': raw('app/db', sourceModel['app/db']!),
  });
  const tracked = trackTimers();
  const store = new SecretStore(secrets, {
    source,
    clock,
    refreshInterval: false,
    minRefreshInterval: 0,
    maxStaleness: MAX_STALENESS,
    backoff: { initial: '1d', max: '1d' },
  });
  let closed = false;
  try {
    await store.load();
    const slots: Record<Name, SlotModel> = {
      api: { n: 1, goodAt: now, parseError: undefined, failedN: undefined },
      db: { n: 1, goodAt: now, parseError: undefined, failedN: undefined },
      dbPassword: { n: 1, goodAt: now, parseError: undefined, failedN: undefined },
    };
    const fetchError: Record<Id, string | undefined> = { 'app/api': undefined, 'app/db': undefined };
    const seen: Record<Name, number> = { api: 1, db: 1, dbPassword: 1 };
    for (const name of NAMES) {
      store.subscribe(name, (next) => {
        expect(next).not.toBeUndefined();
        expect(versionOf(name, next)).toBeGreaterThan(0);
      });
    }

    const readAll = () => {
      for (const name of NAMES) {
        const value = store.get(name);
        expect(value).not.toBeUndefined(); // a loaded secret never becomes undefined
        const n = versionOf(name, value);
        expect(n).toBeGreaterThanOrEqual(seen[name]); // never back to an older version
        seen[name] = n;
        expect(store.handle(name).value).toBe(value);
      }
      const snap = store.snapshot();
      for (const name of NAMES) expect(snap[name]).toBe(store.get(name)); // one generation
    };

    /** The model of one fetch of `ids`. */
    const applyFetch = (ids: readonly Id[]) => {
      for (const id of ids) {
        const failure = failing[id] ?? failing['*'];
        const current = sourceModel[id];
        if (failure !== undefined || current === undefined) {
          fetchError[id] = failure ?? 'ResourceNotFoundException';
          continue;
        }
        fetchError[id] = undefined;
        // One version per id: the names of an id take a version together or not at all.
        const names = NAMES.filter((x) => ID_OF[x] === id);
        const results = names.map((name) =>
          slots[name].n === current.n || slots[name].failedN === current.n ? undefined : parse(name, current),
        );
        const rejection = results.find((r) => r !== undefined && !r.ok);
        names.forEach((name, i) => {
          const slot = slots[name];
          const result = results[i];
          if (rejection !== undefined && !rejection.ok) {
            slot.parseError = result !== undefined && !result.ok ? result.code : rejection.code;
            slot.failedN = current.n;
          } else if (result === undefined) {
            if (slot.n === current.n) Object.assign(slot, { goodAt: now, parseError: undefined });
          } else if (result.ok) {
            Object.assign(slot, { n: result.n, goodAt: now, parseError: undefined, failedN: undefined });
          }
        });
      }
    };

    const checkHealth = () => {
      const h = store.health();
      let degraded = false;
      for (const name of NAMES) {
        const slot = slots[name];
        const error = slot.parseError ?? fetchError[ID_OF[name]];
        const age = now - slot.goodAt;
        // refreshInterval: false and a memory source (no watch): nobody refreshes these secrets
        // in the background, so they are never stale, however old (issue 21, defect 13).
        const stale = REFRESHES && age > MAX_STALENESS;
        degraded ||= stale;
        expect({ name, ...h.secrets[name] }).toEqual({
          name,
          status: stale ? 'stale' : error ? 'error' : 'fresh',
          version: expect.any(String),
          ageSeconds: Math.floor(age / 1000),
          ...(error ? { error } : {}),
        });
        expect(versionOf(name, store.get(name))).toBe(slot.n);
      }
      expect(h.status).toBe(degraded ? 'degraded' : 'up');
      expect(JSON.stringify(h)).not.toContain('CANARY');
    };

    for (const action of actions) {
      switch (action.type) {
        case 'rotate': {
          const v: SourceValue = { n: nextN++, kind: action.kind };
          sourceModel[action.id] = v;
          source.set(action.id, raw(action.id, v));
          break;
        }
        case 'fail':
          failing[action.id] = action.code;
          source.fail(action.id, action.code);
          break;
        case 'delete':
          sourceModel[action.id] = undefined;
          source.delete(action.id);
          break;
        case 'recover':
          for (const k of Object.keys(failing)) delete failing[k as Id];
          source.recover();
          break;
        case 'refresh': {
          const ids: Id[] = action.name ? [ID_OF[action.name]] : ['app/api', 'app/db'];
          const pending = store.refresh(action.name);
          if (action.concurrentRead) readAll(); // reads during a refresh see the old or the new generation
          await pending;
          applyFetch(ids);
          break;
        }
        case 'read':
          readAll();
          break;
        case 'wait':
          now += action.ms;
          await new Promise((resolve) => setImmediate(resolve));
          break;
        case 'close':
          await store.close();
          closed = true;
          await expect(store.refresh()).rejects.toMatchObject({ code: 'SECRETS_STORE_CLOSED' });
          break;
      }
      readAll();
      if (!closed) checkHealth();
    }
  } finally {
    if (!closed) await store.close();
    tracked.restore();
  }
  // close() leaves no timer behind: each one the store created has fired or been cleared.
  const alive = tracked.timers.filter((t) => !(t as unknown as { _destroyed: boolean })._destroyed);
  expect(alive).toHaveLength(0);
}

it('random sequences keep every invariant (values, monotonic versions, health, no timers after close)', async () => {
  await fc.assert(fc.asyncProperty(programArb, runProgram), { numRuns: 150 });
});

it('a known tricky sequence: invalid version, then outage, then recovery to a valid version', async () => {
  await runProgram([
    { type: 'rotate', id: 'app/db', kind: 'no-password' },
    { type: 'refresh', name: undefined, concurrentRead: true },
    { type: 'fail', id: '*', code: 'AccessDeniedException' },
    { type: 'refresh', name: 'db', concurrentRead: false },
    { type: 'wait', ms: MAX_STALENESS + 1 },
    { type: 'recover' },
    { type: 'rotate', id: 'app/db', kind: 'good' },
    { type: 'refresh', name: 'dbPassword', concurrentRead: true },
    { type: 'close' },
  ]);
});
