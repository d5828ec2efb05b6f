/**
 * Packaging checks: every import in a package's sources is a declared dependency (or a Node
 * built-in), `exports` list `types` first, the built packages load from CommonJS and ESM, and the
 * publishing metadata (license file, repository, public access, prepack build) is in place.
 * The tarballs themselves are checked by `npm run check:packages` (publint --strict, attw) and by
 * consumer-matrix.spec.ts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const packages = ['core', 'emulator', 'nestjs', 'express', 'database', 'lambda', 'vault'].filter((p) =>
  existsSync(join(root, 'packages', p, 'src', 'index.ts')),
);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sourceFiles(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

describe.each(packages)('@hush/%s package manifest', (name) => {
  const dir = join(root, 'packages', name);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    name: string;
    exports: Record<string, unknown>;
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
    optionalDependencies?: Record<string, string>;
    [field: string]: unknown;
  };

  it('has the publishing metadata npm publish --provenance needs', () => {
    expect(manifest['license']).toBe('Apache-2.0');
    expect(readFileSync(join(dir, 'LICENSE'), 'utf8')).toBe(readFileSync(join(root, 'LICENSE'), 'utf8'));
    expect(manifest['repository']).toEqual({
      type: 'git',
      url: 'git+https://github.com/hush-secrets/hush.git',
      directory: `packages/${name}`,
    });
    expect(manifest['homepage']).toBe(`https://github.com/hush-secrets/hush/tree/main/packages/${name}#readme`);
    expect(manifest['bugs']).toEqual({ url: 'https://github.com/hush-secrets/hush/issues' });
    expect(manifest['publishConfig']).toEqual({ access: 'public' });
    expect((manifest['scripts'] as Record<string, string>)['prepack']).toBe('tsc -b');
    expect(manifest['files']).toEqual(expect.arrayContaining(['dist', '!dist/.tsbuildinfo', 'LICENSE']));
    // Node 20.19+ and 22.12+ load Nest 12's ES modules with require(); 21 is not supported (README, Node versions).
    expect(manifest['engines']).toEqual({ node: '^20.19.0 || >=22.12.0' });
  });

  it('declares every package it imports', () => {
    const declared = new Set([
      ...Object.keys(manifest.dependencies ?? {}),
      ...Object.keys(manifest.peerDependencies ?? {}),
      ...Object.keys(manifest.optionalDependencies ?? {}),
    ]);
    const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    const missing: string[] = [];
    for (const file of sourceFiles(join(dir, 'src'))) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"]([^'"]+)['"]/g)) {
        const specifier = match[1]!;
        if (specifier.startsWith('.') || builtins.has(specifier) || builtins.has(packageOf(specifier))) continue;
        if (!declared.has(packageOf(specifier))) missing.push(`${file.slice(root.length + 1)}: ${specifier}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('takes shared dependencies as ranges the apps around it can satisfy', () => {
    for (const [dep, range] of Object.entries({ ...manifest.dependencies, ...manifest.peerDependencies })) {
      // An exact pin (e.g. the AWS SDK) makes npm nest a second copy next to the app's own.
      if (!dep.startsWith('@hush/')) expect({ dep, range }).toEqual({ dep, range: expect.stringMatching(/^\^|\|\|/) });
    }
    // Nest 11 apps may pin reflect-metadata 0.1.x.
    if (manifest.peerDependencies?.['reflect-metadata'])
      expect(manifest.peerDependencies['reflect-metadata']).toBe('^0.1.12 || ^0.2.0');
  });

  it('README links are absolute (relative ones break on npmjs.com)', () => {
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    const relative = [...readme.matchAll(/\]\(([^)\s]+)\)/g)]
      .map((m) => m[1]!)
      .filter((href) => !/^(https?:|mailto:|#)/.test(href));
    expect(relative).toEqual([]);
  });

  it('lists types first in exports and points at built files', () => {
    const main = manifest.exports['.'] as Record<string, string>;
    expect(Object.keys(main)[0]).toBe('types');
    expect(main['types']).toBe('./dist/index.d.ts');
    expect(main['default']).toBe('./dist/index.js');
  });

  it('loads from CommonJS and ESM after the build', () => {
    const built = join(dir, 'dist', 'index.js');
    if (!existsSync(built))
      throw new Error(`${built} is missing: run \`npm run build\` (npm test does) before this test.`);
    const cjs = execFileSync(
      process.execPath,
      [
        '-e',
        `console.log(Object.keys(require(${JSON.stringify(manifest.name)})).filter((k) => k !== '__esModule').length)`,
      ],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    const esm = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import * as m from ${JSON.stringify(manifest.name)}; console.log(Object.keys(m).filter((k) => k !== 'default' && k !== '__esModule' && k !== 'module.exports').length)`,
      ],
      { cwd: root, encoding: 'utf8' },
    );
    const cjsCount = Number(cjs.trim().split('\n').pop());
    const esmCount = Number(esm.trim().split('\n').pop());
    expect(cjsCount).toBeGreaterThan(0);
    // ESM sees the same named exports through Node's CommonJS named-export detection.
    expect(esmCount).toBe(cjsCount);
  });
});
