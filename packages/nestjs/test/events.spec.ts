import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { memorySource, type SecretsEvent } from '@hush/core';
import { SecretsModule, SecretsService, defineSecrets } from '@hush/nestjs';
import { captureAllLogs } from './helpers';

const secrets = defineSecrets({ apiKey: 'ev/api-key', db: { id: 'ev/db', format: 'json' } });

describe('SecretsService.events$ and Nest log lines', () => {
  const logs = captureAllLogs();

  it('streams every lifecycle event, logs through context Secrets once per failure streak, and completes on close', async () => {
    const source = memorySource({ 'ev/api-key': 'key-CANARY-ev-1', 'ev/db': { password: 'pw-CANARY-ev-1' } });
    const moduleRef = await Test.createTestingModule({
      imports: [
        SecretsModule.forRoot({ secrets, source, refreshInterval: false, minRefreshInterval: 0, meterProvider: false }),
      ],
    })
      .setLogger(logs)
      .compile();
    const app = moduleRef.createNestApplication();
    await app.init();
    const service = app.get(SecretsService);
    const seen: SecretsEvent[] = [];
    let completed = false;
    service.events$.subscribe({ next: (e) => seen.push(e), complete: () => (completed = true) });

    const version = source.set('ev/api-key', 'key-CANARY-ev-2');
    await service.refresh('apiKey');
    source.fail('ev/api-key', 'ThrottlingException');
    await service.refresh('apiKey');
    await service.refresh('apiKey');
    source.recover();
    await service.refresh('apiKey');
    await app.close();

    expect(seen.filter((e) => e.type !== 'fetched').map((e) => [e.type, 'name' in e ? e.name : undefined])).toEqual([
      ['rotated', 'apiKey'],
      ['refreshed', 'apiKey'],
      ['refresh-failed', 'apiKey'],
      ['refresh-failed', 'apiKey'],
      ['refreshed', 'apiKey'],
      ['recovered', 'apiKey'],
      ['closed', undefined],
    ]);
    expect(seen.find((e) => e.type === 'rotated')).toMatchObject({ version });
    expect(completed).toBe(true);
    expect(JSON.stringify(seen)).not.toContain('CANARY');

    const secretsLines = logs.lines.filter((l) => l.endsWith(' Secrets') && !l.startsWith('debug'));
    expect(secretsLines).toEqual([
      expect.stringMatching(/^log Loaded 2 secrets in \d+ ms Secrets$/),
      `log Secret "apiKey" rotated to version ${version.slice(0, 8)} Secrets`,
      'warn Refreshing secret "apiKey" failed (ThrottlingException); serving the last good value Secrets',
      'log Secret "apiKey" recovered Secrets',
    ]);
  });
});
