import { build, type BuildOptions } from 'esbuild';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';

const library = join(__dirname, '..');
const common: BuildOptions = {
  entryPoints: [join(library, 'src', 'client', 'index.ts')],
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

async function text(options: BuildOptions): Promise<string> {
  const { outputFiles } = await build(options);
  return outputFiles![0].text;
}

/** The `<script>` bundle as a string; the demo builds it in memory at start. */
export function scriptTagBundle(): Promise<string> {
  return text(scriptTag);
}

/** `npm run build:client`: writes both bundles into the built package's `client/` folder. */
async function main(): Promise<void> {
  const out = join(library, '..', '..', 'dist', 'libs', 'nestjs-inbox', 'client');
  mkdirSync(out, { recursive: true });
  for (const [file, options] of [
    ['inbox.js', scriptTag],
    ['index.mjs', esModule],
  ] as const) {
    const code = await text(options);
    writeFileSync(join(out, file), code);
    const kb = (n: number) => `${(n / 1024).toFixed(1)} kB`;
    console.log(`${relative(process.cwd(), join(out, file))}: ${kb(code.length)} (${kb(gzipSync(code).length)} gzipped)`);
  }
  // The Web Push service worker ships as written: plain script, no imports.
  copyFileSync(join(library, 'src', 'client', 'inbox-sw.js'), join(out, 'inbox-sw.js'));
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
