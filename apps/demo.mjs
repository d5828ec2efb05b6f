// `npm start`: one local Secrets Manager emulator, the NestJS demo and the Express demo on top of it.
// The Nest demo rotates `demo/db` every 30 s; watch the version change in both /whoami endpoints.
import { startEmulator } from '@hush/emulator';
import { createNestDemo, demoSeed } from '@hush/nest-demo';
import { createExpressDemo } from '@hush/express-demo';

const port = (name, fallback) => (process.env[name] === undefined ? fallback : Number(process.env[name]));

// A taken port ends the demo with one line naming the variable to change, not an EADDRINUSE stack.
async function listening(variable, start) {
  try {
    return await start();
  } catch (error) {
    if (error?.code !== 'EADDRINUSE') throw error;
    console.error(`Port ${error.port} is already in use: set ${variable} to a free port (0 picks one).`);
    process.exit(1);
  }
}

const emulator = await listening('EMULATOR_PORT', () =>
  startEmulator({ port: port('EMULATOR_PORT', 0), seed: demoSeed() }),
);
const nest = await listening('NEST_PORT', () =>
  createNestDemo({ port: port('NEST_PORT', 3000), emulatorUrl: emulator.url, rotateEveryMs: 30_000 }),
);
const web = await listening('EXPRESS_PORT', () =>
  createExpressDemo({ port: port('EXPRESS_PORT', 3001), emulator, rotateEvery: false }),
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
