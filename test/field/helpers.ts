/**
 * The field suite's two processes: `@hush/emulator` through its CLI, and the user's app
 * (`node test/field/apps/<app>`), which resolves `@hush/*` through node_modules to the BUILT
 * packages (dist), exactly as an installed app does. Nothing here runs Hush in the Jest process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../support';

export const root = join(__dirname, '..', '..');
const cli = join(root, 'packages/emulator/dist/cli.js');
const apps = join(__dirname, 'apps');

/** Fails fast with the reason when the packages are not built (npm test builds before Jest). */
export function requireBuild(): void {
  for (const file of [
    'packages/emulator/dist/cli.js',
    'packages/core/dist/index.js',
    'packages/express/dist/index.js',
    'packages/nestjs/dist/index.js',
  ])
    if (!existsSync(join(root, file)))
      throw new Error(`${file} is missing: run \`npm run build\` first (npm test does).`);
}

/** A port nothing listens on right now (for an endpoint that comes up later, or never). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A process and everything it printed. */
export class Proc {
  output = '';
  readonly started = performance.now();
  exitCode: number | null | undefined;
  signal: NodeJS.Signals | null = null;
  exitedAt: number | undefined;
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        this.exitCode = code;
        this.signal = signal;
        this.exitedAt = performance.now();
        resolve(code);
      }),
    );
  }

  /** Milliseconds from spawn to exit (or to now). */
  get ms(): number {
    return Math.round((this.exitedAt ?? performance.now()) - this.started);
  }

  /** Resolves once the output contains `text`; throws with the output so far after `timeoutMs`. */
  async waitForOutput(text: string | RegExp, timeoutMs = 15_000): Promise<void> {
    const has = () => (typeof text === 'string' ? this.output.includes(text) : text.test(this.output));
    await waitFor(() => has() || this.exitCode !== undefined, timeoutMs, `${String(text)}`, 20).catch(() => undefined);
    if (!has()) throw new Error(`expected output ${String(text)}; got (exit ${this.exitCode}):\n${this.output}`);
  }

  /** Waits for exit (killing the process after `timeoutMs`) and returns the exit code. */
  async exit(timeoutMs = 20_000): Promise<number | null> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

export interface EmulatorProcess extends Proc {
  readonly url: string;
  readonly agentUrl: string | undefined;
  /** Calls the emulator's HTTP control API (`/_emulator/<path>`). */
  control(method: string, path: string, body?: unknown): Promise<unknown>;
  stop(): Promise<void>;
}

/** Starts `hush-emulator` (the CLI) with `secrets` as its seed file and any extra flags. */
export async function startEmulatorProcess(
  secrets: Record<string, string>,
  flags: readonly string[] = [],
  port = 0,
): Promise<EmulatorProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'hush-field-emu-'));
  const seed = join(dir, 'seed.json');
  writeFileSync(seed, JSON.stringify({ secrets }));
  const child = spawn(process.execPath, [cli, '--port', String(port), '--seed', seed, ...flags], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = new Proc(child) as EmulatorProcess;
  void proc.exited.then(() => rmSync(dir, { recursive: true, force: true }));
  await proc.waitForOutput('Control API:');
  const url = /endpoint: '([^']+)'/.exec(proc.output)?.[1];
  if (!url) throw new Error(`no endpoint in the emulator output:\n${proc.output}`);
  Object.assign(proc, {
    url,
    agentUrl: /'(http:\/\/[^']+)\/secretsmanager\/get/.exec(proc.output)?.[1],
    control: async (method: string, path: string, body?: unknown) => {
      // A new connection per call: a kept-alive one idle for about the server's keepAliveTimeout
      // (5 s) may be closed by it just as the next call goes out ("other side closed", undici
      // #3141), which tests that sleep for seconds between calls met on a loaded machine.
      const res = await fetch(`${url}/_emulator/${path}`, {
        method,
        headers: { connection: 'close', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (!res.ok) throw new Error(`control ${method} ${path}: ${res.status} ${await res.text()}`);
      return res.json();
    },
    stop: async () => {
      if (proc.exitCode === undefined) child.kill('SIGTERM');
      await proc.exit(5_000);
    },
  });
  return proc;
}

export interface AppOptions {
  /** Declarations, as `defineSecrets` takes them. */
  secrets?: Record<string, unknown>;
  /** SecretStore options (JSON-able). */
  options?: Record<string, unknown>;
  env?: Record<string, string>;
}

/** Starts the user's app: `node test/field/apps/<file>`, configured through the environment only. */
export function startApp(file: string, { secrets, options, env }: AppOptions = {}): Proc {
  const child = spawn(process.execPath, [join(apps, file)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...(secrets ? { FIELD_SECRETS: JSON.stringify(secrets) } : {}),
      ...(options ? { FIELD_OPTIONS: JSON.stringify(options) } : {}),
      ...env,
    },
  });
  return new Proc(child);
}

/** A temporary directory, removed by the returned function. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Kills whatever is still running (a failed test must not leave processes behind). */
export function killAll(procs: readonly (Proc | undefined)[]): void {
  for (const p of procs) if (p && p.exitCode === undefined) p.child.kill('SIGKILL');
}
