import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/**
 * Request/response (and pushed events) over a spawned process's IPC channel: the test drives
 * the gateway instances, the worker and the socket load with `call`; each child answers with
 * `serve` and may `push` events (the worker's call outcomes) without being asked.
 */
type Handlers = Record<string, (args: any) => unknown>;

interface Request {
  id: number;
  cmd: string;
  args: unknown;
}
type Message = { id: number; result?: unknown; error?: string } | { event: string; payload: unknown };

/** Child side: answers the parent's calls until it is told to exit or the parent goes away. */
export function serve(handlers: Handlers): void {
  process.on('message', async (msg: Request) => {
    let reply: Message;
    try {
      const handler = handlers[msg.cmd];
      if (!handler) throw new Error(`unknown command '${msg.cmd}'`);
      reply = { id: msg.id, result: (await handler(msg.args)) ?? null };
    } catch (err) {
      reply = { id: msg.id, error: (err as Error).stack ?? String(err) };
    }
    if (process.connected) process.send!(reply);
    if (msg.cmd === 'exit') setImmediate(() => process.exit(0));
  });
  process.on('disconnect', () => process.exit(0));
}

/** Child side: an event the parent did not ask for. */
export function push(event: string, payload: unknown): void {
  if (process.connected) process.send!({ event, payload });
}

const ROOT = join(__dirname, '..', '..');

/** Parent side: one of `test/faults/processes/*.ts` in a process of its own. */
export class Child {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Map<string, ((payload: any) => void)[]>();
  private output = '';
  private stopping = false;
  /** Set when the process died without being told to (an uncaught error): its last output. */
  crash: string | null = null;
  readonly exited: Promise<number | string | null>;
  private readonly proc: ChildProcess;

  constructor(
    readonly name: string,
    entry: string,
    env: Record<string, string>,
    nodeArgs: string[] = [],
  ) {
    this.proc = spawn(
      process.execPath,
      [
        '--expose-gc',
        ...nodeArgs,
        '-r',
        'ts-node/register/transpile-only',
        '-r',
        'tsconfig-paths/register',
        join(__dirname, 'processes', `${entry}.ts`),
      ],
      {
        cwd: ROOT,
        env: { ...process.env, TS_NODE_PROJECT: join(ROOT, 'tsconfig.json'), ...env },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      },
    );
    const keep = (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-20_000);
      if (process.env.FAULTS_VERBOSE) process.stderr.write(`[${name}] ${d}`);
    };
    this.proc.stdout!.on('data', keep);
    this.proc.stderr!.on('data', keep);
    this.proc.on('message', (msg: Message) => {
      if ('event' in msg) {
        for (const fn of this.listeners.get(msg.event) ?? []) fn(msg.payload);
        return;
      }
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error !== undefined) p.reject(new Error(`${name}: ${msg.error}`));
      else p.resolve(msg.result);
    });
    this.exited = new Promise((resolve) =>
      this.proc.on('exit', (code, signal) => {
        // A child that dies on its own is a finding: keep and show what it said.
        if (!this.stopping) {
          this.crash = `${name} exited by itself (${signal ?? code}): ${this.log.slice(-2500)}`;
          console.error(this.crash);
        }
        for (const p of this.pending.values()) p.reject(new Error(`${name} exited (${signal ?? code}); output: ${this.log.slice(-1500)}`));
        this.pending.clear();
        resolve(signal ?? code);
      }),
    );
  }

  get pid(): number {
    return this.proc.pid!;
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** The child's stdout and stderr (the last 20 kB). */
  get log(): string {
    return this.output;
  }

  on(event: string, fn: (payload: any) => void): void {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), fn]);
  }

  call<T = any>(cmd: string, args: unknown = {}, timeoutMs = 60_000): Promise<T> {
    if (!this.alive) return Promise.reject(new Error(`${this.name} is not running (asked '${cmd}')`));
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: '${cmd}' not answered within ${timeoutMs} ms; output: ${this.log.slice(-1500)}`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.proc.send({ id, cmd, args });
    });
  }

  /** The fault: no shutdown hooks, no goodbye to Redis or the sockets. */
  async kill(): Promise<void> {
    this.stopping = true;
    if (this.alive) this.proc.kill('SIGKILL');
    await this.exited;
  }

  /** Asks the child to close its app and exit; kills it if it has not within 10 s. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (!this.alive) return;
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await this.call('exit', {}, 10_000).catch(() => this.proc.kill('SIGKILL'));
    await this.exited;
    clearTimeout(timer);
  }
}
