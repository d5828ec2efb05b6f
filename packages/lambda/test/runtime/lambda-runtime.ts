/**
 * A Lambda execution environment for tests: a Runtime API server (this process) and the function
 * as its own process (`bootstrap.mjs`, a runtime loop), which is frozen with SIGSTOP whenever it
 * waits for the next event and thawed with SIGCONT when one comes — as Lambda freezes a sandbox.
 *
 * INIT: the first `GET /next` ends it. An INIT longer than `initTimeoutMs` is killed and, as on
 * Lambda, run again at the first invoke under the function timeout. An invoke longer than
 * `functionTimeoutMs` kills the process (the next invoke starts a new one).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Proc } from '../../../../test/field/helpers';
import { waitFor } from '../../../../test/support';

const bootstrap = join(__dirname, 'bootstrap.mjs');

export interface LambdaEnvironmentOptions {
  /** Directory holding the handler module (LAMBDA_TASK_ROOT). */
  dir: string;
  /** `module.export`, as Lambda's handler setting. */
  handler: string;
  env?: Record<string, string>;
  /** @default 10_000 */
  initTimeoutMs?: number;
  /** @default 10_000 */
  functionTimeoutMs?: number;
  /** Freeze the process between invokes. @default true */
  freeze?: boolean;
  /**
   * Test scaffolding for fleet runs: the server holds `GET /hush-test/release` until this resolves
   * (a fixture calls it after importing its modules), and the INIT limit counts again from then.
   * Before the release the process has 60 s (the imports run in waves on a shared CPU).
   */
  release?: Promise<void>;
}

export interface InvokeResult {
  ok: boolean;
  body: unknown;
  /** From the event's delivery (thaw) to the response. */
  ms: number;
}

interface Pending {
  id: string;
  event: unknown;
  resolve: (r: InvokeResult) => void;
  sentAt?: number;
  timer?: NodeJS.Timeout;
  respawned?: boolean;
}

export class LambdaEnvironment {
  readonly procs: Proc[] = [];
  readonly initErrors: unknown[] = [];
  initTimeouts = 0;
  /** Processes whose INIT finished (first GET /next). */
  inits = 0;
  freezes = 0;
  /** When the first process asked for its release (`GET /hush-test/release`), and when it got it. */
  releaseAskedAt: number | undefined;
  releasedAt: number | undefined;
  /** When the current process's INIT ended (its first `GET /next`). */
  initEndedAt: number | undefined;
  private server!: Server;
  private port = 0;
  private held: ServerResponse | undefined;
  private frozen = false;
  private readonly queue: Pending[] = [];
  private readonly inflight = new Map<string, Pending>();
  private initDone = false;
  private initTimer: NodeJS.Timeout | undefined;
  /** The process whose INIT runs under the INIT limit (started at INIT, not by an invoke). */
  private initLimited: Proc | undefined;
  private shuttingDown = false;

  private constructor(private readonly options: LambdaEnvironmentOptions) {}

  static async start(options: LambdaEnvironmentOptions): Promise<LambdaEnvironment> {
    const env = new LambdaEnvironment(options);
    env.server = createServer((req, res) => env.route(req, res));
    await new Promise<void>((resolve) => env.server.listen(0, '127.0.0.1', resolve));
    env.port = (env.server.address() as { port: number }).port;
    env.spawn(true);
    return env;
  }

  get current(): Proc {
    return this.procs[this.procs.length - 1]!;
  }

  get output(): string {
    return this.procs.map((p) => p.output).join('');
  }

  /** Resolves when INIT ended (the runtime asked for the first event), or the process died. */
  async waitForInit(timeoutMs = 15_000): Promise<void> {
    const proc = this.current;
    await waitFor(() => this.initDone || proc.exitCode !== undefined, timeoutMs, 'INIT to end', 10);
  }

  invoke(event: unknown): Promise<InvokeResult> {
    return new Promise((resolve) => {
      this.queue.push({ id: randomUUID(), event, resolve });
      const proc = this.current;
      // A process that died (INIT error, INIT timeout, function timeout): the invoke starts a new
      // one, whose INIT runs under the function timeout ("suppressed init").
      if (proc.exitCode !== undefined) this.spawn(false);
      else this.dispatch();
    });
  }

