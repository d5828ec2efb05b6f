/**
 * The Prisma 7 recipe from the README, against the real database through real rotations:
 * `new PrismaClient({ adapter: new PrismaPg(createPgPool(…)) })`.
 *
 * The client is generated here, by the Prisma CLI in a child process, from test/prisma/schema.prisma
 * into test/prisma/generated (gitignored), so a fresh clone needs nothing but `npm ci`.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { PrismaPg } from '@prisma/adapter-pg';
import { createPgPool } from '@hush/database/pg';
import { fixture, rotate, until, type Fixture, type Strategy } from './support';

const SCHEMA = join(__dirname, 'prisma', 'schema.prisma');
const CLIENT = join(__dirname, 'prisma', 'generated', 'client');

/**
 * The part of the generated client this test uses. Typed here rather than imported, so the spec
 * type-checks (`tsc -p tsconfig.spec.json` runs before Jest) before anything has been generated.
 */
interface Note {
  id: number;
  body: string;
}
interface Client {
  note: {
    create(args: { data: { body: string } }): Promise<Note>;
    count(): Promise<number>;
    findFirst(args: { where: { id: number } }): Promise<Note | null>;
  };
  $queryRaw<T>(query: TemplateStringsArray, ...values: unknown[]): Promise<T>;
  $transaction<T>(fn: (tx: Client) => Promise<T>): Promise<T>;
  $disconnect(): Promise<void>;
}
type ClientClass = new (options: { adapter: PrismaPg }) => Client;

/**
 * `prisma generate` with the `prisma-client` generator runs on WebAssembly only (schema parsing,
 * DMMF, the bundled query compiler), but the CLI first makes sure the schema engine binary (used by
 * `migrate` and `db`, never by `generate`) is in place and would download it from binaries.prisma.sh
 * (npm skips @prisma/engines' postinstall). Prisma's documented override,
 * PRISMA_SCHEMA_ENGINE_BINARY, names an existing file instead: with it set, nothing is downloaded.
 * The schema file stands in, since nothing runs it. Checkpoint (update check) and telemetry are off.
 */
async function generateClient(): Promise<void> {
  const cli = join(dirname(require.resolve('prisma/package.json')), 'build', 'index.js');
  await promisify(execFile)(process.execPath, [cli, 'generate', '--schema', SCHEMA], {
    cwd: dirname(SCHEMA),
    env: {
      ...process.env,
      PRISMA_SCHEMA_ENGINE_BINARY: SCHEMA,
      CHECKPOINT_DISABLE: '1',
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
      PRISMA_DISABLE_WARNINGS: '1',
    },
    timeout: 60_000,
  });
}

const WORKERS = 4;
const ROTATIONS = 2;

describe('recipe: Prisma 7 with @prisma/adapter-pg on createPgPool', () => {
  let fx: Fixture;
  let PrismaClient: ClientClass;
  beforeAll(async () => {
    [fx] = await Promise.all([fixture(), generateClient()]);
    PrismaClient = (require(CLIENT) as { PrismaClient: ClientClass }).PrismaClient;
  }, 60_000);
  afterAll(() => fx?.stop());

  const strategies: [string, Strategy][] = [
    ['single user', 'single'],
    ['alternating users', 'alternating'],
  ];

  it.each(strategies)(
    '%s: model queries and interactive transactions through 2 rotations, none failing',
    async (label, strategy) => {
      const user = `prisma_${strategy}`;
      await fx.user(user, 'pw-prisma-1');
      const store = fx.store({ refreshInterval: 250, refreshJitter: 0 });
      await store.load();
      // maxUses 2: connections are short-lived, so Prisma's queries need new logins inside every window.
      const pool = createPgPool(store, 'db', { pending: 'dbPending', max: WORKERS, maxUses: 2 });
      pool.on('error', () => {});
      await pool.query('CREATE TABLE "Note" (id serial PRIMARY KEY, body text NOT NULL)');
      const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });

      const body = `note "quoted" \\ back\nslash ✓ ${'x'.repeat(300)}`;
      const counts = { ok: 0, created: 0, failed: 0, errors: [] as string[] };
      const users = new Set<string>();
      let running = true;
      const workers = Array.from({ length: WORKERS }, async (_, w) => {
        while (running) {
          try {
            if (w === 0) {
              // An interactive transaction holds one checked-out connection for both statements.
              await prisma.$transaction(async (tx) => {
                await tx.note.create({ data: { body } });
                await tx.note.count();
              });
              counts.created++;
            } else if (w === 1) {
              const note = await prisma.note.create({ data: { body } });
              counts.created++;
              expect((await prisma.note.findFirst({ where: { id: note.id } }))?.body).toBe(body);
            } else {
              const [row] = await prisma.$queryRaw<{ u: string }[]>`SELECT current_user AS u`;
              // Alternating users: the clone (a member of the first role) logs in after a switch.
              users.add(row!.u);
            }
            counts.ok++;
          } catch (error) {
            counts.failed++;
            counts.errors.push(String((error as Error).message).slice(0, 200));
          }
        }
      });

      const okInWindows: number[] = [];
      try {
        for (let i = 0; i < ROTATIONS; i++) {
          await rotate(fx, strategy, { onWindow: () => void okInWindows.push(counts.ok) });
        }
        await store.refresh('db');
        const before = counts.ok;
        await until(() => counts.ok >= before + 20);
      } finally {
        running = false;
        await Promise.all(workers);
      }
      const stats = pool.credentialStats();
      try {
        expect(counts.errors).toEqual([]);
        expect(counts.failed).toBe(0);
        expect(counts.ok).toBeGreaterThan(50);
        expect(okInWindows).toHaveLength(ROTATIONS);
        expect(okInWindows.every((n) => n > 0)).toBe(true);
        // Every committed create is there: the rotations lost nothing.
        expect(await prisma.note.count()).toBe(counts.created);
        // The credentials really changed, and Prisma's queries ran on them through createPgPool.
        const current = store.get('db') as { username: string; password: string };
        expect(current.password).not.toBe('pw-prisma-1');
        expect((await prisma.$queryRaw<{ u: string }[]>`SELECT current_user AS u`)[0]!.u).toBe(current.username);
        expect(stats.logins['db']).toBeGreaterThan(ROTATIONS);
        if (label === 'single user') {
          // Logins refused with the old AWSCURRENT inside a window were made with AWSPENDING.
          expect(current.username).toBe(user);
          expect(users).toEqual(new Set([user]));
          expect(stats.refused).toBeGreaterThan(0);
          expect(stats.logins['dbPending']).toBeGreaterThan(0);
        } else {
          // Two switches: to the clone, and back to the first user.
          expect(current.username).toBe(user);
          expect(users).toEqual(new Set([user, `${user}_clone`]));
        }
      } finally {
        // With an external pool, PrismaPg leaves it open: ending it is the owner's job.
        await prisma.$disconnect();
        await pool.end();
      }
    },
  );
});
