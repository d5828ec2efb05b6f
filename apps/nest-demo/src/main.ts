import { createNestDemo } from './nest-demo';

/**
 * `npm start` in apps/nest-demo (after a build): emulator + app, rotation every 30 s.
 * Ctrl-C closes the app (stopping the refresh loop) and the emulator, then exits.
 */
async function main(): Promise<void> {
  const demo = await createNestDemo({ emulatorUrl: process.env.HUSH_EMULATOR_URL });
  process.stdout.write(
    `\nNest demo on ${demo.url}\n  GET ${demo.url}/whoami   (db user + secret versions, never a password)\n  GET ${demo.url}/health   (terminus)\n  GET ${demo.url}/metrics  (Prometheus: calls, refreshes, rotations, ages)\n` +
      `Emulator on ${demo.emulatorUrl}; demo/db rotates every 30 s. Ctrl-C to stop.\n\n`,
  );
  const stop = (signal: NodeJS.Signals) => {
    process.stdout.write(`\n${signal}: shutting down\n`);
    demo.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`shutdown failed: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
});
