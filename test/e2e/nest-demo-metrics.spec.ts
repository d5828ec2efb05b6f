import request from 'supertest';
import { createNestDemo, type NestDemo } from '@hush/nest-demo';
import { sample, until } from './helpers';

describe('apps/nest-demo GET /metrics', () => {
  let demo: NestDemo;
  beforeAll(async () => {
    demo = await createNestDemo({ port: 0, rotateEveryMs: 0, refreshInterval: 100, logLevels: false });
  });
  afterAll(() => demo.close());

  const scrape = async () => {
    const res = await request(demo.url).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    return res.text;
  };

  it('serves the Hush metrics in Prometheus text format', async () => {
    const text = await scrape();
    expect(text).toContain('# TYPE hush_source_calls_total counter');
    expect(text).toContain('# TYPE hush_fetch_duration histogram');
    expect(text).toContain('# TYPE hush_secret_age gauge');
    expect(
      sample(text, 'hush_source_calls_total', { hush_operation: 'BatchGetSecretValue', hush_outcome: 'ok' }),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'hush_store_status')).toBe(0);
    expect(sample(text, 'hush_secrets_stale')).toBe(0);
    // Each series names the demo's store (the name option).
    for (const name of ['db', 'dbUser', 'apiKey'])
      expect(text).toMatch(
        new RegExp(`^hush_secret_age\\{hush_store_name="nest-demo",hush_secret_name="${name}"[,}].* \\d+$`, 'm'),
      );
    // Names and codes only: no password, no api key.
    expect(text).not.toMatch(/password|demo-[0-9a-f]{24}|demo-key-/);
  });

  it('moves the rotation and call counters when the demo rotates its secret', async () => {
    const before = await scrape();
    const calls = sample(before, 'hush_source_calls_total', {
      hush_operation: 'BatchGetSecretValue',
      hush_outcome: 'ok',
    });
    expect(sample(before, 'hush_rotations_total', { hush_secret_name: 'db' })).toBe(0);
    await demo.rotate();
    const after = await until(scrape, (text) => sample(text, 'hush_rotations_total', { hush_secret_name: 'db' }) === 1);
    expect(sample(after, 'hush_rotations_total', { hush_secret_name: 'db' })).toBe(1);
    expect(sample(after, 'hush_rotations_total', { hush_secret_name: 'dbUser' })).toBe(1);
    expect(sample(after, 'hush_rotations_total', { hush_secret_name: 'apiKey' })).toBe(0);
    expect(
      sample(after, 'hush_source_calls_total', { hush_operation: 'BatchGetSecretValue', hush_outcome: 'ok' }),
    ).toBeGreaterThan(calls);
    expect(
      sample(after, 'hush_refreshes_total', { hush_secret_name: 'db', hush_outcome: 'ok' }),
    ).toBeGreaterThanOrEqual(1);
    expect(after).not.toMatch(/password|demo-[0-9a-f]{24}|demo-key-/);
  });
});
