import { ExecutionContext, Injectable, UseGuards } from '@nestjs/common';
import { SubscribeMessage, WebSocketGateway, WsException } from '@nestjs/websockets';
import { parse as parseCookie } from 'cookie';
import { CurrentUser, NotificationsError, SessionSource, WsSessionGuard } from 'nestjs-inbox';
import type { Socket } from 'socket.io';
import { migrate, startApp, TestApp } from '../support/app';
import { ConnectOptions, TestClient } from '../support/client';
import { createDatabase } from '../support/database';

/** Users whose session is alive; the test ends one by removing it. */
const alive = new Set<string>();
const session: SessionSource = (handshake) => {
  const uid = parseCookie(handshake.headers.cookie ?? '').uid;
  return uid && alive.has(uid) ? { userId: uid } : null;
};

/** A host's subclass: only admins, and its own refusal shape. */
@Injectable()
class AdminGuard extends WsSessionGuard {
  protected override async resolveUser(socket: Socket, context: ExecutionContext): Promise<string> {
    const userId = await super.resolveUser(socket, context);
    if (userId !== 'admin') throw new NotificationsError('FORBIDDEN', 'admins only');
    return userId;
  }

  protected override onUnauthorized(context: ExecutionContext, error: NotificationsError): never {
    throw new WsException({ code: error.code, message: error.message, event: context.switchToWs().getPattern() });
  }
}

/** The host's own gateway, in its own namespace. */
@WebSocketGateway({ namespace: '/chat' })
class ChatGateway {
  @UseGuards(WsSessionGuard)
  @SubscribeMessage('whoami')
  whoami(@CurrentUser() userId: string) {
    return { userId };
  }

  @UseGuards(AdminGuard)
  @SubscribeMessage('admin:purge')
  purge(@CurrentUser() userId: string) {
    return { purgedBy: userId };
  }
}

describe("WsSessionGuard and @CurrentUser in the host's own gateway", () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;
  const clients: TestClient[] = [];
  const chat = async (user: string | null, opts: ConnectOptions = {}) => {
    const c = TestClient.open(t.url, user, { namespace: '/chat', ...opts });
    clients.push(c);
    await new Promise<void>((resolve) => c.socket.once('connect', () => resolve()));
    return c;
  };
  /** Emits and resolves with the guard's `exception` event (the handler never answers). */
  const refused = async (c: TestClient, event: string) => {
    const from = c.mark();
    c.socket.emit(event, {}, () => undefined);
    return c.waitFor('exception' as any, undefined, { from });
  };

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    alive.add('ursula').add('admin').add('leaving');
    t = await startApp(db.url, { session, sessionRecheckMs: 200 }, {}, { providers: [ChatGateway] });
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it("lets a message through with the session's user, read by @CurrentUser()", async () => {
    const c = await chat('ursula');
    expect(await c.request('whoami', {})).toEqual({ userId: 'ursula' });
  });

  it('refuses a socket without a session, or from a foreign Origin, with UNAUTHORIZED / FORBIDDEN', async () => {
    expect(await refused(await chat(null), 'whoami')).toEqual({
      code: 'UNAUTHORIZED',
      message: 'unauthorized: no valid session',
    });
    expect(await refused(await chat('ursula', { origin: 'https://evil.example' }), 'whoami')).toEqual({
      code: 'FORBIDDEN',
      message: 'origin not allowed: https://evil.example',
    });
  });

  it("runs a subclass's hooks: its own check and its own refusal", async () => {
    expect(await (await chat('admin')).request('admin:purge', {})).toEqual({ purgedBy: 'admin' });
    expect(await refused(await chat('ursula'), 'admin:purge')).toEqual({
      code: 'FORBIDDEN',
      message: 'admins only',
      event: 'admin:purge',
    });
  });

  it('checks the session again after sessionRecheckMs: an ended session is refused', async () => {
    const c = await chat('leaving');
    expect(await c.request('whoami', {})).toEqual({ userId: 'leaving' });
    alive.delete('leaving');
    const from = c.mark();
    const ended = c.waitFor('exception' as any, undefined, { from, timeoutMs: 3000 });
    // Ask until the guard's cached answer is older than the re-check period.
    let done = false;
    void ended.finally(() => (done = true));
    while (!done) {
      c.socket.emit('whoami', {}, () => undefined);
      await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 50))]);
    }
    expect(await ended).toEqual({ code: 'UNAUTHORIZED', message: 'unauthorized: no valid session' });
  });
});
