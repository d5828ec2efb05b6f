import express5 from 'express';
import express4 from 'express4';
import { z } from 'zod';
import { awsSecretsManager, defineSecrets, type InferSecrets } from '@hush/core';
import { startEmulator, type Emulator } from '@hush/emulator';

export const Db = z.object({ username: z.string(), password: z.string(), host: z.string() });

/** The declarations every Express spec uses; every value contains CANARY. */
export const secrets = defineSecrets({
  db: { id: 'app/db', format: 'json', schema: Db },
  dbUser: { id: 'app/db', key: 'username' },
  apiKey: 'app/api-key',
  adminToken: 'app/admin-token',
  legacy: { id: 'app/legacy', optional: true },
});

export const dbValue = (n: number) => ({
  username: `user-CANARY-${n}`,
  password: `pw-CANARY-${n}`,
  host: `db-CANARY-${n}.internal`,
});

export const seed = (): Record<string, string> => ({
  'app/db': JSON.stringify(dbValue(1)),
  'app/api-key': 'key-CANARY-1',
  'app/admin-token': 'admin-CANARY-1',
});

export async function emulator(): Promise<Emulator> {
  return startEmulator({ seed: seed() });
}

/** The real SDK client over HTTP to the emulator; one attempt, so an outage fails fast. */
export function source(emu: Emulator) {
  return awsSecretsManager({
    clientConfig: {
      ...emu.clientConfig(),
      maxAttempts: 1,
      requestHandler: { requestTimeout: 1_000, connectionTimeout: 500 },
    },
  });
}

/** Express 5 and Express 4 (installed as the `express4` alias), run through the same suites. */
export const frameworks: [string, typeof express5][] = [
  ['express 5', express5],
  ['express 4', express4 as unknown as typeof express5],
];

/** An error handler that answers with the error's name and message (never a stack). */
export function errorHandler(
  err: Error,
  _req: express5.Request,
  res: express5.Response,
  _next: express5.NextFunction,
): void {
  res.status(500).json({ name: err.name, message: err.message });
}

export { recordingLogger, sleep, waitFor as until } from '../../../test/support';

// The registry `req.secrets` is typed from, exactly as an application augments it.
declare module '@hush/express' {
  interface HushSecrets extends InferSecrets<typeof secrets> {}
}
