// The @hush/fastify README pattern as a plain `node` process: register, await listen(), SIGTERM closes.
// Configured through the environment like test/field/apps (FIELD_SECRETS, FIELD_OPTIONS, HUSH_SOURCE…).
import Fastify from 'fastify';
import { hushSecrets } from '@hush/fastify';
import { fieldConfig } from '../../../../test/field/apps/field-env.cjs';

const { secrets, options } = fieldConfig();
const t0 = performance.now();
console.log('loading');
const app = Fastify();
await app.register(hushSecrets, { secrets, ...options, readinessPath: '/readyz' });
app.get('/length', (request) => ({ length: String(request.secrets.s0 ?? request.secrets.a).length }));
await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`listening on ${app.server.address().port} after ${Math.round(performance.now() - t0)} ms`);
process.once('SIGTERM', () => void app.close());
