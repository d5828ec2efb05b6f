/**
 * Packaging checks: every import in a package's sources is a declared dependency (or a Node
 * built-in), `exports` list `types` first, and the built packages load from CommonJS and ESM.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const packages = ['core', 'emulator', 'nestjs', 'express', 'database'].filter((p) =>
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
  };

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
