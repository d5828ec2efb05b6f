/**
 * The consumer compile matrix: the packed tarballs (what npm publish would upload) installed into
 * fresh projects outside the repository, compiled with `skipLibCheck: false` under every module
 * resolution a TypeScript user may have, and run where the output is runnable:
 *
 * - nodenext, CommonJS project (compiled and run)
 * - nodenext, ESM project ("type": "module", compiled and run)
 * - bundler resolution (module: preserve)
 * - node10 resolution (module: commonjs), for the `@hush/nestjs/testing` subpath
 * - all of the above WITHOUT @nestjs/terminus installed; one more project has terminus and checks
 *   that `SecretsHealthIndicator.isHealthy()` fits `HealthCheckService.check()`.
 *
 * Offline and fast: the projects share one node_modules whose entries are symlinks to the
 * repository's installed packages (minus @nestjs/terminus), with the seven @hush tarballs extracted
 * into it. Nothing is downloaded.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const published = ['core', 'emulator', 'nestjs', 'express', 'lambda', 'vault', 'database'];
let work: string;

const compilerOptions = {
  strict: true,
  skipLibCheck: false,
  types: ['node'],
  target: 'ES2022',
  lib: ['ES2023'],
  // The packages' own setting is irrelevant to consumers: their .d.ts must also pass with it off.
  exactOptionalPropertyTypes: false,
};

/** Uses the public API of every package (types and values), the way an app does. */
const usage = (from: (spec: string) => string) => `
${from('@hush/core')}
${from('@hush/nestjs')}
${from('@hush/nestjs/testing')}
${from('@hush/express')}
${from('@hush/emulator')}
${from('@hush/lambda')}
${from('@hush/lambda/middy')}
${from('@hush/vault')}
${from('@hush/database')}
${from('@hush/database/pg')}

// Duration is exported, so an env override compiles (and is validated when the store starts).
const refreshInterval = (process.env['HUSH_REFRESH'] ?? '5m') as Duration;
const secrets = defineSecrets({ apiKey: 'app/api-key' });
export const store = new SecretStore(secrets, {
  source: memorySource({ 'app/api-key': 'key-1' }),
  refreshInterval,
});
export const testing = SecretsModule.forTesting({ apiKey: 'key-1' });
// A Lambda handler and a Middy middleware typed from the store; a Vault source; a pool's options.
export const handler = withSecrets(store, async (event: { id: string }) => ({ id: event.id, key: store.get('apiKey') }));
export const middleware = secretsMiddleware(store, { refresh: 'background' });
export const poolOptions: PgPoolOptions = { max: 2 };
export const exported = [
  rotateSecret,
  getTestingSource,
  createSecrets,
  startEmulator,
  SecretsHealthIndicator,
  InjectSecret,
  withSecrets,
  secretsMiddleware,
  hashicorpVault,
  rdsCredentials,
  createPgPool,
];
export async function check(): Promise<string> {
  await store.load();
  const value: string = store.get('apiKey');
  await store.close();
  return JSON.stringify({ value, exported: exported.map((f) => typeof f) });
}
`;

const named = {
  '@hush/core': 'SecretStore, defineSecrets, memorySource, type Duration',
  '@hush/nestjs': 'SecretsModule, SecretsHealthIndicator, InjectSecret',
  '@hush/nestjs/testing': 'rotateSecret, getTestingSource',
  '@hush/express': 'createSecrets',
  '@hush/emulator': 'startEmulator',
  '@hush/lambda': 'withSecrets',
  '@hush/lambda/middy': 'secretsMiddleware',
  '@hush/vault': 'hashicorpVault',
  '@hush/database': 'rdsCredentials',
  '@hush/database/pg': 'createPgPool, type PgPoolOptions',
} as Record<string, string>;
const importLine = (spec: string) => `import { ${named[spec]} } from '${spec}';`;

interface Project {
  name: string;
  type: 'commonjs' | 'module';
  options: Record<string, unknown>;
  files: Record<string, string>;
  /** Run after compiling: `node <run>` in the project, expecting this JSON on its last line. */
  run?: string;
  terminus?: boolean;
}

const runs = JSON.stringify({ value: 'key-1', exported: Array(11).fill('function') });

