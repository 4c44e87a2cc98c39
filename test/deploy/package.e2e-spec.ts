import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

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
    ]) {
      expect(lib[name]).toBeDefined();
    }
    expect(lib.NOTIFICATIONS_MIGRATIONS).toHaveLength(8);
    expect(existsSync(join(out, 'service', 'notification.service.d.ts'))).toBe(true);
  });
});
