// A plain ESM service reading Secrets Manager (the default source, from the environment) and
// Parameter Store (a named `ssm` source) in one store: top-level await of load(). Exits by itself.
import { SecretStore, ssmParameterStore } from '@hush/core';
import { fieldConfig } from './field-env.cjs';

const { secrets, options } = fieldConfig();
const store = new SecretStore(secrets, {
  ...options,
  sources: { ssm: ssmParameterStore({ endpoint: process.env.HUSH_AWS_ENDPOINT }) },
});
const t0 = performance.now();
console.log('loading');
try {
  await store.load();
  const { sources } = store.stats();
  const line = (s) =>
    `calls ${JSON.stringify(s.calls)} attempts ${JSON.stringify(s.attempts)} throttles ${s.throttles}`;
  console.log(`ready in ${Math.round(performance.now() - t0)} ms; health ${store.health().status}`);
  console.log(`ssm ${line(sources.ssm)}`);
  console.log(`secrets manager ${line(sources.default)}`);
  await store.close();
} catch (error) {
  console.error(`load failed after ${Math.round(performance.now() - t0)} ms: ${error.message}`);
  process.exitCode = 1;
}
