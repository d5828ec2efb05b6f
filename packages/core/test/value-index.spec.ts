import { randomBytes } from 'node:crypto';
import { SecretStore, memorySource, type SecretsEvent } from '@hush/core';
import { ValueIndex, carriesAnyValue, dataLikeKey, type IndexedSlot } from '../src/value-index';

/*
 * The store-wide value index (issue 21 §2) is built as values arrive, never all at once by a
 * check, and stays proportional to what the store holds (rotated-out values are compacted away,
 * a slice at a time). Driven here the way the store drives it: every value through `fetched`,
 * then into a slot.
 */

/** A store's slots as the index sees them; `land` puts a fetched value in place (the old one becomes previous). */
function host() {
  const slots = new Map<string, { loaded: boolean; value: unknown; previousValue: unknown }>();
  const index = new ValueIndex({ slots: slots as ReadonlyMap<string, IndexedSlot> });
  const land = (name: string, value: unknown) => {
    const owner = { name };
    index.fetched(owner, value);
    const slot = slots.get(name);
    if (slot) {
      slot.previousValue = slot.value;
      slot.value = value;
    } else slots.set(name, { loaded: true, value, previousValue: undefined });
    index.settled(owner);
  };
  return { slots, index, land };
}

const indexes: ValueIndex[] = [];
afterEach(() => {
  for (const i of indexes.splice(0)) i.close();
});

/** A random value of `n` characters that no other test shares. */
const value = (n: number) => randomBytes(n).toString('base64url').slice(0, n);

describe('ValueIndex', () => {
  it('indexes a value when it arrives, so a check indexes nothing', () => {
    const h = host();
    indexes.push(h.index);
    const values = Array.from({ length: 200 }, () => value(1024));
    values.forEach((v, i) => h.land(`s${i}`, v));
    const before = h.index.size.windows;
    // About one window per character: every value is in, before any check.
    expect(before).toBeGreaterThan(200 * 1000);
    expect(carriesAnyValue(`upstream said ${values[123]!.slice(500, 520)}`)).toBe(true);
    expect(carriesAnyValue('upstream said nothing of interest here')).toBe(false);
    expect(h.index.size.windows).toBe(before);
  });

  it('grows by adding tables (no rehash) and merges them a slice at a time, so a check looks in few', () => {
    const h = host();
    indexes.push(h.index);
    const values = Array.from({ length: 400 }, () => value(512));
    const tables = new Set<number>();
    values.forEach((v, i) => {
      h.land(`s${i}`, v);
      tables.add(h.index.size.tables);
    });
    expect(Math.min(...tables)).toBe(1);
    expect(Math.max(...tables)).toBeGreaterThan(1);
    expect(Math.max(...tables)).toBeLessThanOrEqual(4);
    for (const v of values) expect(carriesAnyValue(`x ${v.slice(100, 108)} y`)).toBe(true);
  });

  it('catches every live value while a compaction runs, and new arrivals too', () => {
    const h = host();
    indexes.push(h.index);
    // 300 KiB of live values: a compaction takes more than one slice of 32 Ki characters. It
    // starts once values that left make up a third of the index (the third rotation here).
    let seenCompacting = false;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 150; i++) {
        h.land(`s${i}`, value(1024));
        if (!h.index.size.compacting) continue;
        seenCompacting = true;
        if (i % 5 !== 0) continue; // checks run the compaction too: look every few arrivals
        for (const k of [i, (i + 75) % 150]) {
          const slot = h.slots.get(`s${k}`);
          if (slot === undefined) continue; // not landed yet (first round)
          for (const v of [slot.value, slot.previousValue] as (string | undefined)[])
            if (v !== undefined) expect(carriesAnyValue(`echo ${v.slice(500, 510)}`)).toBe(true);
        }
      }
    }
    expect(seenCompacting).toBe(true);
  });

  it('drops values that left the store: memory stays proportional through many rotations', () => {
    const h = host();
    indexes.push(h.index);
    let live: string[] = [];
    let gone: string[] = [];
    for (let round = 0; round < 30; round++) {
      const next = Array.from({ length: 50 }, () => value(256));
      gone = [...gone, ...live.filter((_, i) => round >= 2 && i >= 0)].slice(-500);
      next.forEach((v, i) => h.land(`s${i}`, v));
      live = next;
      // Checks run the compaction along, one slice each.
      for (let k = 0; k < 4; k++) carriesAnyValue('a check');
    }
    // Live: 50 current + 50 previous values of 256 characters (about 25,000 windows).
    expect(h.index.size.windows).toBeLessThan(3 * 100 * 256);
    expect(h.index.size.bytes).toBeLessThan(16 * 3 * 100 * 256);
    for (const v of live) expect(carriesAnyValue(`echo ${v.slice(0, 12)}`)).toBe(true);
    // Values rotated out long ago are gone from the index (what was kept only made checks stricter).
    const stillIndexed = gone.slice(0, 100).filter((v) => carriesAnyValue(`echo ${v.slice(0, 12)}`));
    expect(stillIndexed.length).toBeLessThan(10);
  });

  it('a closed index answers for nothing and holds nothing', () => {
    const h = host();
    const v = value(64);
    h.land('a', v);
    expect(carriesAnyValue(`echo ${v}`)).toBe(true);
    h.index.close();
    expect(carriesAnyValue(`echo ${v}`)).toBe(false);
    expect(h.index.size.bytes).toBe(0);
    h.index.fetched({}, value(64));
    expect(h.index.size.windows).toBe(0);
  });
});

