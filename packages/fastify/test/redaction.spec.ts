/**
 * Prints nothing secret: Fastify's own logger (pino) with its request serializers, a logger asked
 * to log the request and its secrets, the default error handler, util.inspect and JSON of the
 * request, app.secrets and app.hush. Every output is searched for fragments of every value
 * (raw, escaped, URL-encoded, base64, hex), not just the exact value.
 */
import Fastify from 'fastify';
import { Console } from 'node:console';
import { inspect } from 'node:util';
import { Writable } from 'node:stream';
import { hushSecrets } from '@hush/fastify';
import type { Emulator } from '@hush/emulator';
import { FragmentFinder } from '../../../test/leaks/fragments';
import { allValues, emulator, secrets, source } from './helpers';

let emu: Emulator;
beforeAll(async () => {
  emu = await emulator();
});
afterAll(() => emu.close());

function tableOf(value: unknown): string {
  const out = memoryStream();
  new Console(out).table(value);
  return out.text();
}

function memoryStream(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return Object.assign(stream, { text: () => chunks.join('') });
}

it('logs, errors, inspects and serializes without any fragment of any value', async () => {
  const logs = memoryStream();
  const app = Fastify({
    logger: { level: 'trace', stream: logs, serializers: { req: (req) => ({ method: req.method, url: req.url }) } },
  });
  await app.register(hushSecrets, { secrets, source: source(emu), refreshInterval: false, logger: app.log });
  app.get('/log', (req) => {
    if (!req.secrets.db.password.includes('CANARY')) throw new Error('value not readable');
    // What a developer might log by accident: the request, its secrets, the app's.
    req.log.info({ req, secrets: req.secrets }, 'request with secrets');
    req.log.info({ secrets: app.secrets, hush: app.hush }, 'app secrets');
    req.log.info(`template ${req.secrets}`);
    return {
      json: JSON.stringify(req.secrets),
      nested: JSON.stringify({ secrets: req.secrets, app: app.secrets, hush: app.hush }),
      string: String(req.secrets),
      inspectSecrets: inspect(req.secrets, { showHidden: true, depth: 10, getters: true }),
      inspectReq: inspect(req, { depth: 3 }),
      inspectReqHidden: inspect(req, { showHidden: true, getters: true, depth: 2 }),
      inspectApp: inspect(app.secrets, { showHidden: true, getters: true }),
      inspectHush: inspect(app.hush, { showHidden: true, getters: true, depth: 5 }),
      // console.dir sets customInspect: false; with every other option on, nothing is listed or called.
      raw: [req.secrets, app.secrets, { nested: req.secrets }].map((v) =>
        inspect(v, { customInspect: false, showHidden: true, getters: true, depth: Infinity, showProxy: true }),
      ),
      rawReq: inspect(req, { customInspect: false, showHidden: true, getters: true, depth: 3 }),
      table: tableOf(req.secrets),
      clone: JSON.stringify(structuredClone(req.secrets)),
      keys: Object.keys(req),
    };
  });
  app.get('/boom', (req) => {
    // A route that reads a name it did not declare: the default error handler answers.
    return (req.secrets as unknown as Record<string, string>)['passwrd'];
  });
  await app.ready();

  const log = await app.inject('/log');
  expect(log.statusCode).toBe(200);
  const body = log.json() as Record<string, unknown>;
  expect(body['json']).toBe('"[redacted]"');
  expect(body['string']).toBe('[redacted]');
  expect(body['inspectSecrets']).toBe('Secrets [redacted]');
  expect(body['keys']).not.toContain('secrets');

  const boom = await app.inject('/boom');
  expect(boom.statusCode).toBe(500);
  expect(boom.json()).toMatchObject({ code: 'SECRET_NOT_FOUND', message: expect.stringContaining('"passwrd"') });
  await app.close();

  const text = logs.text();
  expect(text).toContain('request with secrets');
  expect(text).toContain('"secrets":"[redacted]"');
  const finder = new FragmentFinder(allValues());
  const outputs = { logs: text, log: log.body, boom: boom.body };
  for (const [channel, output] of Object.entries(outputs)) expect(finder.find(channel, output)).toEqual([]);
});
