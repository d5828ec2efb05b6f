import request from 'supertest';
import { startEmulator, type Emulator } from '@hush/emulator';
import { createNestDemo, type NestDemo } from '@hush/nest-demo';
import { until } from './helpers';

describe('apps/nest-demo', () => {
  describe('with its own emulator', () => {
    let demo: NestDemo;
    beforeAll(async () => {
      demo = await createNestDemo({ port: 0, rotateEveryMs: 0, refreshInterval: 100, logLevels: false });
    });
    afterAll(() => demo.close());

    it('serves /whoami with the database user and versions, never a password', async () => {
      const res = await request(demo.url).get('/whoami').expect(200);
      expect(res.body).toEqual({
        dbUser: 'app_user',
        dbHost: 'db.internal:5432',
        dbVersion: expect.stringMatching(/^[\w-]{8}$/),
        apiKeyVersion: expect.stringMatching(/^[\w-]{8}$/),
        generation: expect.any(Number),
        reconnects: 0,
      });
      expect(res.text).not.toMatch(/password|demo-[0-9a-f]{24}/);
    });

    it('serves /health through terminus', async () => {
      const res = await request(demo.url).get('/health').expect(200);
      expect(res.body.status).toBe('ok');
      expect(res.body.info.secrets.secrets.db.status).toBe('fresh');
    });

    it('picks up a rotation through the emulator and runs the rotation hook', async () => {
      const before = (await request(demo.url).get('/whoami')).body;
      const versionId = await demo.rotate();
      const after = await until(
        async () => (await request(demo.url).get('/whoami')).body,
        (body) => body.dbVersion === versionId.slice(0, 8),
      );
      expect(after.dbVersion).toBe(versionId.slice(0, 8));
      expect(after.dbVersion).not.toBe(before.dbVersion);
      expect(after.reconnects).toBe(1);
      expect(after.generation).toBeGreaterThan(before.generation);
    });
  });

  describe('with a shared emulator (as apps/demo.mjs runs it)', () => {
    let emu: Emulator;
    let demo: NestDemo;
    beforeAll(async () => {
      emu = await startEmulator();
      demo = await createNestDemo({ port: 0, emulatorUrl: emu.url, rotateEveryMs: 0, logLevels: false });
    });
    afterAll(async () => {
      await demo.close();
      await emu.close();
    });

    it('seeds the demo secrets into it and boots', async () => {
      expect(emu.calls().BatchGetSecretValue).toBe(1);
      const res = await request(demo.url).get('/whoami').expect(200);
      expect(res.body.dbUser).toBe('app_user');
      await demo.close();
      // close() is idempotent and leaves a shared emulator running.
      await demo.close();
      await request(emu.url).get('/_emulator/health').expect(200);
    });
  });
});
