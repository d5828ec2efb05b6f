import { z } from 'zod';
import { awsSecretsManager, defineSecrets, type InferSecrets } from '@hush/core';
import { startEmulator, type Emulator } from '@hush/emulator';

export const Db = z.object({ username: z.string(), password: z.string(), host: z.string() });

/** The declarations every Fastify spec uses; every value contains CANARY. */
export const secrets = defineSecrets({
  db: { id: 'app/db', format: 'json', schema: Db },
  dbUser: { id: 'app/db', key: 'username' },
  apiKey: 'app/api-key',
  adminToken: 'app/admin-token',
  legacy: { id: 'app/legacy', optional: true },
});

/** Hostile values: quotes, backslashes, newlines, unicode, a long run. */
export const dbValue = (n: number) => ({
  username: `user-CANARY-${n}`,
  password: `p"w\\'\n\t-CANARY-é🔑-${n}-${'x'.repeat(300)}`,
  host: `db-CANARY-${n}.qzv`,
});
export const apiKey = (n: number) => `key-CANARY-${n}-\u2028"<>&`;
export const adminToken = (n: number) => `zq-CANARY-tkn-${n}`;

export const seed = (): Record<string, string> => ({
  'app/db': JSON.stringify(dbValue(1)),
  'app/api-key': apiKey(1),
  'app/admin-token': adminToken(1),
});

/**
 * Every value any spec puts in the emulator, for the fragment search: the fields of the JSON
 * secret (its key names, `"host"`, also occur in pino's `"hostname"`), the plain ones whole.
 */
export const allValues = (upTo = 4): string[] =>
  Array.from({ length: upTo }, (_, i) => i + 1).flatMap((n) => [
    ...Object.values(dbValue(n)),
    apiKey(n),
    adminToken(n),
  ]);

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

export { recordingLogger, sleep, waitFor } from '../../../test/support';

// The registry `app.secrets` and `request.secrets` are typed from, exactly as an application augments it.
declare module '@hush/fastify' {
  interface HushSecrets extends InferSecrets<typeof secrets> {}
}
