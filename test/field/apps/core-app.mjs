// A plain ESM service: top-level await of load(), as the README shows. Exits by itself.
import { SecretStore, SecretsStoreClosedError } from '@hush/core';
import { fieldConfig } from './field-env.cjs';

const { secrets, options } = fieldConfig();
const store = new SecretStore(secrets, options);
process.once('SIGTERM', () => {
  console.log('SIGTERM: closing');
  void store.close();
});
if (process.env.FIELD_CLOSE_AFTER_MS) setTimeout(() => void store.close(), Number(process.env.FIELD_CLOSE_AFTER_MS));
const t0 = performance.now();
console.log('loading');
try {
  await store.load();
  console.log(`ready in ${Math.round(performance.now() - t0)} ms; health ${store.health().status}`);
  await store.close();
} catch (error) {
  if (error instanceof SecretsStoreClosedError) {
    console.log(`closed during load after ${Math.round(performance.now() - t0)} ms`);
  } else {
    console.error(`load failed after ${Math.round(performance.now() - t0)} ms: ${error.message}`);
    process.exitCode = 1;
  }
}
