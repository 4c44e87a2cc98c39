import { readFileSync } from 'node:fs';
import { NotificationsConfigError } from '../notifications.errors';
import { checkPeerVersions, installedVersion, parseVersion } from './peer-versions';

const installed = (versions: Record<string, string>) => (pkg: string) => versions[pkg] ?? null;
const nest = (major: number) =>
  Object.fromEntries(
    ['@nestjs/common', '@nestjs/core', '@nestjs/websockets', '@nestjs/platform-socket.io', '@nestjs/typeorm'].map((p) => [
      p,
      `${major}.1.0`,
    ]),
  );

describe('checkPeerVersions', () => {
  it.each([
    ['Nest 12 + TypeORM 1', { ...nest(12), typeorm: '1.1.1' }],
    ['Nest 11 + TypeORM 0.3', { ...nest(11), typeorm: '0.3.20' }],
    ['Nest 12 + TypeORM 0.3', { ...nest(12), typeorm: '0.3.28' }],
    ['a TypeORM 1 prerelease', { ...nest(12), typeorm: '1.0.0-dev.2' }],
  ])('accepts %s', (_name, versions) => {
    expect(() => checkPeerVersions(installed(versions))).not.toThrow();
  });

  it.each([
    ['a future Nest major', { ...nest(12), '@nestjs/core': '13.0.0', typeorm: '1.1.1' }, '@nestjs/core@13.0.0 (supported: ^11 || ^12)'],
    ['an old Nest major', { ...nest(10), typeorm: '0.3.20' }, '@nestjs/common@10.1.0 (supported: ^11 || ^12)'],
    ['a TypeORM 0.3 older than 0.3.20', { ...nest(11), typeorm: '0.3.17' }, 'typeorm@0.3.17 (supported: ^0.3.20 || ^1)'],
    ['a future TypeORM major', { ...nest(12), typeorm: '2.0.0' }, 'typeorm@2.0.0'],
    ['an unreadable version', { ...nest(12), typeorm: 'next' }, 'typeorm@next'],
  ])('refuses %s at boot, naming the package and version', (_name, versions, named) => {
    const run = () => checkPeerVersions(installed(versions));
    expect(run).toThrow(NotificationsConfigError);
    expect(run).toThrow(named);
  });

  it('names every unsupported package at once', () => {
    expect(() => checkPeerVersions(installed({ ...nest(13), typeorm: '1.0.0' }))).toThrow(
      /unsupported versions: @nestjs\/common@13\.1\.0 .*@nestjs\/typeorm@13\.1\.0/,
    );
  });

  it('leaves a package that is not installed to Node’s own error', () => {
    expect(() => checkPeerVersions(installed({ typeorm: '1.1.1' }))).not.toThrow();
  });

  it('passes on the versions this workspace installs', () => {
    expect(() => checkPeerVersions()).not.toThrow();
  });
});

describe('installedVersion', () => {
  it('reads the version of an ESM-only package that exports no package.json (Nest 12)', () => {
    const manifest = JSON.parse(readFileSync(require.resolve('@nestjs/websockets').replace(/index\.js$/, 'package.json'), 'utf8'));
    expect(installedVersion('@nestjs/websockets')).toBe(manifest.version);
  });

  it('reads a CommonJS package (typeorm) and says null for one that is not installed', () => {
    expect(parseVersion(installedVersion('typeorm') ?? '')).not.toBeNull();
    expect(installedVersion('@nestjs/not-a-package')).toBeNull();
  });
});

describe('parseVersion', () => {
  it('takes major, minor and patch, ignoring a prerelease tag', () => {
    expect(parseVersion('12.5.1')).toEqual([12, 5, 1]);
    expect(parseVersion('1.0.0-dev.20250101')).toEqual([1, 0, 0]);
    expect(parseVersion('latest')).toBeNull();
  });
});
