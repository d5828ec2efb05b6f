import { sourceFromEnv } from '@hush/core';
import { createNestDemo } from './nest-demo';

/**
 * `npm start` in apps/nest-demo (after a build): emulator + app, rotation every 30 s.
 * HUSH_SOURCE=aws|agent|files reads the secrets from AWS, the Secrets Manager Agent or mounted
 * files instead (see sourceFromEnv); the emulator at HUSH_EMULATOR_URL, if set, then only rotates.
 * Ctrl-C closes the app (stopping the refresh loop) and the emulator, then exits.
 */
async function main(): Promise<void> {
  const source = process.env.HUSH_SOURCE ? sourceFromEnv() : undefined;
  const demo = await createNestDemo({ emulatorUrl: process.env.HUSH_EMULATOR_URL, ...(source ? { source } : {}) });
  const from = source ? `Secrets from ${source.kind} (HUSH_SOURCE=${process.env.HUSH_SOURCE}); ` : '';
  const rotation = demo.emulatorUrl
    ? `emulator on ${demo.emulatorUrl}; demo/db rotates every 30 s.`
    : 'no emulator, no rotation.';
  process.stdout.write(
    `\nNest demo on ${demo.url}\n  GET ${demo.url}/whoami   (db user + secret versions, never a password)\n  GET ${demo.url}/health   (terminus)\n  GET ${demo.url}/metrics  (Prometheus: calls, refreshes, rotations, ages)\n` +
      `${from}${rotation} Ctrl-C to stop.\n\n`,
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
