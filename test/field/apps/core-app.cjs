// The same service in CommonJS: no top-level await, load() in a promise chain.
'use strict';
const { SecretStore, SecretsStoreClosedError } = require('@hush/core');
const { fieldConfig } = require('./field-env.cjs');

const { secrets, options } = fieldConfig();
const store = new SecretStore(secrets, options);
process.once('SIGTERM', () => void store.close());
const t0 = performance.now();
console.log('loading');
store.load().then(
  async () => {
    console.log(`ready in ${Math.round(performance.now() - t0)} ms; health ${store.health().status}`);
    await store.close();
  },
  (error) => {
    if (error instanceof SecretsStoreClosedError) return console.log('closed during load');
    console.error(`load failed after ${Math.round(performance.now() - t0)} ms: ${error.message}`);
    process.exitCode = 1;
  },
);
