import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import {
  awsSecretsManager,
  parseDuration,
  sourceFromEnv,
  type Duration,
  type InferSecrets,
  type LoggerLike,
  type Source,
} from '@hush/core';
import { createSecrets, type Hush } from '@hush/express';
import { startEmulator, type Emulator, type EmulatorClientConfig } from '@hush/emulator';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { DEMO_SEED, demoDbValue, demoSecrets } from './demo-secrets';

export { DEMO_SEED, demoDbValue, demoSecrets };

// Types `req.secrets` for this app (see the @hush/express README, "Typing req.secrets").
declare module '@hush/express' {
  interface HushSecrets extends InferSecrets<typeof demoSecrets> {}
}

/** Options of {@link createExpressDemo}. */
export interface ExpressDemoOptions {
  /** Port to listen on; 0 picks a free one. @default 3001 */
  port?: number;
  /** An emulator to read from (and rotate). Without it and without `clientConfig`, the demo starts its own. */
  emulator?: Emulator;
  /** Client config of an emulator (or AWS) to read from, instead of `emulator`. */
  clientConfig?: EmulatorClientConfig;
  /**
   * Read secrets from this source instead (e.g. `sourceFromEnv()` for HUSH_SOURCE=agent|files|aws).
   * `emulator` is then used only for rotation.
   */
  source?: Source;
  /** Rotate `demo/db` this often; `false` when another process owns the rotation. @default '30s' (needs `emulator` or an owned one) */
  rotateEvery?: Duration | false;
  /** Background refresh interval. @default '10s' */
  refreshInterval?: Duration;
  /** Where lifecycle lines go. @default console, prefixed */
  logger?: LoggerLike | false;
}

/** A running demo. */
export interface ExpressDemo {
  readonly app: Express;
  readonly hush: Hush<typeof demoSecrets>;
  readonly server: Server;
  readonly port: number;
  readonly url: string;
  /** The emulator in use, when the demo has one (its own or the one passed in). */
  readonly emulator: Emulator | undefined;
  /** The OpenTelemetry MeterProvider Hush records on; `GET /metrics` serves its Prometheus reader. */
  readonly meterProvider: MeterProvider;
  /** Stops rotation, the HTTP server, the store, the meter provider and an emulator the demo started itself. */
  close(): Promise<void>;
}

const consoleLogger: LoggerLike = {
  info: (m) => console.log(`[express-demo] ${m}`),
  warn: (m) => console.warn(`[express-demo] ${m}`),
  error: (m) => console.error(`[express-demo] ${m}`),
};

/**
 * Starts the Express demo: `/whoami`, `/healthz`, `/readyz` and `/metrics` (Prometheus), backed by `@hush/express`.
 *
 * @example
 * const demo = await createExpressDemo({ port: 0 });
 * await fetch(`${demo.url}/whoami`);
 * await demo.close();
 */
export async function createExpressDemo(options: ExpressDemoOptions = {}): Promise<ExpressDemo> {
  const owned =
    options.emulator === undefined && options.clientConfig === undefined && options.source === undefined
      ? await startEmulator({ seed: { ...DEMO_SEED } })
      : undefined;
  const emulator = options.emulator ?? owned;
  const source =
    options.source ??
    awsSecretsManager({ clientConfig: { ...(options.clientConfig ?? emulator!.clientConfig()), maxAttempts: 3 } });
  const logger = options.logger ?? consoleLogger;

  // Metrics: an OpenTelemetry MeterProvider read by a Prometheus exporter that GET /metrics serves
  // (no exporter server of its own). An app with an OTel SDK would register its provider globally instead.
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });

  let hush: Hush<typeof demoSecrets>;
  try {
    hush = await createSecrets({
      // Its metrics and health say which app they are about (log lines carry [express-demo] already).
      name: 'express-demo',
      secrets: demoSecrets,
      source,
      refreshInterval: options.refreshInterval ?? '10s',
      maxStaleness: '2m',
      logger,
      meterProvider,
    });
  } catch (error) {
    await meterProvider.shutdown();
    await owned?.close();
    throw error;
  }

  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', hush.health());
  app.get('/readyz', hush.readiness());
  // Prometheus text format: counters, the fetch histogram and gauges — names, versions, codes, never a value.
  // The exporter collects, serializes and ends the response itself.
  app.get('/metrics', (req, res) => exporter.getMetricsRequestHandler(req, res));
  app.use(hush.middleware());
  app.get('/whoami', (req, res) => {
    // Versions and generation describe the values; a password is only ever used, never sent.
    res.json({
      dbUser: req.secrets.dbUser,
      dbVersion: hush.store.handle('dbPassword').version?.slice(0, 8),
      apiKeyVersion: hush.store.handle('apiKey').version?.slice(0, 8),
      generation: hush.store.generation,
    });
  });

  let rotation: NodeJS.Timeout | undefined;
  const rotateEvery = options.rotateEvery ?? '30s';
  if (rotateEvery !== false && emulator) {
    let n = 1;
    rotation = setInterval(
      () => {
        emulator.putSecret('demo/db', demoDbValue(++n));
        if (logger) logger.info(`rotated demo/db (rotation ${n}); the store picks it up within its refresh interval`);
      },
      parseDuration(rotateEvery, 'rotateEvery'),
    );
    rotation.unref();
  }

  let server: Server;
  try {
    server = await new Promise((resolve, reject) => {
      // Express 5 calls back with the listen error (EADDRINUSE…) as well as on success.
      const s = app.listen(options.port ?? 3001, '127.0.0.1', (error?: Error) => (error ? reject(error) : resolve(s)));
      s.once('error', reject);
    });
  } catch (error) {
    if (rotation) clearInterval(rotation);
    await hush.close();
    await meterProvider.shutdown();
    await owned?.close();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    app,
    hush,
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    emulator,
    meterProvider,
    close: () =>
      (closing ??= (async () => {
        if (rotation) clearInterval(rotation);
        await new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections?.();
        await hush.close();
        await meterProvider.shutdown();
        await owned?.close();
      })()),
  };
}

async function main(): Promise<void> {
  // HUSH_SOURCE=aws|agent|files reads from AWS, the Secrets Manager Agent or mounted files instead
  // of the demo's own emulator — the same app, by configuration alone.
  const demo = await createExpressDemo({
    port: Number(process.env.PORT ?? 3001),
    ...(process.env.HUSH_SOURCE ? { source: sourceFromEnv(), rotateEvery: false as const } : {}),
  });
  console.log(`[express-demo] listening on ${demo.url}  (GET /whoami, /healthz, /readyz, /metrics)`);
  const stop = (signal: string) => {
    console.log(`[express-demo] ${signal}: shutting down`);
    demo.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`[express-demo] failed to start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