const projects: Project[] = [
  {
    name: 'nodenext-cjs',
    type: 'commonjs',
    options: { module: 'nodenext', moduleResolution: 'nodenext', outDir: 'dist', rootDir: 'src' },
    files: {
      'src/app.ts': usage(importLine),
      'src/main.ts': `import { check } from './app';\nvoid check().then((r) => console.log(r));\n`,
    },
    run: 'dist/main.js',
  },
  {
    name: 'nodenext-esm',
    type: 'module',
    options: { module: 'nodenext', moduleResolution: 'nodenext', outDir: 'dist', rootDir: 'src' },
    files: {
      'src/app.ts': usage(importLine),
      'src/main.ts': `import { check } from './app.js';\nconsole.log(await check());\n`,
    },
    run: 'dist/main.js',
  },
  {
    name: 'bundler',
    type: 'module',
    options: { module: 'preserve', moduleResolution: 'bundler', noEmit: true },
    files: { 'src/app.ts': usage(importLine) },
  },
  {
    name: 'node10',
    type: 'commonjs',
    options: {
      module: 'commonjs',
      moduleResolution: 'node10',
      ignoreDeprecations: '6.0',
      esModuleInterop: true,
      noEmit: true,
    },
    files: { 'src/app.ts': usage(importLine) },
  },
  {
    name: 'nodenext-cjs-with-terminus',
    type: 'commonjs',
    terminus: true,
    options: {
      module: 'nodenext',
      moduleResolution: 'nodenext',
      noEmit: true,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
    },
    files: {
      'src/health.controller.ts': `
import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult, type HealthIndicatorResult } from '@nestjs/terminus';
import { SecretsHealthIndicator } from '@hush/nestjs';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly secrets: SecretsHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.secrets.isHealthy('secrets', { failOnStale: true })]);
  }

  direct(): HealthIndicatorResult<'secrets'> {
    return this.secrets.isHealthy();
  }
}
`,
    },
  },
];

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: 60_000, encoding: 'utf8' }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    );
  });
}

/** Runs `tasks` at most `limit` at a time (the CI box has 2 cores). */
async function limited<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]!();
      }
    }),
  );
  return results;
}

const results = new Map<
  string,
  { compile: { code: number; output: string }; run?: { code: number; output: string } }
>();

beforeAll(async () => {
  for (const p of published)
    if (!existsSync(join(root, 'packages', p, 'dist', 'index.js')))
      throw new Error(`packages/${p}/dist is missing: run \`npm run build\` first (npm test does).`);
  // Outside the repository, so nothing resolves from its node_modules by walking up.
  work = mkdtempSync(join(tmpdir(), 'hush-consumers-'));
  const tarballs = join(work, 'tarballs');
  mkdirSync(tarballs);
  const packed = JSON.parse(
    execFileSync(
      'npm',
      [
        'pack',
        ...published.flatMap((p) => ['-w', `packages/${p}`]),
        '--pack-destination',
        tarballs,
        '--ignore-scripts',
        '--json',
        '--silent',
      ],
      { cwd: root, encoding: 'utf8' },
    ),
  ) as { filename: string; name: string }[];

  // The shared node_modules: every installed package except @hush/* and @nestjs/terminus.
  const modules = join(work, 'node_modules');
  mkdirSync(modules);
  const rootModules = join(root, 'node_modules');
  for (const entry of readdirSync(rootModules)) {
    if (entry.startsWith('.') || entry === '@hush') continue;
    if (entry.startsWith('@')) {
      mkdirSync(join(modules, entry));
      for (const scoped of readdirSync(join(rootModules, entry))) {
        if (`${entry}/${scoped}` === '@nestjs/terminus') continue;
        symlinkSync(join(rootModules, entry, scoped), join(modules, entry, scoped), 'dir');
      }
    } else {
      symlinkSync(join(rootModules, entry), join(modules, entry), 'dir');
    }
  }
  mkdirSync(join(modules, '@hush'));
  for (const { filename, name } of packed) {
    const dest = join(modules, name);
    mkdirSync(dest);
    execFileSync('tar', ['-xzf', join(tarballs, filename), '-C', dest, '--strip-components=1']);
  }

  for (const project of projects) {
    const dir = join(work, project.name);
    mkdirSync(join(dir, 'src'), { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: project.name, private: true, type: project.type }));
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { ...compilerOptions, ...project.options }, include: ['src'] }),
    );
    for (const [file, text] of Object.entries(project.files)) writeFileSync(join(dir, file), text);
    if (project.terminus) {
      mkdirSync(join(dir, 'node_modules', '@nestjs'), { recursive: true });
      symlinkSync(join(rootModules, '@nestjs', 'terminus'), join(dir, 'node_modules', '@nestjs', 'terminus'), 'dir');
    }
  }

  await limited(
    projects.map((project) => async () => {
      const dir = join(work, project.name);
      const compile = await run(process.execPath, [tsc, '-p', dir], dir);
      const ran = compile.code === 0 && project.run ? await run(process.execPath, [project.run], dir) : undefined;
      results.set(project.name, { compile, ...(ran ? { run: ran } : {}) });
    }),
    2,
  );
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

it('the projects without terminus really cannot resolve @nestjs/terminus', () => {
  const probe = execFileSync(
    process.execPath,
    ['-e', `try { require.resolve('@nestjs/terminus'); console.log('found') } catch { console.log('missing') }`],
    { cwd: join(work, 'nodenext-cjs'), encoding: 'utf8' },
  );
  expect(probe.trim()).toBe('missing');
});

describe.each(projects.map((p) => [p.name, p] as const))('consumer project %s', (name, project) => {
  it(`compiles with skipLibCheck: false${project.terminus ? '' : ' and without @nestjs/terminus'}`, () => {
    const { compile } = results.get(name)!;
    expect({ code: compile.code, output: compile.output.trim() }).toEqual({ code: 0, output: '' });
  });

  if (project.run) {
    it('runs from the packed packages', () => {
      const { run: ran } = results.get(name)!;
      expect(ran?.code).toBe(0);
      expect(ran?.output.trim().split('\n').pop()).toBe(runs);
    });
  }
});
