#!/usr/bin/env node
// `npm run check:packages` (part of `npm test`): packs every published workspace package the way
// `npm publish` would (after the build; `prepack` builds on a clean checkout) and checks each tarball:
// publint --strict, attw in every resolution mode (node10, node16 CJS, node16 ESM, bundler), and the
// tarball's file list (LICENSE in, tsbuildinfo out, the built entry points in).
// One `npm pack` call and one process for all checks, so it takes a few seconds.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkPackage, createPackageFromTarballData } from '@arethetypeswrong/core';
import { problemKindInfo } from '@arethetypeswrong/core/problems';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

const root = join(import.meta.dirname, '..');
const workspaces = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).workspaces;
const published = workspaces.filter(
  (dir) => dir.startsWith('packages/') && !JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')).private,
);

const started = Date.now();
const dest = mkdtempSync(join(tmpdir(), 'hush-pack-'));
const failures = [];
try {
  const packed = JSON.parse(
    execFileSync(
      'npm',
      [
        'pack',
        ...published.flatMap((dir) => ['-w', dir]),
        '--pack-destination',
        dest,
        '--ignore-scripts',
        '--json',
        '--silent',
      ],
      { cwd: root, encoding: 'utf8' },
    ),
  );
  for (const [i, entry] of packed.entries()) {
    const dir = published[i];
    const manifest = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
    const tarball = readFileSync(join(dest, entry.filename));
    const problems = [];

    const files = entry.files.map((f) => f.path);
    if (!files.includes('LICENSE')) problems.push('LICENSE is not in the tarball');
    for (const f of files.filter((f) => f.endsWith('.tsbuildinfo'))) problems.push(`${f} is in the tarball`);
    for (const target of entryFiles(manifest.exports)) {
      if (!files.includes(target)) problems.push(`exports points at ${target}, which is not in the tarball`);
    }

    const lint = await publint({
      pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) },
      strict: true,
    });
    for (const message of lint.messages) {
      problems.push(`publint ${message.type}: ${formatMessage(message, manifest, { color: false }) ?? message.code}`);
    }

    const types = await checkPackage(createPackageFromTarballData(new Uint8Array(tarball)));
    if (!types.types) problems.push('attw: the package ships no types');
    for (const problem of types.problems ?? []) {
      const info = problemKindInfo[problem.kind];
      const where = [problem.entrypoint, problem.resolutionKind].filter(Boolean).join(' / ');
      problems.push(`attw ${problem.kind}${where ? ` (${where})` : ''}: ${info?.description ?? ''}`);
    }

    const kb = (n) => `${Math.round(n / 1024)} KB`;
    console.log(
      `${problems.length === 0 ? 'ok  ' : 'FAIL'} ${manifest.name}: ${files.length} files, ` +
        `${kb(entry.size)} packed, ${kb(entry.unpackedSize)} unpacked; publint --strict, attw (node10, node16 CJS/ESM, bundler)`,
    );
    for (const p of problems) console.log(`       ${p}`);
    failures.push(...problems);
  }
} finally {
  rmSync(dest, { recursive: true, force: true });
}
console.log(`check:packages: ${published.length} packages in ${((Date.now() - started) / 1000).toFixed(1)} s`);
if (failures.length > 0) {
  console.error(`check:packages: ${failures.length} problem(s)`);
  process.exit(1);
}

/** Every file an `exports` map points at (without the workspace-only "@hush/source" condition). */
function entryFiles(exports, out = new Set()) {
  if (typeof exports === 'string') out.add(exports.replace(/^\.\//, ''));
  else if (exports && typeof exports === 'object') {
    for (const [key, value] of Object.entries(exports)) if (key !== '@hush/source') entryFiles(value, out);
  }
  return out;
}
