import request from 'supertest';

import { createExpressDemo, demoDbValue, type ExpressDemo } from '@hush/express-demo';
import { sample, sampleLines } from './helpers';
import { recordingLogger } from '../support';

const NAMES = ['dbUser', 'dbPassword', 'dbHost', 'apiKey'];
const BATCH_OK = { hush_source: 'aws-secrets-manager', hush_operation: 'BatchGetSecretValue', hush_outcome: 'ok' };
// A demo password or api key, whatever its rotation number.
const VALUE = /CANARY|demo-pw-|demo-api-key-|password/;

const logger = recordingLogger();
const { lines: logged } = logger;

describe('apps/express-demo GET /metrics', () => {
  let demo: ExpressDemo;
  // No background refresh and no rotation timer: every counter below is exact.
  beforeAll(async () => {
    demo = await createExpressDemo({ port: 0, rotateEvery: false, refreshInterval: '1h', logger });
  });
  afterAll(async () => {
    await demo.close();
    expect(logged.join('\n')).not.toContain('CANARY');
  });

  const scrape = async () => {
    const res = await request(demo.url).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    return res.text;
  };

  it('serves the Hush metrics of the load in Prometheus text format', async () => {
    const text = await scrape();
    expect(text).toContain('# TYPE hush_source_calls_total counter');
    expect(text).toContain('# TYPE hush_fetch_duration histogram');
    expect(text).toContain('# TYPE hush_secret_age gauge');
    expect(text).toContain('# TYPE hush_store_status gauge');
    // One batched call loaded all four secrets; nothing refreshed or rotated yet.
    expect(sampleLines(text, 'hush_source_calls_total')).toHaveLength(1);
    expect(sample(text, 'hush_source_calls_total', BATCH_OK)).toBe(1);
    expect(sample(text, 'hush_fetch_duration_count', { hush_reason: 'load', hush_outcome: 'ok' })).toBe(1);
    expect(sampleLines(text, 'hush_refreshes_total')).toEqual([]);
    expect(sampleLines(text, 'hush_rotations_total')).toEqual([]);
    expect(sample(text, 'hush_store_status')).toBe(0);
    expect(sample(text, 'hush_secrets_stale')).toBe(0);
    expect(sampleLines(text, 'hush_secret_age').map((l) => /hush_secret_name="(\w+)"/.exec(l)?.[1])).toEqual(NAMES);
    for (const name of NAMES)
      expect(text).toMatch(
        new RegExp(
          `^hush_secret_age\\{hush_store_name="express-demo",hush_secret_name="${name}"[,}].* \\d+(\\.\\d+)?$`,
          'm',
        ),
      );
    expect(text).not.toMatch(VALUE);
  });

  it('counts the forced refresh and the rotation of demo/db, and nothing for the unchanged api key', async () => {
    demo.emulator!.putSecret('demo/db', demoDbValue(2));
    await demo.hush.refresh();
    const text = await scrape();
    expect(sample(text, 'hush_source_calls_total', BATCH_OK)).toBe(2);
    expect(sample(text, 'hush_fetch_duration_count', { hush_reason: 'refresh', hush_outcome: 'ok' })).toBe(1);
    for (const name of NAMES)
      expect([name, sample(text, 'hush_refreshes_total', { hush_secret_name: name, hush_outcome: 'ok' })]).toEqual([
        name,
        1,
      ]);
    for (const name of ['dbUser', 'dbPassword', 'dbHost'])
      expect([name, sample(text, 'hush_rotations_total', { hush_secret_name: name })]).toEqual([name, 1]);
    expect(sampleLines(text, 'hush_rotations_total')).toHaveLength(3); // no apiKey line
    expect(sampleLines(text, 'hush_refreshes_total').filter((l) => l.includes('hush_outcome="error"'))).toEqual([]);
    expect(sample(text, 'hush_store_status')).toBe(0);
    // The counters agree with the store's own view.
    expect(demo.hush.store.stats().rotations).toBe(3);
    expect(text).not.toMatch(VALUE);
  });
});
