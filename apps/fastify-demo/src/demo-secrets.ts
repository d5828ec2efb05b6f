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

/**
 * Configuration from Parameter Store, read by the same store as the secrets (a second source,
 * `ssm`), when the demo reads from the emulator. Optional: an emulator seeded without it still boots.
 */
export const demoParameters = defineSecrets({
  greeting: { id: '/demo/greeting', source: 'ssm', optional: true },
});

/** The Parameter Store parameters the demo's own emulator is seeded with. */
export const DEMO_PARAMETERS: Readonly<Record<string, string>> = Object.freeze({
  '/demo/greeting': 'hello from Parameter Store',
});
