// `npm start`: one local Secrets Manager emulator, the NestJS demo and the Express demo on top of it.
// The Nest demo rotates `demo/db` every 30 s; watch the version change in both /whoami endpoints.
import { createServer } from 'node:net';
import { startEmulator } from '@hush/emulator';
import { createNestDemo, demoSeed } from '@hush/nest-demo';
import { createExpressDemo } from '@hush/express-demo';

const port = (name, fallback) => (process.env[name] === undefined ? fallback : Number(process.env[name]));
const ports = {
  EMULATOR_PORT: port('EMULATOR_PORT', 0),
  NEST_PORT: port('NEST_PORT', 3000),
  EXPRESS_PORT: port('EXPRESS_PORT', 3001),
};

// A taken port ends the demo with one line naming the variable to change, not an EADDRINUSE stack.
// Probed before anything starts (so no app logs its own listen error first); one taken in between
// is caught when it is bound.
function portTaken(variable, taken) {
  console.error(`Port ${taken} is already in use: set ${variable} to a free port (0 picks one).`);
  process.exit(1);
}
for (const [variable, wanted] of Object.entries(ports)) {
  if (!wanted) continue;
  await new Promise((resolve) => {
    const probe = createServer().once('error', (e) =>
      e.code === 'EADDRINUSE' ? portTaken(variable, wanted) : resolve(),
    );
    probe.listen(wanted, '127.0.0.1', () => probe.close(resolve));
  });
}
const listening = (variable, start) =>
  start().catch((e) => (e?.code === 'EADDRINUSE' ? portTaken(variable, e.port) : Promise.reject(e)));

const emulator = await listening('EMULATOR_PORT', () => startEmulator({ port: ports.EMULATOR_PORT, seed: demoSeed() }));
const nest = await listening('NEST_PORT', () =>
  createNestDemo({ port: ports.NEST_PORT, emulatorUrl: emulator.url, rotateEveryMs: 30_000 }),
);
const web = await listening('EXPRESS_PORT', () =>
  createExpressDemo({ port: ports.EXPRESS_PORT, emulator, rotateEvery: false }),
);

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
