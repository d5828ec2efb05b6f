/**
 * Every ```ts / ```typescript block of every README (the root one and each package's) compiles
 * against the built packages, the way a user who copies it would compile it: each block is its own
 * ES module (`.mts`, so top-level `await` works), imports `@hush/*` by package name through
 * node_modules (the `types` of each package's `exports`, i.e. `dist/`), under the repository's
 * strict compiler options. One compiler program checks all of them (a few seconds), so a README
 * example cannot drift from the API.
 *
 * Two HTML comments (invisible on GitHub and npm), written on the line(s) right before a fence:
 *
 * - `<!-- compile-context … -->`: declarations the block needs but does not show (imports, the
 *   `secrets` of an earlier step, the enclosing class). Compiled with the block, so they must be
 *   right too. Keep imports a reader would copy in the block itself.
 * - `<!-- not-compiled: reason -->`: a block that is not TypeScript a user compiles (a list of
 *   signatures). Use sparingly.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

const root = join(__dirname, '..', '..');

interface Snippet {
  /** README path relative to the repository root. */
  readonly readme: string;
  /** 1-based line of the first code line in the README. */
  readonly line: number;
  readonly code: string;
  /** The hidden `compile-context`, or '' */
  readonly context: string;
  /** The reason given by `not-compiled`, when the block is not compiled. */
  readonly notCompiled: string | undefined;
}

