import { defineSecrets } from '@hush/nestjs';

/** The secret holding the demo database's login (the RDS shape). */
export const DB_DEMO_SECRET_ID = 'demo/pg';

/** AWSCURRENT for every new connection, AWSPENDING for the single-user rotation window. */
export const dbSecrets = defineSecrets({
  db: { id: DB_DEMO_SECRET_ID, format: 'json' },
  dbPending: { id: DB_DEMO_SECRET_ID, format: 'json', versionStage: 'AWSPENDING', optional: true },
});
