import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import express from 'express';
import { awsSecretsManager } from '@hush/core';
import type { Emulator } from '@hush/emulator';
import { createSecrets } from '@hush/express';
import { InjectSecret, SecretsModule } from '@hush/nestjs';
import { check, declarationsFor, podClient } from '../util';

/**
 * Real `req` objects of a real Express 5 app with `hush.middleware()`: `count` requests are sent
 * over loopback and each handler keeps its `req`, so the benchmark reads `req.secrets.x` exactly
 * as a handler would.
 */
export async function buildExpressCandidate(
  emu: Emulator,
  ids: readonly string[],
  count: number,
): Promise<{ requests: { secrets: Record<string, string> }[]; close: () => Promise<void> }> {
  const client = podClient(emu);
  const hush = await createSecrets({
    secrets: declarationsFor(ids),
    source: awsSecretsManager({ client }),
    refreshInterval: false,
  });
  const requests: { secrets: Record<string, string> }[] = [];
  const app = express();
  app.use(hush.middleware());
  app.get('/', (req, res) => {
    requests.push(req as unknown as { secrets: Record<string, string> });
    res.send('ok');
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  for (let i = 0; i < count; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/`);
    check(res.status === 200, `express hot-read request answered ${res.status}`);
    await res.text();
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  check(requests.length === count, 'express handler did not capture every request');
  return {
    requests,
    close: async () => {
      await hush.close();
      client.destroy();
    },
  };
}

@Injectable()
class HotReadService {
  @InjectSecret('s0') s0!: string;
}

/** A Nest application context with `SecretsModule` and a service with an `@InjectSecret` property. */
export async function buildNestCandidate(
  emu: Emulator,
  ids: readonly string[],
): Promise<{ service: { s0: string }; close: () => Promise<void> }> {
  const client = podClient(emu);
  @Module({
    imports: [
      SecretsModule.forRoot({
        secrets: declarationsFor(ids),
        source: awsSecretsManager({ client }),
        refreshInterval: false,
        logger: false,
      }),
    ],
    providers: [HotReadService],
  })
  class HotReadModule {}
  const app = await NestFactory.createApplicationContext(HotReadModule, { logger: false });
  const service = app.get(HotReadService);
  check(
    typeof service.s0 === 'string' && service.s0.startsWith('pw-CANARY-0'),
    'Nest @InjectSecret property not bound',
  );
  return {
    service,
    close: async () => {
      await app.close();
      client.destroy();
    },
  };
}
