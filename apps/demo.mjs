// `npm start`: one local Secrets Manager emulator, the NestJS demo and the Express demo on top of it.
// The Nest demo rotates `demo/db` every 30 s; watch the version change in both /whoami endpoints.
import { startEmulator } from '@hush/emulator';
import { createNestDemo, demoSeed } from '@hush/nest-demo';
import { createExpressDemo } from '@hush/express-demo';

const port = (name, fallback) => (process.env[name] === undefined ? fallback : Number(process.env[name]));

const emulator = await startEmulator({ port: port('EMULATOR_PORT', 0), seed: demoSeed() });
const nest = await createNestDemo({ port: port('NEST_PORT', 3000), emulatorUrl: emulator.url, rotateEveryMs: 30_000 });
const web = await createExpressDemo({ port: port('EXPRESS_PORT', 3001), emulator, rotateEvery: false });

console.log(`
Hush demo is running (no AWS account needed):
  emulator (Secrets Manager API)  ${emulator.url}
  NestJS demo                     ${nest.url}/whoami   ${nest.url}/health   ${nest.url}/metrics
  Express demo                    ${web.url}/whoami   ${web.url}/healthz   ${web.url}/readyz   ${web.url}/metrics
demo/db rotates every 30 s; both apps pick it up on their next background refresh (10 s).
Ctrl-C to stop.
`);

let closing = false;
async function shutdown(signal) {
  if (closing) return;
  closing = true;
  console.log(`\n${signal}: shutting down`);
  await Promise.allSettled([nest.close(), web.close()]);
  await emulator.close();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
