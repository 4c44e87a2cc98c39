import { build, type BuildOptions, type Plugin } from 'esbuild';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';

const library = join(__dirname, '..');
const src = join(library, 'src');
const common: BuildOptions = {
  entryPoints: [join(src, 'client', 'index.ts')],
  bundle: true,
  platform: 'browser',
  target: 'es2020',
  minify: true,
  write: false,
};

/** For a plain `<script>` tag: socket.io-client included, exposed as the global `NestjsInbox`. */
const scriptTag: BuildOptions = { ...common, format: 'iife', globalName: 'NestjsInbox' };
/** For bundlers: socket.io-client stays a dependency the app resolves. */
const esModule: BuildOptions = { ...common, format: 'esm', external: ['socket.io-client'] };

/**
 * The elements' `<script>` bundle: defines the elements and includes the client and
 * socket.io-client; the global `NestjsInboxElements` also holds `createInbox` and
 * `registerInboxMessages`.
 */
const elementsScriptTag: BuildOptions = {
  ...common,
  entryPoints: undefined,
  stdin: {
    contents: `export * from './elements/index';\nexport { createInbox, InboxClient } from './client/index';`,
    resolveDir: src,
    loader: 'ts',
  },
  format: 'iife',
  globalName: 'NestjsInboxElements',
};

/** The elements' module imports the package's own client module, so an app that uses both holds one copy. */
const clientAsPackage: Plugin = {
  name: 'client-as-package',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/client\// }, () => ({ path: 'nestjs-inbox/client', external: true }));
  },
};
const elementsModule: BuildOptions = {
  ...common,
  entryPoints: [join(src, 'elements', 'index.ts')],
  format: 'esm',
  external: ['socket.io-client'],
  plugins: [clientAsPackage],
};

async function text(options: BuildOptions): Promise<string> {
  const { outputFiles } = await build(options);
  return outputFiles![0].text;
}

/** The `<script>` bundle as a string; the demo builds it in memory at start. */
export function scriptTagBundle(): Promise<string> {
  return text(scriptTag);
}

/** The elements' `<script>` bundle as a string (tests and the demo build it in memory). */
export function elementsScriptTagBundle(): Promise<string> {
  return text(elementsScriptTag);
}

/** `npm run build:client`: writes the bundles into the built package's `client/` and `elements/` folders. */
async function main(): Promise<void> {
  const dist = join(library, '..', '..', 'dist', 'libs', 'nestjs-inbox');
  for (const [file, options] of [
    ['client/inbox.js', scriptTag],
    ['client/index.mjs', esModule],
    ['elements/inbox-elements.js', elementsScriptTag],
    ['elements/index.mjs', elementsModule],
  ] as const) {
    const code = await text(options);
    const out = join(dist, file);
    mkdirSync(join(out, '..'), { recursive: true });
    writeFileSync(out, code);
    const kb = (n: number) => `${(n / 1024).toFixed(1)} kB`;
    console.log(`${relative(process.cwd(), out)}: ${kb(code.length)} (${kb(gzipSync(code).length)} gzipped)`);
  }
  // The Web Push service worker ships as written: plain script, no imports.
  copyFileSync(join(library, 'src', 'client', 'inbox-sw.js'), join(dist, 'client', 'inbox-sw.js'));
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