  async close(): Promise<void> {
    clearTimeout(this.initTimer);
    for (const p of this.procs) {
      if (p.exitCode === undefined) {
        p.child.kill('SIGCONT');
        p.child.kill('SIGKILL');
        await p.exited;
      }
    }
    this.held?.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Sends SIGTERM to the (thawed) process, as Lambda does at shutdown when an extension is registered. */
  async shutdown(timeoutMs = 5_000): Promise<Proc> {
    const proc = this.current;
    // No freeze from now on: the runtime's next GET /next may still be on its way.
    this.shuttingDown = true;
    this.thaw();
    proc.child.kill('SIGTERM');
    await proc.exit(timeoutMs);
    return proc;
  }

  private spawn(initPhase: boolean): void {
    const { dir, handler, env = {} } = this.options;
    this.initDone = false;
    this.initEndedAt = undefined;
    this.frozen = false;
    this.held = undefined;
    const child = spawn(process.execPath, [bootstrap], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_REGION: 'us-east-1',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        AWS_LAMBDA_FUNCTION_NAME: 'hush-test',
        AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${this.port}`,
        LAMBDA_TASK_ROOT: dir,
        _HANDLER: handler,
        ...env,
      },
    });
    const proc = new Proc(child);
    this.procs.push(proc);
    void proc.exited.then(() => {
      if (proc !== this.current) return;
      this.held = undefined;
      // Invokes this process took with it fail, as on Lambda (Runtime.ExitError).
      for (const p of this.inflight.values()) this.finish(p, { ok: false, body: { errorType: 'Runtime.ExitError' } });
      // Events waiting for a process that died in INIT start a new one (once each; then they fail).
      if (this.queue.length === 0) return;
      if (this.queue.some((p) => p.respawned)) {
        for (const p of this.queue.splice(0)) p.resolve({ ok: false, body: { errorType: 'Runtime.InitError' }, ms: 0 });
        return;
      }
      for (const p of this.queue) p.respawned = true;
      this.spawn(false);
    });
    clearTimeout(this.initTimer);
    this.initLimited = initPhase ? proc : undefined;
    if (initPhase) this.armInitTimer(proc, this.options.release ? 60_000 : undefined);
  }

  private armInitTimer(proc: Proc, limitMs = this.options.initTimeoutMs ?? 10_000): void {
    clearTimeout(this.initTimer);
    this.initTimer = setTimeout(() => {
      if (this.initDone || proc !== this.current) return;
      this.initTimeouts++;
      proc.child.kill('SIGKILL');
    }, limitMs);
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '';
      const body = Buffer.concat(chunks).toString('utf8');
      if (req.method === 'GET' && url === '/2018-06-01/runtime/invocation/next') {
        if (!this.initDone) {
          this.initDone = true;
          this.inits++;
          this.initEndedAt = performance.now();
          clearTimeout(this.initTimer);
        }
        this.held = res;
        if (!this.dispatch() && this.options.freeze !== false) this.freeze();
        return;
      }
      const m = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(url);
      if (req.method === 'POST' && m) {
        const pending = this.inflight.get(m[1]!);
        res.writeHead(202).end('{"status":"OK"}');
        if (pending) this.finish(pending, { ok: m[2] === 'response', body: body ? JSON.parse(body) : null });
        return;
      }
      if (req.method === 'GET' && url === '/hush-test/release' && this.options.release) {
        this.releaseAskedAt ??= performance.now();
        const proc = this.current;
        // The wait for the fleet is not INIT: the INIT limit stops here and counts again from the release.
        clearTimeout(this.initTimer);
        void this.options.release.then(() => {
          this.releasedAt ??= performance.now();
          res.writeHead(200).end();
          // (A process started by an invoke runs its INIT under the function timeout instead.)
          if (!this.initDone && proc === this.current && proc === this.initLimited) this.armInitTimer(proc);
        });
        return;
      }
      if (req.method === 'POST' && url === '/2018-06-01/runtime/init/error') {
        this.initErrors.push(body ? JSON.parse(body) : null);
        res.writeHead(202).end('{"status":"OK"}');
        return;
      }
      res.writeHead(404).end();
    });
  }

  /** Hands the next queued event to a runtime waiting in GET /next (thawing it). */
  private dispatch(): boolean {
    const res = this.held;
    const next = this.queue[0];
    if (!res || !next) return false;
    this.queue.shift();
    this.held = undefined;
    this.thaw();
    const timeout = this.options.functionTimeoutMs ?? 10_000;
    next.sentAt = performance.now();
    this.inflight.set(next.id, next);
    const proc = this.current;
    next.timer = setTimeout(() => {
      proc.child.kill('SIGKILL');
      this.finish(next, { ok: false, body: { errorType: 'Sandbox.Timedout' } });
    }, timeout);
    res.writeHead(200, {
      'content-type': 'application/json',
      'lambda-runtime-aws-request-id': next.id,
      'lambda-runtime-deadline-ms': String(Date.now() + timeout),
      'lambda-runtime-invoked-function-arn': 'arn:aws:lambda:us-east-1:123456789012:function:hush-test',
    });
    res.end(JSON.stringify(next.event ?? {}));
    return true;
  }

  private finish(pending: Pending, result: Omit<InvokeResult, 'ms'>): void {
    if (!this.inflight.delete(pending.id)) return;
    clearTimeout(pending.timer);
    pending.resolve({ ...result, ms: performance.now() - (pending.sentAt ?? performance.now()) });
  }

  private freeze(): void {
    if (this.frozen || this.shuttingDown || this.current.exitCode !== undefined) return;
    this.frozen = true;
    this.freezes++;
    this.current.child.kill('SIGSTOP');
  }

  private thaw(): void {
    if (!this.frozen) return;
    this.frozen = false;
    this.current.child.kill('SIGCONT');
  }
}

/** An API Gateway HTTP API (payload 2.0) GET, as serverless-express reads it. */
export function httpGet(path: string): Record<string, unknown> {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { host: 'example.test', accept: 'application/json' },
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'example.test',
      http: { method: 'GET', path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: 'r',
      routeKey: '$default',
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    isBase64Encoded: false,
  };
}

/** The Secrets Manager value calls (GetSecretValue + BatchGetSecretValue) the emulator has answered. */
export async function valueCalls(emu: { control(method: string, route: string): Promise<unknown> }): Promise<number> {
  const c = (await emu.control('GET', 'calls')) as Record<string, number>;
  return (c.GetSecretValue ?? 0) + (c.BatchGetSecretValue ?? 0);
}
