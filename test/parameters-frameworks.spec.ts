/**
 * #25: Nest, Express and Fastify work unchanged with Parameter Store parameters. Each framework
 * boots a store declaring a Secrets Manager secret and SSM parameters side by side (two sources,
 * one store), serves them per request and reports both in one health body. Real apps, the real
 * SDK clients over HTTP to one emulator.
 */
import 'reflect-metadata';
import { Controller, Get, Injectable, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import request from 'supertest';
import { awsSecretsManager, defineSecrets, ssmParameterStore } from '@hush/core';
import { startEmulator, type Emulator } from '@hush/emulator';
import { createSecrets, type Hush } from '@hush/express';
import { hushSecrets } from '@hush/fastify';
import { InjectSecret, Secret, SecretsModule } from '@hush/nestjs';

const secrets = defineSecrets({
  dbPassword: { id: 'app/db', key: 'password' },
  apiUrl: { id: '/app/api-url', source: 'ssm' },
  hosts: { id: '/app/hosts', source: 'ssm', format: 'list' },
  flags: { id: '/app/flags/', source: 'ssm', path: true },
});

let emu: Emulator;

beforeAll(async () => {
  emu = await startEmulator({
    seed: { secrets: { 'app/db': JSON.stringify({ password: 'pw-CANARY-frameworks' }) } },
    parameters: {
      '/app/api-url': 'https://api.example.test',
      '/app/hosts': { value: 'h1,h2', type: 'StringList' },
      '/app/flags/beta': 'on',
      '/app/flags/dark-mode': 'off',
    },
  });
});
afterAll(async () => {
  await emu.close();
});

const sources = () => ({
  source: awsSecretsManager({ clientConfig: emu.clientConfig() }),
  sources: { ssm: ssmParameterStore({ clientConfig: emu.clientConfig() }) },
  refreshInterval: false as const,
  logger: false as const,
});

/** What every app answers on /config: values derived from both sources, never the secret. */
const EXPECTED = { apiUrl: 'https://api.example.test', hosts: ['h1', 'h2'], beta: 'on', passwordLength: 20 };

function checkHealth(body: string): void {
  expect(body).not.toContain('CANARY');
  for (const name of Object.keys(secrets)) expect(body).toContain(`"${name}"`);
}

describe('Parameter Store parameters beside a secret, unchanged in every framework', () => {
  it('Express: req.secrets serves both sources; one health body', async () => {
    const hush: Hush<typeof secrets> = await createSecrets({ secrets, ...sources() });
    try {
      const app = express();
      app.use(hush.middleware());
      app.get('/config', (req, res) => {
        const s = req.secrets as unknown as {
          apiUrl: string;
          hosts: readonly string[];
          flags: Readonly<Record<string, string>>;
          dbPassword: string;
        };
        res.json({ apiUrl: s.apiUrl, hosts: s.hosts, beta: s.flags.beta, passwordLength: s.dbPassword.length });
      });
      app.get('/healthz', hush.health());
      expect((await request(app).get('/config')).body).toEqual(EXPECTED);
      const health = await request(app).get('/healthz');
      expect(health.status).toBe(200);
      checkHealth(health.text);
    } finally {
      await hush.close();
    }
  });

  it('Fastify: request.secrets serves both sources; one health route', async () => {
    const app: FastifyInstance = Fastify();
    try {
      await app.register(hushSecrets, { secrets, ...sources(), healthPath: '/healthz' });
      app.get('/config', (req) => {
        const s = (req as unknown as { secrets: Record<string, unknown> }).secrets as {
          apiUrl: string;
          hosts: readonly string[];
          flags: Readonly<Record<string, string>>;
          dbPassword: string;
        };
        return { apiUrl: s.apiUrl, hosts: s.hosts, beta: s.flags.beta, passwordLength: s.dbPassword.length };
      });
      await app.ready();
      expect((await app.inject('/config')).json()).toEqual(EXPECTED);
      const health = await app.inject('/healthz');
      expect(health.statusCode).toBe(200);
      checkHealth(health.body);
    } finally {
      await app.close();
    }
  });

  it('Nest: @InjectSecret injects parameters like secrets', async () => {
    @Injectable()
    class ConfigReader {
      @InjectSecret('apiUrl') apiUrl!: string;
      @InjectSecret('hosts') hosts!: readonly string[];
      constructor(
        @InjectSecret('flags') readonly flags: Secret<Readonly<Record<string, string>>>,
        @InjectSecret('dbPassword') readonly password: Secret<string>,
      ) {}
    }
    @Controller()
    class ConfigController {
      constructor(private readonly reader: ConfigReader) {}
      @Get('config')
      config() {
        const r = this.reader;
        return { apiUrl: r.apiUrl, hosts: r.hosts, beta: r.flags.value.beta, passwordLength: r.password.value.length };
      }
    }
    const moduleRef = await Test.createTestingModule({
      imports: [SecretsModule.forRoot({ secrets, ...sources() })],
      providers: [ConfigReader],
      controllers: [ConfigController],
    }).compile();
    const app: INestApplication = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      expect((await request(app.getHttpServer()).get('/config')).body).toEqual(EXPECTED);
    } finally {
      await app.close();
    }
  });
});
