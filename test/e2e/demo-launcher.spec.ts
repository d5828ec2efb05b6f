/**
 * `npm start` runs apps/demo.mjs on the built packages: one emulator, the Nest, Express and Fastify
 * demos. This starts it as a real child process, reads the three /whoami endpoints, and checks Ctrl-C
 * (SIGINT to its process group) exits cleanly and quietly; that SIGTERM sent to the `npm start`
 * process reaches the demo; and that a taken port is one line naming the variable to change.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';

const root = join(__dirname, '..', '..');

function collect(child: ChildProcess): { text: () => string; stderr: () => string; exited: Promise<number | null> } {
  let output = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    output += d.toString();
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { text: () => output, stderr: () => stderr, exited };
}

async function waitFor(read: () => string, text: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!read().includes(text) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
}

/**
 * Whether something accepts TCP connections on `host:port`. On Linux all of 127.0.0.0/8 reaches the
 * loopback interface, so a server bound to every interface answers on 127.0.0.2 and one bound to
 * 127.0.0.1 refuses it.
 */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

it('starts the Nest, Express, Fastify, database and Vault demos and exits cleanly on SIGINT', async () => {
  for (const built of [
    'apps/nest-demo/dist/index.js',
    'apps/express-demo/dist/main.js',
    'apps/fastify-demo/dist/main.js',
    'packages/emulator/dist/index.js',
  ]) {
    if (!existsSync(join(root, built)))
      throw new Error(`${built} is missing: run \`npm run build\` first (npm test does).`);
  }
  const child = spawn(process.execPath, ['apps/demo.mjs'], {
    cwd: root,
    env: {
      ...process.env,
      NEST_PORT: '0',
      EXPRESS_PORT: '0',
      FASTIFY_PORT: '0',
      EMULATOR_PORT: '0',
      DB_PORT: '0',
      VAULT_DEMO_PORT: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, as a command started from a terminal: Ctrl-C signals the whole group.
    detached: true,
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 90_000;
    while (!output.includes('Ctrl-C to stop') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(output).toContain('Ctrl-C to stop');
    const urls = [...output.matchAll(/(http:\/\/\S+)\/whoami/g)].map((m) => m[1]!);
    expect(urls).toHaveLength(3);
    const [nest, web, fastify] = await Promise.all(
      urls.map(async (u) => (await fetch(`${u}/whoami`)).json() as Promise<Record<string, unknown>>),
    );
    // The three apps read the same secret version from the one emulator.
    expect(nest!['dbVersion']).toEqual(web!['dbVersion']);
    expect(fastify!['dbVersion']).toEqual(web!['dbVersion']);
    // The Fastify demo reads a Parameter Store parameter beside its secrets (#25).
    expect(fastify!['greeting']).toBe('hello from Parameter Store');
    expect(JSON.stringify([nest, web, fastify])).not.toMatch(/password/i);

    // Start-up says which app each line is about, and warns about nothing: the database demo's
    // optional AWSPENDING secret, missing outside a rotation, is one LOG line.
    const startup = stripVTControlCharacters(output.slice(0, output.indexOf('Hush demo is running')));
    expect(startup).toMatch(/LOG \[Secrets:nest-demo\] Loaded 3 secrets/);
    expect(startup).toMatch(/LOG \[Secrets:db-demo\] Loaded 2 secrets/);
    expect(startup).toMatch(
      /LOG \[Secrets:db-demo\] Optional secret "dbPending" is missing: ResourceNotFoundException/,
    );
    expect(startup.split('\n').filter((l) => /WARN|ERROR|dbPending/.test(l))).toEqual([
      expect.stringMatching(/LOG \[Secrets:db-demo\] Optional secret "dbPending"/),
    ]);

    // The Vault demo serves queries with a leased database user, and says so without a value.
    const vaultUrl = /(http:\/\/\S+\/vault)\b/.exec(output)![1]!;
    const vault = (await (await fetch(vaultUrl)).json()) as Record<string, unknown>;
    expect(vault).toMatchObject({ failed: 0, status: 'up', users: expect.any(Number) });
    expect(JSON.stringify(vault)).not.toMatch(/password|demo-api-key/i);

    // Every server of the banner (emulator, Nest, Express, Fastify, database demo, Vault emulator,
    // Vault demo) listens on loopback only.
    const banner = output.slice(output.indexOf('Hush demo is running'));
    const servers = [...new Set([...banner.matchAll(/http:\/\/([^/\s]+)/g)].map((m) => m[1]!))];
    expect(servers).toHaveLength(7);
    for (const server of servers) {
      const url = new URL(`http://${server}`);
      expect(url.hostname).toBe('127.0.0.1');
      expect(await accepts('127.0.0.1', Number(url.port))).toBe(true);
      if (process.platform === 'linux')
        expect({ server, other: await accepts('127.0.0.2', Number(url.port)) }).toEqual({ server, other: false });
    }
  } finally {
    // Ctrl-C: SIGINT to every process of the group, the embedded PostgreSQL's included.
    process.kill(-child.pid!, 'SIGINT');
  }
  expect(await exited).toBe(0);
  expect(output).toContain('SIGINT: shutting down');
  // A clean shutdown says nothing alarming: no pool reports its sessions killed (57P01) under it.
  const shutdown = stripVTControlCharacters(output.slice(output.indexOf('SIGINT: shutting down')));
  expect(shutdown.split('\n').filter((l) => /WARN|ERROR/.test(l))).toEqual([]);
}, 150_000);

it('SIGTERM to the `npm start` process reaches the demo, which shuts down and exits', async () => {
  const npm = spawn('npm', ['start'], {
    cwd: root,
    env: {
      ...process.env,
      NEST_PORT: '0',
      EXPRESS_PORT: '0',
      FASTIFY_PORT: '0',
      EMULATOR_PORT: '0',
      DB_PORT: '0',
      VAULT_DEMO_PORT: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = collect(npm);
  let urls: string[] | undefined;
  try {
    await waitFor(out.text, 'Ctrl-C to stop', 90_000);
    expect(out.text()).toContain('Ctrl-C to stop');
    urls = [...out.text().matchAll(/(http:\/\/\S+)\/whoami/g)].map((m) => m[1]!);
    expect(urls).toHaveLength(3);
  } finally {
    npm.kill('SIGTERM');
  }
  expect(await out.exited).toBe(0);
  expect(out.text()).toContain('SIGTERM: shutting down');
  // The demo itself is gone, not orphaned behind a dead npm: its ports refuse connections.
  for (const url of urls ?? []) await expect(fetch(`${url}/whoami`)).rejects.toThrow();
}, 120_000);

describe.each(['NEST_PORT', 'EXPRESS_PORT', 'FASTIFY_PORT', 'EMULATOR_PORT', 'VAULT_DEMO_PORT'])(
  'a taken %s',
  (variable) => {
    let blocker: Server;
    beforeAll(async () => {
      blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    });
    afterAll(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

    it('is a one-line message naming the variable, exit code 1, no stack trace', async () => {
      const taken = (blocker.address() as AddressInfo).port;
      const child = spawn(process.execPath, ['apps/demo.mjs'], {
        cwd: root,
        env: {
          ...process.env,
          NEST_PORT: '0',
          EXPRESS_PORT: '0',
          FASTIFY_PORT: '0',
          EMULATOR_PORT: '0',
          DB_PORT: '0',
          VAULT_DEMO_PORT: '0',
          [variable]: String(taken),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out = collect(child);
      expect(await out.exited).toBe(1);
      expect(out.stderr().trim()).toBe(
        `Port ${taken} is already in use: set ${variable} to a free port (0 picks one).`,
      );
      expect(out.text()).not.toMatch(/^\s+at |node:net|code: 'EADDRINUSE'/m);
    }, 30_000);
  },
);
