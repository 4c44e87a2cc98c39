import { type ChildProcess, spawn } from 'node:child_process';
import { createConnection, createServer } from 'node:net';

/** A free loopback port (the OS picks one; it is released before the caller binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts connections on `port`, polling until `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' });
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Polls `check` until it holds or `timeoutMs` passes (for states with no event to wait for). */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 8000): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A child process the test owns: started, stopped and waited for. */
export class Child {
  private proc?: ChildProcess;
  private output = '';

  constructor(
    private readonly command: string,
    private readonly args: string[],
  ) {}

  start(): void {
    const proc = spawn(this.command, this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d) => (this.output += d));
    proc.stderr!.on('data', (d) => (this.output += d));
    this.proc = proc;
  }

  get log(): string {
    return this.output;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill(signal);
    await exited;
  }
}

/** A `redis-server` of the test's own on a loopback port, so it can be stopped and restarted. */
export class RedisServer {
  private readonly child: Child;

  private constructor(readonly port: number) {
    this.child = new Child('redis-server', [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
    ]);
  }

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort());
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async restart(): Promise<void> {
    this.child.start();
    await waitForPort(this.port).catch((err) => {
      throw new Error(`${(err as Error).message}; redis-server said: ${this.child.log.slice(-500)}`);
    });
  }

  /** Kills it the hard way, as a crash would. */
  stop(): Promise<void> {
    return this.child.stop('SIGKILL');
  }
}
