import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../support/processes';

const run = promisify(execFile);

/** The newest server binaries Debian installed (/usr/lib/postgresql/<major>/bin). */
function binDir(): string {
  const root = '/usr/lib/postgresql';
  const majors = readdirSync(root)
    .filter((d) => /^\d+$/.test(d))
    .sort((a, b) => Number(b) - Number(a));
  if (!majors.length) throw new Error(`no PostgreSQL server binaries under ${root}`);
  return join(root, majors[0], 'bin');
}

/**
 * A PostgreSQL server of the test's own (initdb in a temporary folder, its own loopback port), so
 * that it can be restarted mid-stream without touching the machine's shared server. Postgres
 * refuses to run as root: as root, its commands run as the `postgres` user, who owns the folder.
 */
export class OwnedPostgres {
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async start(): Promise<OwnedPostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'inbox-faults-pg-'));
    const pg = new OwnedPostgres(dir, await freePort());
    if (process.getuid?.() === 0) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      const { stdout: gid } = await run('id', ['-g', 'postgres']);
      chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
    }
    await pg.as('initdb', ['-D', pg.data, '-U', 'postgres', '-A', 'trust', '--locale=C', '--encoding=UTF8', '--no-sync']);
    await pg.startServer();
    return pg;
  }

  private get data(): string {
    return join(this.dir, 'data');
  }

  /** `postgres://` URL of a database on this server. */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  private async as(command: string, args: string[]): Promise<string> {
    const bin = join(binDir(), command);
    const [file, argv] = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
    try {
      const { stdout, stderr } = await run(file, argv, { cwd: this.dir, timeout: 60_000 });
      return stdout + stderr;
    } catch (err) {
      const e = err as Error & { stdout?: string; stderr?: string };
      throw new Error(`${command} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: err });
    }
  }

  /** Starts the server and waits until it accepts connections. */
  async startServer(): Promise<void> {
    const options = [
      `-p ${this.port}`,
      '-c listen_addresses=127.0.0.1',
      `-c unix_socket_directories=${this.dir}`,
      '-c max_connections=300',
      // Durability is not what this server is for; a fast shutdown still writes everything.
      '-c fsync=off',
      '-c full_page_writes=off',
    ].join(' ');
    await this.as('pg_ctl', ['-D', this.data, '-l', join(this.dir, 'log'), '-o', options, '-w', '-t', '60', 'start']);
  }

  /**
   * Stops the server. `fast` is what a restart by an operator or a service manager does: open
   * transactions are rolled back and every connection is closed.
   */
  async stopServer(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.as('pg_ctl', ['-D', this.data, '-m', mode, '-w', '-t', '60', 'stop']);
  }

  async destroy(): Promise<void> {
    await this.stopServer('immediate').catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