const FENCE = /^(\s*)```(ts|typescript)\s*$/;

/** The TypeScript blocks of one README, with the directives written right before each. */
function extractSnippets(readme: string, text: string): Snippet[] {
  const lines = text.split('\n');
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) {
      // Any other fence is skipped whole, so a ```ts inside a ```md block is not taken.
      if (/^\s*```/.test(lines[i]!)) while (++i < lines.length && !/^\s*```\s*$/.test(lines[i]!));
      continue;
    }
    const indent = open[1]!;
    let end = i + 1;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end]!)) end++;
    if (end === lines.length) throw new Error(`${readme}:${i + 1}: unclosed code fence`);
    const code = lines
      .slice(i + 1, end)
      .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l))
      .join('\n');
    // The comments directly above the fence (blank lines between them allowed, not other text).
    let context = '';
    let notCompiled: string | undefined;
    let k = i - 1;
    while (k >= 0 && lines[k]!.trim() === '') k--;
    while (k >= 0 && lines[k]!.trim().endsWith('-->')) {
      let start = k;
      while (start >= 0 && !lines[start]!.includes('<!--')) start--;
      if (start < 0) break;
      const comment = lines
        .slice(start, k + 1)
        .join('\n')
        .trim()
        .replace(/^<!--/, '')
        .replace(/-->$/, '');
      const directive = /^\s*(compile-context|not-compiled)\b:?/.exec(comment);
      if (directive?.[1] === 'compile-context') context = comment.slice(directive[0].length).trim();
      else if (directive?.[1] === 'not-compiled') notCompiled = comment.slice(directive[0].length).trim();
      k = start - 1;
      while (k >= 0 && lines[k]!.trim() === '') k--;
    }
    snippets.push({ readme, line: i + 2, code, context, notCompiled });
    i = end;
  }
  return snippets;
}

/** The root README, then each package's and app's README. */
function readmes(): string[] {
  const found = ['README.md'];
  for (const dir of ['packages', 'apps']) {
    for (const name of readdirSync(join(root, dir)).sort()) {
      if (existsSync(join(root, dir, name, 'README.md'))) found.push(`${dir}/${name}/README.md`);
    }
  }
  return found;
}

/** Compiler options: the repository's (strict, decorators…) minus the build's, plus test globals. */
function compilerOptions(): ts.CompilerOptions {
  const file = join(root, 'tsconfig.base.json');
  const { config, error } = ts.readConfigFile(file, (p) => ts.sys.readFile(p));
  if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
  const parsed = ts.convertCompilerOptionsFromJson(config.compilerOptions, root, file);
  if (parsed.errors.length > 0) throw new Error(ts.formatDiagnostics(parsed.errors, formatHost));
  return {
    ...parsed.options,
    noEmit: true,
    composite: false,
    declaration: false,
    declarationMap: false,
    sourceMap: false,
    incremental: false,
    noUnusedLocals: false,
    noUnusedParameters: false,
    // A snippet shows code as written in an app, which has node and (in test snippets) Jest globals.
    types: ['node', 'jest'],
  };
}

const formatHost: ts.FormatDiagnosticsHost = {
  getCanonicalFileName: (f) => f,
  getCurrentDirectory: () => root,
  getNewLine: () => '\n',
};

interface Compiled {
  readonly snippet: Snippet;
  readonly file: string;
  /** Lines of hidden context before the snippet's first line in the compiled file. */
  readonly offset: number;
}

/** Type-checks the snippets in one program; returns one message per error, located in its README. */
function checkSnippets(snippets: readonly Snippet[]): string[] {
  const compiled: Compiled[] = snippets.map((snippet, n) => {
    const name = snippet.readme.replace(/README\.md$/, '').replace(/[/\\]/g, '-') || 'root-';
    const file = join(root, 'test', 'docs', '.snippets', `${name}L${snippet.line}-${n}.mts`);
    return { snippet, file, offset: snippet.context === '' ? 0 : snippet.context.split('\n').length };
  });
  const sources = new Map(
    compiled.map((c) => [
      c.file,
      // `export {}` keeps a block without imports a module (top-level await, no global clashes).
      `${c.snippet.context === '' ? '' : `${c.snippet.context}\n`}${c.snippet.code}\nexport {};\n`,
    ]),
  );
  const options = compilerOptions();
  const host = ts.createCompilerHost(options, true);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, language, onError, shouldCreate) => {
    const text = sources.get(fileName);
    return text !== undefined
      ? ts.createSourceFile(fileName, text, language, true)
      : getSourceFile(fileName, language, onError, shouldCreate);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (fileName) => sources.has(fileName) || fileExists(fileName);
  const readFile = host.readFile.bind(host);
  host.readFile = (fileName) => sources.get(fileName) ?? readFile(fileName);

  const program = ts.createProgram({ rootNames: [...sources.keys()], options, host });
  const messages = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()].map(
    (d) => `compiler: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
  );
  for (const c of compiled) {
    const sourceFile = program.getSourceFile(c.file)!;
    for (const d of [...program.getSyntacticDiagnostics(sourceFile), ...program.getSemanticDiagnostics(sourceFile)]) {
      const { line } = sourceFile.getLineAndCharacterOfPosition(d.start ?? 0);
      const where =
        line < c.offset
          ? `${c.snippet.readme}:${c.snippet.line} (compile-context line ${line + 1})`
          : `${c.snippet.readme}:${c.snippet.line + line - c.offset}`;
      messages.push(`${where}: TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
    }
  }
  return messages;
}

describe('README TypeScript snippets', () => {
  const all = readmes().flatMap((readme) => extractSnippets(readme, readFileSync(join(root, readme), 'utf8')));

  it('finds the directives and fences it is meant to', () => {
    const text = [
      'Intro',
      '<!-- compile-context',
      "import { z } from 'zod';",
      '-->',
      '',
      '```ts',
      'z.string();',
      '```',
      '```md',
      '```ts',
      'not this one',
      '```',
      '<!-- not-compiled: a list of signatures -->',
      '```typescript',
      'emu.url; emu.port;',
      '```',
      'Text between.',
      '```ts',
      'plain();',
      '```',
    ].join('\n');
    expect(extractSnippets('X.md', text)).toEqual([
      { readme: 'X.md', line: 7, code: 'z.string();', context: "import { z } from 'zod';", notCompiled: undefined },
      { readme: 'X.md', line: 15, code: 'emu.url; emu.port;', context: '', notCompiled: 'a list of signatures' },
      { readme: 'X.md', line: 19, code: 'plain();', context: '', notCompiled: undefined },
    ]);
  });

  it('every README block compiles against the built packages', () => {
    for (const p of ['core', 'nestjs', 'express', 'database', 'emulator']) {
      if (!existsSync(join(root, 'packages', p, 'dist', 'index.d.ts')))
        throw new Error(`packages/${p}/dist is missing: run \`npm run build\` first (npm test does).`);
    }
    const compiled = all.filter((s) => s.notCompiled === undefined);
    // Sanity: the extraction found the READMEs' blocks (not zero because of a broken pattern).
    expect(compiled.length).toBeGreaterThan(30);
    for (const s of all)
      if (s.notCompiled !== undefined) expect(`${s.readme}:${s.line}: ${s.notCompiled}`).toMatch(/: \S+ \S+/);
    // A block that must fail, checked in the same program: an error is reported, at its README line.
    const probe: Snippet = {
      readme: 'PROBE.md',
      line: 10,
      code: "import { type NoSuchExport } from '@hush/core';\nconst n: number = 'one';",
      context: '',
      notCompiled: undefined,
    };
    const messages = checkSnippets([...compiled, probe]);
    expect(messages.filter((m) => m.startsWith('PROBE.md'))).toEqual([
      expect.stringMatching(/^PROBE\.md:10: TS2305 .*NoSuchExport/),
      expect.stringMatching(/^PROBE\.md:11: TS2322 /),
    ]);
    expect(messages.filter((m) => !m.startsWith('PROBE.md')).join('\n')).toBe('');
    process.stdout.write(
      `README snippets: ${compiled.length} compiled, ${all.length - compiled.length} marked not-compiled\n`,
    );
  }, 120_000);
});
