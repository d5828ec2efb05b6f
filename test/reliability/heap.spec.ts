/**
 * 1,000 create / load / read / close cycles leave the heap flat and no store reachable.
 * gc is enabled in this worker with v8.setFlagsFromString (Jest workers do not run with
 * --expose-gc); WeakRefs to every store prove that nothing (timers, listeners, sources) keeps
 * a closed store alive, and heapUsed after full GCs bounds the growth.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { z } from 'zod';
import { defineSecrets, memorySource, SecretStore } from '@hush/core';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

const secrets = defineSecrets({
  api: 'app/api',
  db: { id: 'app/db', format: 'json', schema: z.object({ password: z.string() }) },
  dbPassword: { id: 'app/db', key: 'password' },
  opt: { id: 'app/none', optional: true },
});

async function fullGc(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}

async function cycle(i: number, refs: WeakRef<object>[] | undefined): Promise<void> {
  const source = memorySource({ 'app/api': `api-CANARY-${i}`, 'app/db': { password: `pw-CANARY-${i}` } });
  const store = new SecretStore(secrets, {
    source,
    refreshInterval: 60_000,
    maxStaleness: 120_000,
    minRefreshInterval: 0,
    logger: false,
  });
  refs?.push(new WeakRef(store), new WeakRef(source));
  const off = store.onEvent(() => undefined);
  store.subscribe('api', () => undefined);
  await store.load();
  if (store.get('dbPassword') !== `pw-CANARY-${i}`) throw new Error('wrong value');
  store.snapshot();
  store.health();
  void store.handle('db').value;
  if (i % 10 === 0) {
    source.set('app/api', `api-CANARY-${i}-b`);
    await store.refresh('api');
  }
  off();
  await store.close();
}

it('1,000 create/load/close cycles leave the heap flat', async () => {
  for (let i = 0; i < 200; i++) await cycle(i, undefined); // warm up JIT, caches, zod
  const before = await fullGc();
  for (let i = 0; i < 1_000; i++) await cycle(i, undefined);
  const after = await fullGc();
  // A leak of one store (slots, handles, timers, listeners: several KiB) per cycle would add
  // several MiB; observed growth is 0.5–0.8 MiB of V8 noise, sublinear in the cycle count.
  expect(after - before).toBeLessThan(1.5 * 1024 * 1024);
});

it('no closed store or source stays reachable after 1,000 cycles', async () => {
  const refs: WeakRef<object>[] = [];
  for (let i = 0; i < 1_000; i++) await cycle(i, refs);
  await fullGc();
  expect(refs.filter((r) => r.deref() !== undefined)).toHaveLength(0);
});

it('the WeakRef check can fail: a store kept in a list stays reachable', async () => {
  const keep: SecretStore<any>[] = [];
  const ref = new WeakRef(new SecretStore(secrets, { source: memorySource({}), refreshInterval: false }));
  keep.push(ref.deref()!);
  await fullGc();
  expect(ref.deref()).toBeDefined();
  await keep[0]!.close();
});