describe('object keys count when they look like data, not like field names', () => {
  it('indexes token-, address- and passphrase-like keys, not field names', () => {
    expect(['client_secret', 'password', 'apiKey', 'db-host', 'x'].filter(dataLikeKey)).toEqual([]);
    expect(
      ['sk_live_RecordKey9Qw', 'alice@example.com', 'db.internal', 'correcthorsebatterystaplexx', 'clé'].every(
        dataLikeKey,
      ),
    ).toBe(true);
    const h = host();
    indexes.push(h.index);
    h.land('creds', {
      client_secret: 'Zq81kPw3xYvTm4',
      tenants: { sk_live_RecordKey9Qw: 1, correcthorsebatterystaplexx: 2 },
      users: new Map([['plainname', 'v']]),
    });
    expect(carriesAnyValue('ResourceNotFoundException: the client_secret was not found')).toBe(false);
    expect(carriesAnyValue('echo Zq81kPw3xYvTm4')).toBe(true);
    expect(carriesAnyValue('bad tenant sk_live_RecordKey9Qw')).toBe(true);
    expect(carriesAnyValue('bad tenant correcthorsebatterystaplexx')).toBe(true);
    // Every key of a Map is data.
    expect(carriesAnyValue('no user plainname here')).toBe(true);
  });

  it('a source message that says "client_secret" is not withheld because a secret has that key', async () => {
    const source = memorySource({
      'k/creds': JSON.stringify({ client_secret: 'Zq81kPw3xYvTm4' }),
      'k/other': 'other-Val-Np2x',
    });
    const store = new SecretStore(
      { creds: { id: 'k/creds', format: 'json' }, other: 'k/other' },
      { source, refreshInterval: false, minRefreshInterval: 0, logger: false },
    );
    try {
      await store.load();
      const events: SecretsEvent[] = [];
      store.onEvent((e) => events.push(e));
      source.fail('k/other', 'ResourceNotFoundException', {
        message: 'Secrets Manager cannot find the client_secret rotation lambda',
        times: 1,
      });
      await store.refresh('other');
      const failed = events.find((e) => e.type === 'refresh-failed') as { message: string } | undefined;
      expect(failed?.message).toContain('cannot find the client_secret rotation lambda');
      // A message that quotes the value itself is still withheld.
      source.fail('k/other', 'ResourceNotFoundException', { message: 'echo Zq81kPw3xYvTm4', times: 1 });
      await store.refresh('other');
      const last = events.filter((e) => e.type === 'refresh-failed').at(-1) as { message: string };
      expect(last.message).toMatch(/withheld/);
      expect(last.message).not.toContain('Zq81kPw3xYvTm4');
    } finally {
      await store.close();
    }
  });

  it('catches five characters of a value at an edge of the text when the quote a printer adds completes six', () => {
    // Found by the simulation (seed 1518): a source message ending in five characters of a
    // password whose next character is a quote; JSON.stringify of the event closed the message
    // with that quote, printing six characters of the password.
    const h = host();
    indexes.push(h.index);
    const tag = value(8);
    h.land('pw', `${tag}bfDx本"tail`);
    expect(carriesAnyValue(`Could not read: 014","pw":"bfDx本`)).toBe(true);
    expect(carriesAnyValue(`'tail and more words`)).toBe(false);
    h.land('pw2', `x'ab本cd`);
    expect(carriesAnyValue(`ab本cd is what it said`)).toBe(true);
    // Not on an edge, or a different neighbour: nothing.
    expect(carriesAnyValue(`bfDx本 then more text`)).toBe(false);
  });
});
