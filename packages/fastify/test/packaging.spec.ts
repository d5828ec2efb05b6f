/**
 * The consumer matrix for `@hush/fastify`: the packed tarballs of `@hush/core` and `@hush/fastify`
 * (what npm publish would upload) installed into fresh projects outside the repository, compiled
 * with `skipLibCheck: false` under nodenext (CommonJS and ESM) and bundler resolution, with the
 * default and the named import and the `HushSecrets` augmentation; the nodenext projects are run.
 * Offline: the projects share one node_modules of symlinks to the repository's installed packages.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
let work: string;

const app = (importLine: string) => `
${importLine}
import Fastify from 'fastify';
import { defineSecrets, memorySource, type InferSecrets } from '@hush/core';

const secrets = defineSecrets({ apiKey: 'app/api-key', admin: 'app/admin' });
declare module '@hush/fastify' {
  interface HushSecrets extends InferSecrets<typeof secrets> {}
}

export async function check(): Promise<string> {
  const app = Fastify();
  await app.register(plugin, {
    secrets,
    source: memorySource({ 'app/api-key': 'key-1', 'app/admin': 'adm-1' }),
    refreshInterval: false,
    readinessPath: '/readyz',
  });
  app.get('/', (request) => ({ length: request.secrets.apiKey.length, same: app.secrets.apiKey === request.secrets.apiKey }));
  await app.register(async (scope) => {
    await scope.register(plugin, { only: ['admin'] });
    scope.get('/hidden', (request) => {
      try {
        return request.secrets.apiKey;
      } catch (error) {
        return { hidden: error instanceof SecretNotVisibleError };
      }
    });
  });
  const body = (await app.inject('/')).json() as { length: number; same: boolean };
  const hidden = (await app.inject('/hidden')).json() as { hidden: boolean };
  const ready = (await app.inject('/readyz')).statusCode;
  await app.close();
  return JSON.stringify({ ...body, ...hidden, ready, same: plugin === hushSecrets });
}
`;
const expected = JSON.stringify({ length: 5, same: true, hidden: true, ready: 200 });

const projects = [
  {
    name: 'nodenext-cjs',
    type: 'commonjs',
    options: { module: 'nodenext', moduleResolution: 'nodenext', outDir: 'dist', rootDir: 'src' },
    files: {
      'src/app.ts': app(`import plugin, { hushSecrets, SecretNotVisibleError } from '@hush/fastify';`),
      'src/main.ts': `import { check } from './app';\nvoid check().then((r) => console.log(r));\n`,
    },
    run: 'dist/main.js',
  },
  {
    name: 'nodenext-esm',
    type: 'module',
    options: { module: 'nodenext', moduleResolution: 'nodenext', outDir: 'dist', rootDir: 'src' },
    files: {
      'src/app.ts': app(`import plugin, { hushSecrets, SecretNotVisibleError } from '@hush/fastify';`),
      'src/main.ts': `import { check } from './app.js';\nconsole.log(await check());\n`,
    },
    run: 'dist/main.js',
  },
  {
    name: 'nodenext-cjs-require',
    type: 'commonjs',
    options: { module: 'nodenext', moduleResolution: 'nodenext', outDir: 'dist', rootDir: 'src' },
    files: {
      'src/app.ts': app(
        `import plugin = require('@hush/fastify');\nconst { hushSecrets, SecretNotVisibleError } = plugin;`,
      ),
      'src/main.ts': `import { check } from './app';\nvoid check().then((r) => console.log(r));\n`,
    },
    run: 'dist/main.js',
  },
  {
    name: 'bundler',
    type: 'module',
    options: { module: 'preserve', moduleResolution: 'bundler', noEmit: true },
    files: { 'src/app.ts': app(`import plugin, { hushSecrets, SecretNotVisibleError } from '@hush/fastify';`) },
  },
] as const;

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: 60_000, encoding: 'utf8' }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    );
  });
}

const results = new Map<
  string,
  { compile: { code: number; output: string }; run?: { code: number; output: string } }
>();

beforeAll(async () => {
  for (const p of ['core', 'fastify'])
    if (!existsSync(join(root, 'packages', p, 'dist', 'index.js')))
      throw new Error(`packages/${p}/dist is missing: run \`npm run build\` first (npm test does).`);
  work = mkdtempSync(join(tmpdir(), 'hush-fastify-consumers-'));
  const tarballs = join(work, 'tarballs');
  mkdirSync(tarballs);
  const packed = JSON.parse(
    execFileSync(
      'npm',
      [
        'pack',
        '-w',
        'packages/core',
        '-w',
        'packages/fastify',
        '--pack-destination',
        tarballs,
        '--ignore-scripts',
        '--json',
        '--silent',
      ],
      { cwd: root, encoding: 'utf8' },
    ),
  ) as { filename: string; name: string }[];
  const modules = join(work, 'node_modules');
  mkdirSync(modules);
  const rootModules = join(root, 'node_modules');
  for (const entry of readdirSync(rootModules)) {
    if (entry.startsWith('.') || entry === '@hush') continue;
    symlinkSync(join(rootModules, entry), join(modules, entry), 'dir');
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
    const compilerOptions = { strict: true, skipLibCheck: false, types: ['node'], target: 'ES2022', lib: ['ES2023'] };
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { ...compilerOptions, ...project.options }, include: ['src'] }),
    );
    for (const [file, text] of Object.entries(project.files)) writeFileSync(join(dir, file), text);
  }
  for (const project of projects) {
    const dir = join(work, project.name);
    const compile = await run(process.execPath, [tsc, '-p', dir], dir);
    const ran = compile.code === 0 && 'run' in project ? await run(process.execPath, [project.run], dir) : undefined;
    results.set(project.name, { compile, ...(ran ? { run: ran } : {}) });
  }
}, 180_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.each(projects.map((p) => [p.name, p] as const))('consumer project %s', (name, project) => {
  it('compiles with skipLibCheck: false', () => {
    const { compile } = results.get(name)!;
    expect({ code: compile.code, output: compile.output.trim() }).toEqual({ code: 0, output: '' });
  });
  if ('run' in project) {
    it('runs from the packed packages: default and named import are the plugin', () => {
      const { run: ran } = results.get(name)!;
      expect(ran?.output.trim().split('\n').pop()).toBe(expected);
      expect(ran?.code).toBe(0);
    });
  }
});
