import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The library as a new user gets it: packed into a tarball, installed with a plain `npm install`
 * into a fresh app directory, compiled by that app's own tsc and run with plain `node`
 * (test/compat.e2e-spec.ts, test/getting-started.e2e-spec.ts).
 */

const ROOT = join(__dirname, '..', '..');

export const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * The environment of a user's shell: without what `npm test` and Vitest add for their own
 * children (the workspace's package, lifecycle and prefix; NODE_OPTIONS, NODE_ENV), but with
 * the user's npm configuration (registry, cache) as it is.
 */
export function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (
      /^(npm_(package_|lifecycle_|command$|execpath$|node_execpath$|config_local_prefix$|config_call$)|INIT_CWD$|NODE_OPTIONS$|NODE_ENV$|VITEST|TEST$)/i.test(
        key,
      )
    )
      continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/** Commands still running, killed by a spec's last afterAll (after a hook timed out, say). */
const running = new Set<ChildProcess>();

export function killRunning(): void {
  running.forEach((proc) => proc.kill('SIGKILL'));
}

export interface Run {
  code: number | null;
  output: string;
  ms: number;
}

/** Runs a command to its end (or kills it at `timeoutMs`), with its output interleaved. */
export function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<Run> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const proc = spawn(command, args, { cwd, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(proc);
    let output = '';
    proc.stdout.on('data', (d) => (output += d));
    proc.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    const done = () => (clearTimeout(timer), running.delete(proc));
    proc.once('error', (err) => (done(), reject(err)));
    proc.once('close', (code) => (done(), resolve({ code, output, ms: Date.now() - start })));
  });
}

export async function mustRun(what: string, command: string, args: string[], cwd: string, timeoutMs: number): Promise<Run> {
  const result = await run(command, args, cwd, timeoutMs);
  if (result.code !== 0) {
    throw new Error(
      `${what} failed (exit ${result.code ?? `killed after ${secs(timeoutMs)}`}, ${secs(result.ms)}) in ${cwd}:\n` +
        `$ ${command} ${args.join(' ')}\n${result.output.slice(-4000)}`,
    );
  }
  return result;
}

/** The library's version, as its package.json (and so the tarball's name) says. */
export function libraryVersion(): string {
  return JSON.parse(readFileSync(join(ROOT, 'libs', 'nestjs-inbox', 'package.json'), 'utf8')).version;
}

/** `npm run pack:lib` in the workspace; the tarball is copied into `workRoot`, whose path it answers. */
export async function packLibrary(workRoot: string, timeoutMs: number): Promise<{ tarball: string; pack: Run }> {
  const pack = await mustRun('npm run pack:lib', 'npm', ['run', '--silent', 'pack:lib'], ROOT, timeoutMs);
  const version = libraryVersion();
  // Copied out at once, so a later pack in the workspace cannot change it under the installs.
  const tarball = join(workRoot, `nestjs-inbox-${version}.tgz`);
  copyFileSync(join(ROOT, 'dist', `nestjs-inbox-${version}.tgz`), tarball);
  return { tarball, pack };
}

/** `node dist/main.js` of an app, started until it prints its ready line. */
export class HostProcess {
  private output = '';

  private constructor(private readonly proc: ChildProcess) {
    proc.stdout!.on('data', (d) => (this.output += d));
    proc.stderr!.on('data', (d) => (this.output += d));
  }

  /**
   * Resolves with the URL the ready line's first group holds once it is printed; rejects with
   * its output if it exits or is not ready in time.
   */
  static async start(
    cwd: string,
    env: Record<string, string>,
    ready: RegExp,
    timeoutMs = 60_000,
  ): Promise<{ host: HostProcess; url: string }> {
    const proc = spawn(process.execPath, ['dist/main.js'], { cwd, env: userEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    const host = new HostProcess(proc);
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => fail(`printed no ready line within ${secs(timeoutMs)}`), timeoutMs);
        const onData = () => {
          const line = ready.exec(host.output);
          if (line) done(() => resolve(line[1]));
        };
        // 'close', not 'exit': by then its output is all there, for the message.
        const onClose = (code: number | null, signal: string | null) => fail(`exited (${code ?? signal}) before it was ready`);
        const fail = (why: string) => done(() => reject(new Error(`the host app in ${cwd} ${why}:\n${host.output.slice(-4000)}`)));
        const done = (then: () => void) => {
          clearTimeout(timer);
          proc.stdout!.off('data', onData);
          proc.off('close', onClose);
          then();
        };
        proc.stdout!.on('data', onData);
        proc.once('close', onClose);
      });
      return { host, url };
    } catch (err) {
      await host.stop();
      throw err;
    }
  }

  get log(): string {
    return this.output;
  }

  /** SIGTERM (the app closes through its shutdown hooks), SIGKILL if it is still there after 10 s. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
