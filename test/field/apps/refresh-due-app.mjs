// A Lambda-style service that loads, waits until a background refresh is due, then awaits
// refreshDue() (as a handler does after a thaw) on a source that never answers after load and
// holds no handle (a client wrapper stuck behind a lock, ignoring the abort signal). The round's
// deadline must keep the process alive until refreshDue() settles: no exit 13 with no output.
import { SecretStore, memorySource } from '@hush/core';
import { fieldConfig } from './field-env.cjs';

const { secrets, options } = fieldConfig();
const inner = memorySource({ 'field/a': 'a-CANARY-field' });
let calls = 0;
const source = {
  kind: 'stuck-after-load',
  fetch(requests, context) {
    calls++;
    return calls === 1 ? inner.fetch(requests, context) : new Promise(() => undefined);
  },
};
const store = new SecretStore(secrets, { ...options, source });
await store.load();
console.log('loaded');
// Past the refresh interval: a background refresh is due (the timer may have started it already).
await new Promise((resolve) => setTimeout(resolve, 400));
console.log(`due ${store.isRefreshDue()}`);
const t0 = performance.now();
const names = await store.refreshDue();
console.log(
  `refreshDue settled after ${Math.round(performance.now() - t0)} ms with [${names}]; calls ${calls}; health ${store.health().secrets.a?.error}`,
);
await store.close();
