import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { Logger, type INestApplication, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { awsSecretsManager, type Source } from '@hush/core';
import { startEmulator, type Emulator } from '@hush/emulator';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { AppModule } from './app.module';
import { DEMO_API_KEY_ID, DEMO_DB_ID, demoSeed, newDbCredentials } from './demo-secrets';

/** Options of {@link createNestDemo}. */
export interface NestDemoOptions {
  /** HTTP port; 0 picks a free one. @default process.env.PORT or 3000 */
  port?: number;
  /**
   * Use an emulator that is already running (e.g. started by apps/demo.mjs); otherwise one is started
   * (unless `source` is given).
   */
  emulatorUrl?: string;
  /**
   * Read secrets from this source instead (e.g. `sourceFromEnv()` for HUSH_SOURCE=agent|files|aws).
   * The emulator at `emulatorUrl`, if any, is then used only for rotation; without one, no emulator
   * is started and the demo does not rotate.
   */
  source?: Source;
  /** Region of that emulator. @default 'us-east-1' */
  region?: string;
  /** Rotate `demo/db` through the emulator this often; 0 disables. @default 30 000 (needs an emulator) */
  rotateEveryMs?: number;
  /** Background refresh of the app's secrets. @default '10s' */
  refreshInterval?: number | `${number}s`;
  /** Nest log levels. @default ['log', 'warn', 'error'] */
  logLevels?: LogLevel[] | false;
}

/** A running demo. */
export interface NestDemo {
  readonly app: INestApplication;
  readonly url: string;
  readonly port: number;
  /** The emulator the demo reads from or rotates through; `undefined` with a `source` and no `emulatorUrl`. */
  readonly emulatorUrl: string | undefined;
  /**
   * Rotates `demo/db` now (what the timer does every `rotateEveryMs`); resolves with the new version id.
   * Rejects when the demo has no emulator.
   */
  rotate(): Promise<string>;
  /** Stops the rotation timer, closes the app (which stops the refresh loop) and the emulator if the demo started it. */
  close(): Promise<void>;
}

/**
 * Starts the Nest demo: an emulator seeded with demo secrets (unless `emulatorUrl` or `source` is given),
 * the app on `port` with `GET /whoami`, `GET /health` and `GET /metrics` (Prometheus), and a timer
 * rotating `demo/db`.
 *
 * @example
 * const demo = await createNestDemo({ port: 0 });
 * await fetch(`${demo.url}/whoami`);
 * await demo.close();
 */
export async function createNestDemo(options: NestDemoOptions = {}): Promise<NestDemo> {
  const logger = new Logger('NestDemo');
  let emulator: Emulator | undefined;
  let emulatorUrl = options.emulatorUrl;
  if (emulatorUrl !== undefined) {
    await seedIfMissing(emulatorUrl);
  } else if (options.source === undefined) {
    emulator = await startEmulator({ seed: demoSeed() });
    emulatorUrl = emulator.url;
  }
  const source =
    options.source ??
    awsSecretsManager({
      region: options.region ?? emulator?.region ?? 'us-east-1',
      endpoint: emulatorUrl,
      clientConfig: { credentials: { accessKeyId: 'demo', secretAccessKey: 'demo' } },
    });

  // Metrics: an OpenTelemetry MeterProvider read by a Prometheus exporter that GET /metrics serves
  // (no exporter server of its own). An app with an OTel SDK would register its provider globally instead.
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });

  let app: INestApplication;
  try {
    app = await NestFactory.create(
      AppModule.register({
        source,
        refreshInterval: options.refreshInterval ?? '10s',
        metrics: { exporter, meterProvider },
      }),
      {
        abortOnError: false,
        logger: options.logLevels ?? ['log', 'warn', 'error'],
      },
    );
    // Loopback only, like the emulator and the Express demo: the demo serves fake secrets' metadata.
    await app.listen(options.port ?? Number(process.env.PORT ?? 3000), '127.0.0.1');
  } catch (error) {
    await meterProvider.shutdown();
    await emulator?.close();
    throw error;
  }
  const port = (app.getHttpServer().address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  const rotate = async (): Promise<string> => {
    if (emulatorUrl === undefined)
      throw new Error(
        `No emulator to rotate ${DEMO_DB_ID} through: pass emulatorUrl, or rotate it where the source reads it.`,
      );
    const res = await fetch(`${emulatorUrl}/_emulator/secrets/${encodeURIComponent(DEMO_DB_ID)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value: JSON.stringify(newDbCredentials()) }),
    });
    if (!res.ok) throw new Error(`The emulator refused the rotation of ${DEMO_DB_ID}: HTTP ${res.status}`);
    const { versionId } = (await res.json()) as { versionId: string };
    logger.log(
      `emulator: rotated ${DEMO_DB_ID} to version ${versionId.slice(0, 8)}; the app picks it up on its next refresh`,
    );
    return versionId;
  };
  const rotateEveryMs = emulatorUrl === undefined ? 0 : (options.rotateEveryMs ?? 30_000);
  const timer =
    rotateEveryMs > 0
      ? setInterval(
          () => void rotate().catch((e: unknown) => logger.warn(`rotation failed: ${(e as Error).message}`)),
          rotateEveryMs,
        )
      : undefined;
  timer?.unref();

  let closing: Promise<void> | undefined;
  return {
    app,
    url,
    port,
    emulatorUrl,
    rotate,
    close: () =>
      (closing ??= (async () => {
        if (timer) clearInterval(timer);
        await app.close();
        await meterProvider.shutdown();
        await emulator?.close();
      })()),
  };
}

/** With a shared emulator, create the demo secrets unless they exist (never overwrite another demo's). */
async function seedIfMissing(emulatorUrl: string): Promise<void> {
  const res = await fetch(`${emulatorUrl}/_emulator/secrets`);
  if (!res.ok) throw new Error(`Cannot reach the emulator at ${emulatorUrl} (HTTP ${res.status}).`);
  const { secrets } = (await res.json()) as { secrets: string[] };
  for (const [id, value] of Object.entries(demoSeed())) {
    if (secrets.includes(id)) continue;
    await fetch(`${emulatorUrl}/_emulator/secrets/${encodeURIComponent(id)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value }),
    });
  }
}

export { DEMO_API_KEY_ID, DEMO_DB_ID };
