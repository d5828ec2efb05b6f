// A service that loads, then forces a refresh (as a login-failure handler or an SQS consumer
// would) while a background refresh is already in flight on a source that never answers and
// holds no handle (a client wrapper stuck behind a lock, ignoring the abort signal). The forced
// refresh joins that fetch: its deadline must keep the process alive until it settles.
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
// Let the background refresh (refreshInterval) start and hang.
await new Promise((resolve) => setTimeout(resolve, 600));
const t0 = performance.now();
await store.refresh();
console.log(
  `refresh settled after ${Math.round(performance.now() - t0)} ms; calls ${calls}; health ${store.health().secrets.a?.error}`,
);
await store.close();
