// A service frozen (SIGSTOP) with a background refresh in flight, on a source that never answers
// after load and holds no handle. It awaits refreshDue() before the freeze; the freeze outlasts
// fetchTimeout, so on the thaw the round's deadline fires late and gets its one grace (refresh.ts).
// The re-armed deadline must keep the process alive as the first one did: refreshDue() settles
// about the grace later, and the process prints it and exits 0 (no exit 13 with no output).
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
// Until the store's timer has started its background round (calls 2), then join it.
await new Promise((resolve) => {
  const poll = setInterval(() => calls >= 2 && (clearInterval(poll), resolve()), 5);
});
const joined = store.refreshDue();
console.log('inflight');
const names = await joined;
console.log(`settled [${names}]; calls ${calls}; health ${store.health().secrets.a?.error}`);
await store.close();
