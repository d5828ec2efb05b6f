import { createFastifyDemo, demoDbValue, type FastifyDemo } from '@hush/fastify-demo';

import { startEmulator } from '@hush/emulator';
import { recordingLogger } from '../support';

const logger = recordingLogger();
const { lines } = logger;

async function get(demo: FastifyDemo, path: string): Promise<{ status: number; body: any; text: string }> {
  const res = await fetch(`${demo.url}${path}`);
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text), text };
}

afterAll(() => {
  expect(lines.join('\n')).not.toContain('CANARY');
});

describe('apps/fastify-demo', () => {
  it('serves /whoami, /healthz and /readyz from its own emulator, and follows a rotation', async () => {
    const demo = await createFastifyDemo({ port: 0, rotateEvery: false, logger });
    try {
      const whoami = await get(demo, '/whoami');
      expect(whoami.status).toBe(200);
      expect(whoami.body).toEqual({
        dbUser: 'demo_app',
        dbVersion: expect.stringMatching(/^[\w-]{8}$/),
        apiKeyVersion: expect.stringMatching(/^[\w-]{8}$/),
        generation: expect.any(Number),
        greeting: 'hello from Parameter Store',
      });
      const health = await get(demo, '/healthz');
      expect(health.status).toBe(200);
      expect(health.body).toMatchObject({
        status: 'ok',
        error: {},
        details: { secrets: { status: 'up', store: 'up' } },
      });
      expect(Object.keys(health.body.details.secrets.secrets)).toEqual([
        'dbUser',
        'dbPassword',
        'dbHost',
        'apiKey',
        'greeting',
      ]);
      const ready = await get(demo, '/readyz');
      expect(ready.status).toBe(200);
      const metrics = await fetch(`${demo.url}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/hush_/);

      demo.emulator!.putSecret('demo/db', demoDbValue(2));
      await demo.app.hush.refresh();
      const after = await get(demo, '/whoami');
      expect(after.body.dbVersion).not.toBe(whoami.body.dbVersion);
      expect(after.body.apiKeyVersion).toBe(whoami.body.apiKeyVersion);
      expect(after.body.generation).toBeGreaterThan(whoami.body.generation);
      for (const r of [whoami, health, ready, after]) expect(r.text).not.toContain('CANARY');
    } finally {
      await demo.close();
    }
    await expect(fetch(`${demo.url}/healthz`)).rejects.toThrow();
  });

  it('rotates demo/db on its own schedule against a shared emulator it does not own', async () => {
    const emu = await startEmulator({ seed: { 'demo/db': demoDbValue(1), 'demo/api-key': 'demo-api-key-CANARY-1' } });
    const demo = await createFastifyDemo({ port: 0, emulator: emu, rotateEvery: 150, refreshInterval: 100, logger });
    try {
      const first = (await get(demo, '/whoami')).body;
      const deadline = Date.now() + 5_000;
      let latest = first;
      while (latest.dbVersion === first.dbVersion && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        latest = (await get(demo, '/whoami')).body;
      }
      expect(latest.dbVersion).not.toBe(first.dbVersion);
      expect(lines.some((l) => l.includes('rotated demo/db'))).toBe(true);
    } finally {
      await demo.close();
    }
    // The shared emulator is the caller's: still running after the demo closes.
    expect(emu.calls().total).toBeGreaterThan(0);
    await emu.close();
  });
});

it('rejects with the SecretsLoadError when a secret cannot be loaded, leaving nothing listening', async () => {
  const emu = await startEmulator({ seed: { 'demo/db': demoDbValue(1) } });
  try {
    await expect(
      createFastifyDemo({ port: 0, emulator: emu, rotateEvery: false, logger, refreshInterval: '1h' }),
    ).rejects.toThrow(/Failed to load 1 required secret \[apiKey\]/);
  } finally {
    await emu.close();
  }
});
