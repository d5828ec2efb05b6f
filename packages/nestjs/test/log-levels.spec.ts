/**
 * Log levels a production service wants: with Nest's default logger (which prints every level),
 * a routine refresh adds no line; boot, rotation, failures and recovery are logged. The per-refresh
 * debug lines (1 + N per round) come back with createNestLogger('Secrets', { debug: true }).
 */
import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { memorySource } from '@hush/core';
import {
  SecretsHealthIndicator,
  SecretsModule,
  SecretsService,
  createNestLogger,
  defineSecrets,
  type SecretsModuleRootOptions,
} from '@hush/nestjs';
import { captureAllLogs } from './helpers';

const secrets = defineSecrets({ apiKey: 'lv/api-key', db: { id: 'lv/db', format: 'json' }, extra: 'lv/extra' });
const logs = captureAllLogs();

async function refreshThreeTimes(logger: SecretsModuleRootOptions['logger']): Promise<string[]> {
  const source = memorySource({ 'lv/api-key': 'k-CANARY-lv', 'lv/db': { password: 'p-CANARY-lv' }, 'lv/extra': 'x' });
  const moduleRef = await Test.createTestingModule({
    imports: [
      SecretsModule.forRoot({
        secrets,
        source,
        refreshInterval: false,
        minRefreshInterval: 0,
        meterProvider: false,
        ...(logger ? { logger } : {}),
      }),
    ],
  })
    .setLogger(logs)
    .compile();
  const app = await moduleRef.createNestApplication().init();
  const start = logs.lines.length;
  const service = app.get(SecretsService);
  for (let i = 0; i < 3; i++) await service.refresh();
  const lines = logs.lines.slice(start).filter((l) => l.endsWith(' Secrets'));
  await app.close();
  return lines;
}

it('routine refreshes print nothing through the default Nest logger', async () => {
  expect(await refreshThreeTimes(undefined)).toEqual([]);
});

it('createNestLogger({ debug: true }) brings back 1 + N debug lines per refresh', async () => {
  const lines = await refreshThreeTimes(createNestLogger('Secrets', { debug: true }));
  expect(lines.filter((l) => l.startsWith('debug Fetched'))).toHaveLength(3);
  expect(lines.filter((l) => /^debug Secret "\w+" refreshed/.test(l))).toHaveLength(9);
});

it('a named store logs under the context Secrets:<name>, and its health payload carries the name', async () => {
  const source = memorySource({ 'lv/api-key': 'k-CANARY-lv', 'lv/db': { password: 'p-CANARY-lv' }, 'lv/extra': 'x' });
  const start = logs.lines.length;
  const moduleRef = await Test.createTestingModule({
    imports: [
      SecretsModule.forRoot({ secrets, source, name: 'payments', refreshInterval: false, meterProvider: false }),
    ],
  })
    .setLogger(logs)
    .compile();
  const app = await moduleRef.createNestApplication().init();
  source.set('lv/api-key', 'k2-CANARY-lv');
  await app.get(SecretsService).refresh('apiKey');
  const lines = logs.lines.slice(start).filter((l) => / Secrets(:\S+)?$/.test(l));
  expect(lines).toEqual([
    expect.stringMatching(/^log Loaded 3 secrets in \d+ ms Secrets:payments$/),
    expect.stringMatching(/^log Secret "apiKey" rotated to version \S{8} Secrets:payments$/),
  ]);
  expect(app.get(SecretsHealthIndicator).isHealthy()).toEqual({
    secrets: expect.objectContaining({ status: 'up', store: 'up', name: 'payments' }),
  });
  await app.close();
});
