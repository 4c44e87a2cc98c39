import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

/**
 * Every TypeScript sample in the README and the guides compiles against the library as it is:
 * a renamed option or method breaks this test, not a reader's first try. Each ```ts block is
 * its own module (a sample declares what it takes from the page around it), type-checked with
 * the workspace's compiler options, `nestjs-inbox` resolved to the library's source. A block
 * whose first line is a file name (`// app.module.ts`) is that file of its page's app, so the
 * page's blocks can import each other (`./session`).
 *
 * The getting-started guide's blocks are files of one app: test/deploy/getting-started.e2e-spec.ts
 * builds and runs that app; here they are checked like the rest.
 */
const ROOT = join(__dirname, '..', '..');
const DOCS = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

interface Sample {
  doc: string;
  /** Line of the opening fence in the document, 1-based. */
  line: number;
  code: string;
}

function samplesOf(doc: string): Sample[] {
  const lines = readFileSync(join(ROOT, doc), 'utf8').split('\n');
  const samples: Sample[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```ts\b/.test(lines[i])) continue;
    const start = i;
    const code: string[] = [];
    while (++i < lines.length && !lines[i].startsWith('```')) code.push(lines[i]);
    samples.push({ doc, line: start + 1, code: code.join('\n') });
  }
  return samples;
}

describe('code samples in the docs', () => {
  const samples = DOCS.flatMap(samplesOf);
  let dir: string;
  afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('the README and the guides have TypeScript samples to check', () => {
    expect(samples.length).toBeGreaterThan(10);
  });

  it('every ```ts sample type-checks against the library', () => {
    // Inside the workspace (git-ignored), so that the samples' imports resolve from its node_modules.
    dir = join(ROOT, 'test', 'artifacts', 'doc-samples');
    rmSync(dir, { recursive: true, force: true });
    const files = new Map<string, Sample>();
    samples.forEach((sample, n) => {
      const named = /^\/\/ ((?:[\w.-]+\/)*[\w.-]+\.ts)\b/.exec(sample.code)?.[1];
      const file = join(dir, sample.doc.replace(/\.md$/, ''), named ?? `sample-${n}.ts`);
      mkdirSync(dirname(file), { recursive: true });
      // `export {}` makes each sample a module, so two samples' names never collide.
      writeFileSync(file, `${sample.code}\nexport {};\n`);
      files.set(file, sample);
    });
    const config = ts.getParsedCommandLineOfConfigFile(
      join(ROOT, 'tsconfig.json'),
      {},
      { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined },
    )!;
    const options: ts.CompilerOptions = {
      ...config.options,
      baseUrl: ROOT,
      noEmit: true,
      declaration: false,
      types: ['node'],
      // As a bundler or a Nest app's tsc resolves them; ES2022 allows a snippet's top-level await.
      module: ts.ModuleKind.ES2022,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      // Samples show a step, not a finished program: an import a later step uses is fine.
      noUnusedLocals: false,
    };
    const program = ts.createProgram([...files.keys()], options);
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file && files.has(d.file.fileName))
      .map((d) => {
        const sample = files.get(d.file!.fileName)!;
        const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
        return `${sample.doc}:${sample.line + 1 + line}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
    expect(problems, `samples that do not compile (${relative(ROOT, dir)}):\n${problems.join('\n')}`).toEqual([]);
  }, 120_000);
});
