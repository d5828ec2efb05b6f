import Fastify, { type FastifyInstance } from 'fastify';
import {
  awsSecretsManager,
  parseDuration,
  sourceFromEnv,
  ssmParameterStore,
  type Duration,
  type InferSecrets,
  type LoggerLike,
  type Source,
} from '@hush/core';
import { hushSecrets } from '@hush/fastify';
import { startEmulator, type Emulator, type EmulatorClientConfig } from '@hush/emulator';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { DEMO_PARAMETERS, DEMO_SEED, demoDbValue, demoParameters, demoSecrets } from './demo-secrets';

export { DEMO_PARAMETERS, DEMO_SEED, demoDbValue, demoParameters, demoSecrets };

// Types `app.secrets` and `request.secrets` for this app (see the @hush/fastify README, "Typing").
declare module '@hush/fastify' {
  interface HushSecrets extends InferSecrets<typeof demoSecrets> {}
}

/** Options of {@link createFastifyDemo}. */
export interface FastifyDemoOptions {
  /** Port to listen on (127.0.0.1); 0 picks a free one. @default 3003 */
  port?: number;
  /** An emulator to read from (and rotate). Without it and without `clientConfig` or `source`, the demo starts its own. */
  emulator?: Emulator;
  /** Client config of an emulator (or AWS) to read from, instead of `emulator`. */
  clientConfig?: EmulatorClientConfig;
  /** Read secrets from this source instead (e.g. `sourceFromEnv()`); `emulator` is then used only for rotation. */
  source?: Source;
  /** Rotate `demo/db` this often; `false` when another process owns the rotation. @default '30s' (needs an emulator) */
  rotateEvery?: Duration | false;
  /** Background refresh interval. @default '10s' */
  refreshInterval?: Duration;
  /** Where lifecycle lines go. @default console, prefixed */
  logger?: LoggerLike | false;
}

/** A running demo. */
export interface FastifyDemo {
  readonly app: FastifyInstance;
  readonly port: number;
  readonly url: string;
  /** The emulator in use, when the demo has one (its own or the one passed in). */
  readonly emulator: Emulator | undefined;
  /** Stops rotation, the app (which closes the store), the meter provider and an emulator the demo started itself. */
  close(): Promise<void>;
}

const consoleLogger: LoggerLike = {
  info: (m) => console.log(`[fastify-demo] ${m}`),
  warn: (m) => console.warn(`[fastify-demo] ${m}`),
  error: (m) => console.error(`[fastify-demo] ${m}`),
};

/**
 * Starts the Fastify demo: `/whoami`, `/healthz`, `/readyz` and `/metrics` (Prometheus), backed by
 * `@hush/fastify`. Resolves once `listen()` did, which is after every secret loaded (or rejects
 * with the `SecretsLoadError`).
 *
 * @example
 * const demo = await createFastifyDemo({ port: 0 });
 * await fetch(`${demo.url}/whoami`);
 * await demo.close();
 */
export async function createFastifyDemo(options: FastifyDemoOptions = {}): Promise<FastifyDemo> {
  const owned =
    options.emulator === undefined && options.clientConfig === undefined && options.source === undefined
      ? await startEmulator({ seed: { ...DEMO_SEED }, parameters: { ...DEMO_PARAMETERS } })
      : undefined;
  const emulator = options.emulator ?? owned;
  const clientConfig = options.source
    ? undefined
    : { ...(options.clientConfig ?? emulator!.clientConfig()), maxAttempts: 3 };
  const source = options.source ?? awsSecretsManager({ clientConfig: clientConfig! });
  // Reading from the emulator (or AWS): configuration comes from Parameter Store, in the same store.
  const parameters = clientConfig ? { sources: { ssm: ssmParameterStore({ clientConfig }) } } : {};
  const logger = options.logger ?? consoleLogger;
  // Prometheus text served by GET /metrics (no exporter server of its own).
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });

  const app = Fastify({ logger: false });
  await app.register(hushSecrets, {
    name: 'fastify-demo',
    secrets: clientConfig ? { ...demoSecrets, ...demoParameters } : demoSecrets,
    source,
    ...parameters,
    refreshInterval: options.refreshInterval ?? '10s',
    maxStaleness: '2m',
    logger,
    meterProvider,
    healthPath: '/healthz',
    readinessPath: '/readyz',
  });
  app.get('/metrics', (request, reply) => {
    reply.hijack();
    exporter.getMetricsRequestHandler(request.raw, reply.raw);
  });
  app.get('/whoami', (request) => ({
    // Versions and generation describe the values; a password is only ever used, never sent.
    dbUser: request.secrets.dbUser,
    dbVersion: app.hush.store.handle('dbPassword').version?.slice(0, 8),
    apiKeyVersion: app.hush.store.handle('apiKey').version?.slice(0, 8),
    generation: app.hush.store.generation,
    // A Parameter Store parameter (absent when the demo reads from another source).
    greeting: app.hush.store.has('greeting') ? (app.hush.store.get('greeting') as string | undefined) : undefined,
  }));

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

  try {
    // Loads every secret in onReady first: rejects with the SecretsLoadError, or EADDRINUSE.
    await app.listen({ port: options.port ?? 3003, host: '127.0.0.1' });
  } catch (error) {
    if (rotation) clearInterval(rotation);
    await app.close();
    await meterProvider.shutdown();
    await owned?.close();
    throw error;
  }
  const port = app.server.address() as { port: number };
  let closing: Promise<void> | undefined;
  return {
    app,
    port: port.port,
    url: `http://127.0.0.1:${port.port}`,
    emulator,
    close: () =>
      (closing ??= (async () => {
        if (rotation) clearInterval(rotation);
        const closed = app.close();
        app.server.closeAllConnections();
        await closed;
        await meterProvider.shutdown();
        await owned?.close();
      })()),
  };
}

async function main(): Promise<void> {
  // HUSH_SOURCE=aws|agent|files reads from AWS, the Secrets Manager Agent or mounted files instead
  // of the demo's own emulator — the same app, by configuration alone.
  const demo = await createFastifyDemo({
    port: Number(process.env.PORT ?? 3003),
    ...(process.env.HUSH_SOURCE ? { source: sourceFromEnv(), rotateEvery: false as const } : {}),
  });
  console.log(`[fastify-demo] listening on ${demo.url}  (GET /whoami, /healthz, /readyz, /metrics)`);
  const stop = (signal: string) => {
    console.log(`[fastify-demo] ${signal}: shutting down`);
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
    console.error(`[fastify-demo] failed to start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
