import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** The library as users get it: built JavaScript and types, packed by npm. */
describe('the nestjs-inbox package', () => {
  const root = join(__dirname, '..', '..');
  const out = join(root, 'dist', 'libs', 'nestjs-inbox');

  beforeAll(() => {
    execFileSync('npm', ['run', '--silent', 'build:lib'], { cwd: root, stdio: 'pipe' });
  }, 120_000);

  it('packs JavaScript with .d.ts types, its framework packages as peers', () => {
    const files: string[] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', out], { cwd: root, encoding: 'utf8' }),
    )[0].files.map((f: { path: string }) => f.path);
    expect(files).toEqual(
      expect.arrayContaining([
        'index.js',
        'index.d.ts',
        'package.json',
        'README.md',
        'LICENSE',
        'CHANGELOG.md',
        'client/index.js',
        'client/index.d.ts',
        'client/index.mjs',
        'client/inbox.js',
        'elements/inbox-elements.js',
        'elements/index.mjs',
        'elements/index.d.ts',
        'elements/react.d.ts',
        'elements/vue.d.ts',
      ]),
    );
    expect(files.some((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toBe(false);
    expect(files.some((f) => f.includes('spec'))).toBe(false);
    const pkg = JSON.parse(readFileSync(join(out, 'package.json'), 'utf8'));
    expect(Object.keys(pkg.peerDependencies)).toEqual(
      expect.arrayContaining(['@nestjs/common', '@nestjs/core', '@nestjs/websockets', '@nestjs/typeorm', 'typeorm']),
    );
    expect(pkg.dependencies?.['@nestjs/core']).toBeUndefined();
    // RabbitMQ's client is needed only with the `amqp` option: a plain install must not ask for it.
    expect(pkg.peerDependenciesMeta).toMatchObject({ amqplib: { optional: true }, 'amqp-connection-manager': { optional: true } });
    // The OpenTelemetry API is a plain peer (npm installs it; a no-op without an SDK); terminus only for the health indicator's hosts, event-emitter only for the `eventEmitter` option.
    expect(pkg.peerDependencies['@opentelemetry/api']).toBeDefined();
    expect(pkg.peerDependenciesMeta['@opentelemetry/api']?.optional).toBeUndefined();
    expect(pkg.peerDependenciesMeta['@nestjs/terminus']).toEqual({ optional: true });
    expect(pkg.peerDependenciesMeta['@nestjs/event-emitter']).toEqual({ optional: true });
  });

  it('exports the public API from its entry point', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const lib = require(out);
    for (const name of [
      'NotificationsModule',
      'NotificationService',
      'NOTIFICATIONS_MIGRATIONS',
      'InvalidInputError',
      'NotificationsConfigError',
      'InjectNotificationsOptions',
      'NOTIFICATIONS_DEFAULTS',
      'ServerEvent',
      'ClientEvent',
      'NotificationsHealthIndicator',
    ]) {
      expect(lib[name]).toBeDefined();
    }
    expect(lib.NOTIFICATIONS_MIGRATIONS).toHaveLength(19);
    expect(existsSync(join(out, 'service', 'notification.service.d.ts'))).toBe(true);
  });

  it('ships the drop-in elements: a script-tag bundle of at most 40 kB gzipped, and a module that shares the client module', () => {
    const pkg = JSON.parse(readFileSync(join(out, 'package.json'), 'utf8'));
    for (const entry of ['./elements', './elements/inbox-elements.js', './elements/react', './elements/vue'])
      expect(pkg.exports[entry]).toBeDefined();
    const gzipped = (file: string) => gzipSync(readFileSync(join(out, file))).length;
    // Elements, client and socket.io-client together (the budget).
    expect(gzipped('elements/inbox-elements.js')).toBeLessThanOrEqual(40 * 1024);
    const module = readFileSync(join(out, 'elements', 'index.mjs'), 'utf8');
    expect(module).toMatch(/from\s*"nestjs-inbox\/client"/);
    expect(module).not.toMatch(/engine\.io/);
  });
});
