export { createNestDemo, type NestDemo, type NestDemoOptions } from './nest-demo';
export { AppModule, type AppModuleOptions } from './app.module';
export { DbService } from './db.service';
export { WhoamiController, type WhoAmI } from './whoami.controller';
export { HealthController } from './health.controller';
export {
  demoSecrets,
  demoSeed,
  newDbCredentials,
  DEMO_DB_ID,
  DEMO_API_KEY_ID,
  type DbCredentials,
} from './demo-secrets';
export { MetricsController } from './metrics.controller';
