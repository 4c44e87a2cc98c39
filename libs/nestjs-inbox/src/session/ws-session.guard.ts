import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import type { Socket } from 'socket.io';
import { InjectNotificationsOptions } from '../notifications.decorators';
import { NotificationsError } from '../notifications.errors';
import { NotificationsConfigError } from '../notifications.errors';
import type { Handshake, ResolvedNotificationsOptions } from '../notifications.options';
import { originRule, type OriginCheck } from '../security/origin-rule';
import { checkSession } from './check-session';

/**
 * Guards the message handlers of the host's own gateways with the module's session source and
 * Origin rule (`allowedOrigins`, `requireOrigin`; Nest guards do not run on connection, so this checks at the first message).
 * The user is kept on `socket.data.userId`, for `@CurrentUser()`, and checked again after
 * `sessionRecheckMs`. Subclass it and override the protected hooks to change a step, as with
 * `@nestjs/throttler`'s `ThrottlerGuard`.
 *
 * ```ts
 * @UseGuards(WsSessionGuard)
 * @SubscribeMessage('chat:send')
 * send(@CurrentUser() userId: string, @MessageBody() body: unknown) { … }
 * ```
 */
@Injectable()
export class WsSessionGuard implements CanActivate {
  private readonly checked = new WeakMap<Socket, { userId: string; at: number }>();
  /** The gateway's Origin rule, so a page passes the host's gateways exactly when it passes the library's. */
  private readonly checkOrigin: OriginCheck;

  constructor(@InjectNotificationsOptions() protected readonly options: ResolvedNotificationsOptions) {
    this.checkOrigin = originRule(options);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'ws') {
      throw new NotificationsConfigError('WsSessionGuard guards WebSocket message handlers only');
    }
    const socket = context.switchToWs().getClient<Socket>();
    let userId: string;
    try {
      userId = await this.resolveUser(socket, context);
    } catch (err) {
      if (err instanceof NotificationsError) return this.onUnauthorized(context, err);
      throw err;
    }
    socket.data.userId = userId;
    return true;
  }

  /** The handshake the session is read from. */
  protected getHandshake(socket: Socket): Handshake {
    return socket.handshake;
  }

  /**
   * The socket's user, from the Origin and the session source (cached per socket for
   * `sessionRecheckMs`). Throws a `NotificationsError` to refuse.
   */
  protected async resolveUser(socket: Socket, _context: ExecutionContext): Promise<string> {
    const { session, sessionRecheckMs, sessionTimeoutMs } = this.options;
    if (!session) {
      throw new NotificationsConfigError('WsSessionGuard needs the module option `session`');
    }
    const handshake = this.getHandshake(socket);
    const refused = this.checkOrigin(handshake);
    if (refused !== null) throw new NotificationsError('FORBIDDEN', refused);
    const known = this.checked.get(socket);
    if (known && Date.now() - known.at < sessionRecheckMs) return known.userId;
    const userId = await checkSession(session, handshake, sessionTimeoutMs);
    this.checked.set(socket, { userId, at: Date.now() });
    return userId;
  }

  /** Refuses the message: Nest's WS exception filter sends `exception` with `{ code, message }`. */
  protected onUnauthorized(_context: ExecutionContext, error: NotificationsError): never {
    throw new WsException(error.toAck().error);
  }
}
