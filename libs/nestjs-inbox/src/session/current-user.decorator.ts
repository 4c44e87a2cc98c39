import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Socket } from 'socket.io';

/**
 * The user id of the socket sending a message: set by the notifications handshake in its own
 * namespace, and by `WsSessionGuard` in the host's gateways (apply the guard first).
 */
export const CurrentUser = createParamDecorator((_data: unknown, context: ExecutionContext): string | undefined => {
  return context.switchToWs().getClient<Socket>().data?.userId;
});
