/**
 * Rotation under load, Express 5: thousands of requests with bounded concurrency while both
 * secret ids rotate every 100 ms on the emulator (real SDK over HTTP, background refresh every
 * 20 ms). Zero 5xx, zero torn reads (the handler's checksum matches one generation), and no
 * request sees an older generation than the app had observed when the request was sent.
 */
import { createServer, type Server } from 'node:http';
import { inspect } from 'node:util';
import express from 'express';
import { awsSecretsManager, defineSecrets } from '@hush/core';
import { startEmulator, type Emulator } from '@hush/emulator';
import { createSecrets, type Hush } from '@hush/express';
import { allRenderings, destroyClients, emulatorClient, recordingLogger } from './helpers';
import { IDS, expectRotationUnderLoad, generation, getText, reading, runLoad, startRotating } from './load-driver';

const secrets = defineSecrets({
  dbUser: { id: IDS.db, key: 'user' },
  dbPassword: { id: IDS.db, key: 'password' },
  api: IDS.api,
});
type Values = { dbUser: string; dbPassword: string; api: string };

let emu: Emulator;
let hush: Hush<typeof secrets>;
let server: Server;
const log = recordingLogger();

beforeAll(async () => {
  const g = generation(1);
  emu = await startEmulator({ seed: { [IDS.db]: g.db, [IDS.api]: g.api } });
  hush = await createSecrets({
    secrets,
    source: awsSecretsManager({ client: emulatorClient(emu) }),
    refreshInterval: 20,
    refreshJitter: 0,
    logger: log,
  });
  const app = express();
  app.use(hush.middleware());
  app.get('/check', (req, res) => {
    const s = (req as unknown as { secrets: Values }).secrets;
    res.json(reading(s.dbUser, s.dbPassword, s.api));
  });
  // Negative control: reads one value, waits, then reads another live — may mix generations.
  app.get('/torn', async (req, res) => {
    const s = (req as unknown as { secrets: Values }).secrets;
    const user = s.dbUser;
    await new Promise((resolve) => setTimeout(resolve, 30));
    res.json(reading(user, hush.get('dbPassword'), hush.get('api')));
  });
  app.get('/render', (req, res) => {
    const s = (req as unknown as { secrets: Values }).secrets;
    res
      .type('text/plain')
      .send(
        [
          allRenderings(s),
          inspect(req, { depth: 4, showHidden: true }),
          allRenderings(hush),
          allRenderings(hush.store),
          allRenderings(hush.store.health()),
        ].join('\n'),
      );
  });
  app.get('/healthz', hush.health());
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await hush.close();
  destroyClients();
  await emu.close();
  expect(log.lines.join('\n')).not.toContain('CANARY');
});

it('serves 3,000 requests (32 concurrent) while secrets rotate every 100 ms: no 5xx, no torn read, never backwards', async () => {
  const current = () => Number(/-(\d+)$/.exec(hush.get('api'))![1]);
  await expectRotationUnderLoad(emu, server, current);
});

it('the torn-read check can fail: a handler that awaits between reads mixes generations', async () => {
  const current = () => Number(/-(\d+)$/.exec(hush.get('api'))![1]);
  const rotation = startRotating(emu, 100);
  const result = await runLoad(server, '/torn', 600, 32, current);
  rotation.stop();
  expect(result.statuses).toEqual({ 200: 600 });
  expect(result.torn).toBeGreaterThan(0);
});

it('req.secrets, the request, the hush object, the store and health print no value', async () => {
  const result = await getText(server, '/render');
  expect(result.length).toBeGreaterThan(1_000);
  expect(result).toContain('[redacted]');
  expect(result).not.toContain('CANARY');
});
