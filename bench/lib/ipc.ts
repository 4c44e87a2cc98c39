import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/**
 * Request/response over a forked process's IPC channel: the orchestrator drives servers and
 * client workers with `call`, each child answers with `serve`.
 */
type Handlers = Record<string, (args: any) => unknown>;

interface Request {
  id: number;
  cmd: string;
  args: unknown;
}
interface Response {
  id: number;
  result?: unknown;
  error?: string;
}

/** Child side: answers the parent's calls until it is told to exit. */
export function serve(handlers: Handlers): void {
  process.on('message', async (msg: Request) => {
    let reply: Response;
    try {
      reply = { id: msg.id, result: await handlers[msg.cmd](msg.args) };
    } catch (err) {
      reply = { id: msg.id, error: (err as Error).stack ?? String(err) };
    }
    process.send!(reply);
    if (msg.cmd === 'exit') setImmediate(() => process.exit(0));
  });
  process.on('disconnect', () => process.exit(0));
}

/** Parent side: a child process running one of the bench's TypeScript entry points. */
export class Child {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    private readonly proc: ChildProcess,
  ) {
    proc.on('message', (msg: Response) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error !== undefined) p.reject(new Error(`${name}: ${msg.error}`));
      else p.resolve(msg.result);
    });
    this.exited = new Promise((resolve) =>
      proc.on('exit', (code) => {
        for (const p of this.pending.values()) p.reject(new Error(`${name} exited (${code})`));
        this.pending.clear();
        resolve();
      }),
    );
  }

  get pid(): number {
    return this.proc.pid!;
  }

  call<T = any>(cmd: string, args: unknown = {}, timeoutMs = 120_000): Promise<T> {
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: '${cmd}' timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.proc.send({ id, cmd, args });
    });
  }

  /** Asks the child to exit, and kills it if it does not within 5 s. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.call('exit', {}, 5000).catch(() => this.proc.kill('SIGKILL'));
    await this.exited;
    clearTimeout(timer);
  }
}

const ROOT = join(__dirname, '..', '..');

export interface SpawnOptions {
  /** Open-file limit of this child only (scenario 8: one descriptor per connection), set with `prlimit`. */
  files?: number;
  /** More Node flags for this child (e.g. `--max-old-space-size`). */
  nodeArgs?: string[];
}

/**
 * Forks `bench/<entry>.ts` under ts-node (transpile only: start-up matters more than type
 * checks here, `tsc` covers those) with `--expose-gc` so memory can be read after a full GC.
 */
export function spawnChild(name: string, entry: string, env: Record<string, string> = {}, opts: SpawnOptions = {}): Child {
  const node = [
    '--expose-gc',
    ...(opts.nodeArgs ?? []),
    '-r',
    'ts-node/register/transpile-only',
    '-r',
    'tsconfig-paths/register',
    // BENCH_NODE_ARGS adds flags to the servers only, e.g. '--cpu-prof --cpu-prof-dir=prof'.
    ...(entry.startsWith('servers/') ? (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean) : []),
    join(ROOT, 'bench', `${entry}.ts`),
  ];
  // `prlimit` execs Node with its own open-file limit (soft and hard), so only this child gets it.
  const [command, args]: [string, string[]] = opts.files
    ? ['prlimit', [`--nofile=${opts.files}:${opts.files}`, '--', process.execPath, ...node]]
    : [process.execPath, node];
  const proc = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, TS_NODE_PROJECT: join(ROOT, 'tsconfig.json'), ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Child(name, proc);
}
