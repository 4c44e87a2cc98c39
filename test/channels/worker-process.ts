import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');

/** The channel worker (processes/channel-worker.ts) in a process of its own, ready when it says so. */
export async function spawnWorker(env: Record<string, string>): Promise<ChildProcess> {
  const proc = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', join(__dirname, 'processes', 'channel-worker.ts')],
    {
      cwd: ROOT,
      // SWC: a quicker start than ts-node's own transpiler (the machine may be busy).
      env: { ...process.env, TS_NODE_PROJECT: join(ROOT, 'tsconfig.json'), TS_NODE_SWC: 'true', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    proc.on('exit', (code) => reject(new Error(`the worker exited (${code})`)));
  });
  return proc;
}

/** Stops a worker (SIGTERM: its engine finishes what it holds) and waits for its exit. */
export async function stopWorker(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGTERM');
  await exited;
}
