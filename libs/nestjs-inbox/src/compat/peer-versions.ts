import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { NotificationsConfigError } from '../notifications.errors';

/**
 * The framework majors this release is built and tested against (the `peerDependencies` of
 * its package.json say the same). A host that forced another one in (`--force`,
 * `--legacy-peer-deps`, an override) is stopped at boot with the package and version named,
 * rather than meeting a changed internal in the middle of a request.
 */
export const SUPPORTED_PEERS: Readonly<Record<string, { range: string; accepts: (v: Version) => boolean }>> = {
  '@nestjs/common': { range: '^11 || ^12', accepts: ([major]) => major === 11 || major === 12 },
  '@nestjs/core': { range: '^11 || ^12', accepts: ([major]) => major === 11 || major === 12 },
  '@nestjs/websockets': { range: '^11 || ^12', accepts: ([major]) => major === 11 || major === 12 },
  '@nestjs/platform-socket.io': { range: '^11 || ^12', accepts: ([major]) => major === 11 || major === 12 },
  '@nestjs/typeorm': { range: '^11 || ^12', accepts: ([major]) => major === 11 || major === 12 },
  typeorm: {
    range: '^0.3.20 || ^1',
    accepts: ([major, minor, patch]) => major === 1 || (major === 0 && minor === 3 && patch >= 20),
  },
};

/** `[major, minor, patch]`; a prerelease tag is ignored (`1.0.0-dev` is 1.0.0). */
export type Version = [number, number, number];

export function parseVersion(text: string): Version | null {
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(text);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : null;
}

/** Reads the installed version of a package, as seen from this library; `null` if absent. */
export type VersionReader = (pkg: string) => string | null;

/**
 * Finds the package's own package.json from its resolved entry point: Nest 12's packages export
 * neither `./package.json` nor a CommonJS entry, so `require('<pkg>/package.json')` fails there.
 */
export const installedVersion: VersionReader = (pkg) => {
  let entry: string;
  try {
    entry = createRequire(__filename).resolve(pkg);
  } catch {
    return null;
  }
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (manifest.name === pkg) return manifest.version ?? null;
    } catch {
      // no package.json at this level: keep walking up
    }
  }
  return null;
};

/** Throws a `NotificationsConfigError` naming every installed peer outside its supported range. */
export function checkPeerVersions(read: VersionReader = installedVersion): void {
  const problems: string[] = [];
  for (const [pkg, { range, accepts }] of Object.entries(SUPPORTED_PEERS)) {
    const text = read(pkg);
    if (text === null) continue; // not installed: its import fails with Node's own clear error
    const version = parseVersion(text);
    if (!version || !accepts(version)) problems.push(`${pkg}@${text} (supported: ${range})`);
  }
  if (problems.length) {
    throw new NotificationsConfigError(
      `unsupported ${problems.length === 1 ? 'version' : 'versions'}: ${problems.join(', ')}. ` +
        'Install a supported major, or a release of nestjs-inbox that supports this one.',
    );
  }
}
