// The Express README pattern: createSecrets before app.listen, probes, SIGTERM closes both.
import express from 'express';
import { createSecrets } from '@hush/express';
import { fieldConfig } from './field-env.cjs';

const { secrets, options } = fieldConfig();
const t0 = performance.now();
console.log('loading');
const hush = await createSecrets({ secrets, ...options });
const app = express();
app.get('/readyz', hush.readiness());
app.use(hush.middleware());
app.get('/length', (req, res) => res.json({ length: String(req.secrets.a).length }));
const server = app.listen(0, '127.0.0.1', () =>
  console.log(`listening on ${server.address().port} after ${Math.round(performance.now() - t0)} ms`),
);
process.once('SIGTERM', () => server.close(() => void hush.close()));
