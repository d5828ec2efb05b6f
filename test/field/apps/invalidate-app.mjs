// A service that loads, then at once awaits invalidate() for a secret fetched less than
// minRefreshInterval ago (an event that arrives right after boot). The answer waits on the store's
// own timer: while a caller awaits it, that timer must hold the process — no exit 13 with no output.
import { SecretStore, memorySource } from '@hush/core';
import { fieldConfig } from './field-env.cjs';

const { secrets, options } = fieldConfig();
const source = memorySource({ 'field/a': 'a-CANARY-field' });
const store = new SecretStore(secrets, { ...options, source });
await store.load();
console.log('loaded');
source.set('field/a', 'a-CANARY-field-2');
const t0 = performance.now();
const names = await store.invalidate(['field/a']);
console.log(
  `invalidate settled after ${Math.round(performance.now() - t0)} ms with [${names}]; fresh ${store.get('a') === 'a-CANARY-field-2'}`,
);
await store.close();
