import { defineSecrets } from '@hush/core';

/** The demo's declarations: the same secret ids as the Nest demo. */
export const demoSecrets = defineSecrets({
  dbUser: { id: 'demo/db', key: 'username' },
  dbPassword: { id: 'demo/db', key: 'password' },
  dbHost: { id: 'demo/db', key: 'host' },
  apiKey: 'demo/api-key',
});

/** The value of `demo/db` at rotation `n` (the password changes, the user does not). */
export function demoDbValue(n: number): string {
  return JSON.stringify({ username: 'demo_app', password: `demo-pw-CANARY-${n}`, host: 'db.demo.internal' });
}

/** What the emulator is seeded with: the same ids and shapes as the Nest demo. */
export const DEMO_SEED: Readonly<Record<string, string>> = Object.freeze({
  'demo/db': demoDbValue(1),
  'demo/api-key': 'demo-api-key-CANARY-1',
});
