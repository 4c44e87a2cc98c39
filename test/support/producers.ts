import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** The foreign producers of test/producers, run as the real programs they are. */
export const PRODUCERS_DIR = join(__dirname, '..', 'producers');

/**
 * Debian's Python, which has python3-pika: the `python3` first on the PATH may be another
 * installation (pyenv, a virtualenv) without it.
 */
export const PYTHON = process.env.INBOX_TEST_PYTHON ?? '/usr/bin/python3';
export const PHP = process.env.INBOX_TEST_PHP ?? 'php';

/** Runs a program with `stdin`, resolving with its stdout; rejects with its stderr if it fails. */
export function run(command: string, args: string[], stdin = '', timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs });
    let [out, err] = ['', ''];
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      code === 0 ? resolve(out) : reject(new Error(`${command} ${args.join(' ')} exited with ${code ?? signal}: ${err || out}`)),
    );
    child.stdin.end(stdin);
  });
}
