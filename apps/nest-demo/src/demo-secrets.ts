import { randomBytes } from 'node:crypto';
import { defineSecrets } from '@hush/nestjs';

/** The database credentials the demo reads (a JSON secret). */
export interface DbCredentials {
  username: string;
  password: string;
  host: string;
}

/** Secret ids in the emulator. */
export const DEMO_DB_ID = 'demo/db';
export const DEMO_API_KEY_ID = 'demo/api-key';

/** What the demo declares: one JSON secret, one key of it, one string secret. */
export const demoSecrets = defineSecrets({
  db: { id: DEMO_DB_ID, format: 'json' },
  dbUser: { id: DEMO_DB_ID, key: 'username' },
  apiKey: DEMO_API_KEY_ID,
});

/** A fresh database credential, as a rotation Lambda would write it. */
export function newDbCredentials(): DbCredentials {
  return { username: 'app_user', password: `demo-${randomBytes(12).toString('hex')}`, host: 'db.internal:5432' };
}

/** The emulator seed for the demo. */
export function demoSeed(): Record<string, string> {
  return {
    [DEMO_DB_ID]: JSON.stringify(newDbCredentials()),
    [DEMO_API_KEY_ID]: `demo-key-${randomBytes(12).toString('hex')}`,
  };
}
